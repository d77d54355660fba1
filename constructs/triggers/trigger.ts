import { Construct } from 'constructs';
import { TriggerAuthentication } from '../../imports/keda.sh';

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

/** Anything that can scale a KEDA workload. */
export interface IKedaTrigger {
  /** Renders the trigger within `scope` (where shared objects such as TriggerAuthentications go). */
  bind(scope: Construct): KedaTriggerConfig;
}
