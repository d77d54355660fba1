import { Construct } from 'constructs';
import type { RedisConnection } from '../redis-connection';
import { queueKeys } from '../../runtime/contract';
import { checkClusterListName } from '../private/triggers';
import { checkInteger, propError } from '../private/validation';
import { IKedaTrigger, KedaTriggerConfig } from './trigger';

/** A Redis list whose events are leased by consumers: in flight and expired leases live beside it. */
export interface LeasedList {
  /** The Redis server holding the list. */
  readonly connection: RedisConnection;
  /** The list producers push to; its leases and retries live in keys beside it. */
  readonly listName: string;
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

/** Which part of a leased queue a trigger counts: the ready list, the leased events, the retries waiting. */
export type LeasedListPart = 'ready' | 'inflight' | 'delayed';

/** KEDA's `redis` trigger on one list (LLEN, or ZCARD / HLEN when the key is a zset / hash). */
export class RedisListTrigger implements IKedaTrigger {
  /**
   * A trigger on one part of a leased queue (the key of that part: `<list>`, `<list>:inflight`, `<list>:delayed`),
   * as RedisQueue and RedisClusterQueue hand them out.
   */
  public static ofLeasedList(scope: Construct, list: LeasedList, part: LeasedListPart, options: RedisListTriggerOptions = {}): RedisListTrigger {
    return new RedisListTrigger(scope, list.connection, queueKeys(list.listName)[part], options, list);
  }

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
    checkInteger(scope, 'listLength', options.listLength, 1);
    checkInteger(scope, 'activationListLength', options.activationListLength, 0);
    if (!listName) throw propError(scope, 'listName', listName, 'must not be empty');
    checkClusterListName(scope, connection, listName);
    this.listLength = options.listLength ?? 5;
    this.activationListLength = options.activationListLength ?? 0;
    this.name = options.name;
    this.addressFromEnv = options.addressFromEnv ?? false;
  }

  /** Renders the trigger, with the connection's TriggerAuthentication in the chart of `scope`. */
  public bind(scope: Construct): KedaTriggerConfig {
    return {
      type: this.connection.clusterNodes ? 'redis-cluster' : 'redis',
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
