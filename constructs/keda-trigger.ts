import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { TriggerAuthentication } from '../imports/keda.sh';
import { Env } from '../runtime/contract';
import { RedisConnection } from './redis-connection';
import { checkInteger, propError } from './validation';

/** A trigger as a ScaledJob or ScaledObject renders it. */
export interface KedaTriggerConfig {
  /** KEDA's trigger type, e.g. `redis`. */
  readonly type: string;
  /**
   * The trigger's name in the scaler.
   * @default - KEDA names it by position
   */
  readonly name?: string;
  /** The trigger's metadata, as KEDA's scaler of that type reads it. */
  readonly metadata: Record<string, string>;
  /**
   * The TriggerAuthentication the trigger's `authenticationRef` names.
   * @default - no authentication
   */
  readonly authentication?: TriggerAuthentication;
  /** Env variables KEDA reads from the target's container (`...FromEnv` keys); the target must define them. */
  readonly envFromTarget?: string[];
  /**
   * `AverageValue` (target per replica), `Value` or `Utilization`; ScaledObjects only.
   * @default - KEDA's default, AverageValue (Utilization for cpu / memory)
   */
  readonly metricType?: string;
}

/**
 * The first `...FromEnv` variable a trigger wants that `defined` lacks: KEDA resolves those keys
 * from the target's (or job template's) container env.
 * @internal
 */
export function missingEnvFromTarget(triggers: KedaTriggerConfig[], defined: Set<string>): { name: string; type: string } | undefined {
  for (const t of triggers) {
    const wanted = [...(t.envFromTarget ?? []), ...Object.entries(t.metadata).filter(([k]) => k.endsWith('FromEnv')).map(([, v]) => v)];
    const name = wanted.find((n) => !defined.has(n));
    if (name) return { name, type: t.type };
  }
  return undefined;
}

/** Anything that can scale a KEDA workload. */
export interface IKedaTrigger {
  /** Renders the trigger within `scope` (where shared objects such as TriggerAuthentications go). */
  bind(scope: Construct): KedaTriggerConfig;
}

/** A Redis list whose events are leased by consumers: in flight and expired leases live beside it. */
export interface LeasedList {
  /** The Redis server holding the list. */
  readonly connection: RedisConnection;
  /** The list producers push to; its leases and retries live in keys beside it. */
  readonly listName: string;
}

/** The env of a program working on a leased list: the connection plus `LIST_NAME`. */
export function leasedListEnv(list: LeasedList): Record<string, kplus.EnvValue> {
  return { ...list.connection.envVariables(), [Env.LIST_NAME]: kplus.EnvValue.fromValue(list.listName) };
}

/** Options of KEDA's `redis` trigger on a list. */
export interface RedisListTriggerOptions {
  /**
   * Target list length per replica (ScaledObject) or per Job (ScaledJob).
   * @default 5
   */
  readonly listLength?: number;
  /**
   * The scaler is active (0 -> 1) only when the list is longer than this.
   * @default 0
   */
  readonly activationListLength?: number;
  /**
   * Trigger name, for `scalingModifiers` and to tell triggers apart in KEDA's metrics.
   * @default - KEDA's positional name
   */
  readonly name?: string;
  /**
   * Let KEDA read host and port from the target container's `REDIS_HOST` / `REDIS_PORT`
   * (`hostFromEnv` / `portFromEnv`) instead of writing the address into the trigger.
   * @default false
   */
  readonly addressFromEnv?: boolean;
}

/** KEDA's `redis` trigger on one list (LLEN, or ZCARD / HLEN when the key is a zset / hash). */
export class RedisListTrigger implements IKedaTrigger {
  /** Target list length per replica or Job. */
  public readonly listLength: number;
  /** List length above which the scaler is active. */
  public readonly activationListLength: number;
  private readonly name?: string;
  private readonly addressFromEnv: boolean;

  /**
   * A trigger on `listName` of the server `connection` reaches; RedisQueue and the workers hand these out.
   * @param scope construct whose path errors name
   * @param connection the Redis server holding the list
   * @param listName the key KEDA measures (LLEN of a list, ZCARD of a sorted set, HLEN of a hash)
   * @param options list length per replica, activation, name, address from env
   * @param leased set when consumers of this list lease events, so expired leases need a reaper
   */
  public constructor(
    scope: Construct,
    public readonly connection: RedisConnection,
    public readonly listName: string,
    options: RedisListTriggerOptions = {},
    public readonly leased?: LeasedList,
  ) {
    if (options.listLength !== undefined && !(Number.isInteger(options.listLength) && options.listLength >= 1)) {
      throw propError(scope, 'listLength', options.listLength, 'must be an integer of at least 1');
    }
    checkInteger(scope, 'activationListLength', options.activationListLength, 0);
    if (!listName) throw propError(scope, 'listName', listName, 'must not be empty');
    this.listLength = options.listLength ?? 5;
    this.activationListLength = options.activationListLength ?? 0;
    this.name = options.name;
    this.addressFromEnv = options.addressFromEnv ?? false;
  }

  /** Renders the trigger, with the connection's TriggerAuthentication in the chart of `scope`. */
  public bind(scope: Construct): KedaTriggerConfig {
    return {
      type: 'redis',
      name: this.name,
      metadata: {
        ...this.connection.triggerMetadata({ addressFromEnv: this.addressFromEnv }),
        listName: this.listName,
        listLength: String(this.listLength),
        activationListLength: String(this.activationListLength),
      },
      authentication: this.connection.triggerAuthentication(scope),
    };
  }
}

/** Any KEDA trigger by type and metadata, for scalers this library has no typed class for. */
export class CustomTrigger implements IKedaTrigger {
  /**
   * A trigger rendered as given.
   * @param type KEDA's trigger type, e.g. `cron` or `prometheus`
   * @param metadata the trigger's metadata, as KEDA's scaler of that type reads it
   * @param options the trigger's name and the TriggerAuthentication its `authenticationRef` names
   */
  public constructor(
    public readonly type: string,
    public readonly metadata: Record<string, string>,
    private readonly options: { readonly name?: string; readonly authentication?: TriggerAuthentication } = {},
  ) {}

  /** Renders the trigger as given. */
  public bind(): KedaTriggerConfig {
    return { type: this.type, name: this.options.name, metadata: this.metadata, authentication: this.options.authentication };
  }
}
