import { Duration } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ScaledObject, ScaledObjectSpecAdvanced, ScaledObjectSpecFallbackBehavior } from '../imports/keda.sh';
import { isScalableWorkload } from './private/scalable-workload';
import { missingEnvFromTarget } from './private/triggers';
import { checkInteger, checkName, checkScaler, checkWholeSeconds, nameMetadata, propError } from './private/validation';
import type { RedisClientPods } from './redis-connection';
import { IKedaTrigger, KedaTriggerConfig, RedisListTrigger } from './triggers';

/** A workload given by reference, for targets not built with cdk8s-plus. */
export interface ScaleTargetReference {
  /** Kind of the workload, e.g. `Deployment`, `StatefulSet` or a custom resource with a `/scale` subresource. */
  readonly kind: string;
  /** Name of the workload in the ScaledObject's namespace. */
  readonly name: string;
  /**
   * API version of the workload.
   * @default "apps/v1"
   */
  readonly apiVersion?: string;
  /**
   * The target's container env, by variable name, to check `...FromEnv` trigger keys against.
   * @default - not checked
   */
  readonly envNames?: string[];
}

/** A container of a scalable workload, as far as the ScaledObject reads it (its env, for `...FromEnv` keys). */
export interface ScalableContainer {
  /** The container's name. */
  readonly name: string;
  /** The container's environment. */
  readonly env: ScalableContainerEnv;
}

/** A container's environment, as cdk8s-plus's `Env` has it. */
export interface ScalableContainerEnv {
  /** The variables the container defines, by name. */
  readonly variables: Record<string, unknown>;
  /** The sources (`envFrom`) it reads more variables from, whose names are unknown at synth. */
  readonly sources: readonly unknown[];
}

/** What `toScalingTarget()` of a cdk8s-plus workload returns (the same shape in every cdk8s-plus 2.x major). */
export interface ScalableWorkloadTarget {
  /** Kind of the workload: `Deployment` or `StatefulSet`. */
  readonly kind: string;
  /** API version of the workload, `apps/v1`. */
  readonly apiVersion: string;
  /** The workload's name, the one written to its YAML. */
  readonly name: string;
  /** The workload's containers. */
  readonly containers: readonly ScalableContainer[];
  /** The replica count set in the workload's props; undefined when none is. */
  readonly replicas?: number;
}

/**
 * A Deployment or StatefulSet of any cdk8s-plus 2.x major (cdk8s-plus-27, -33, ...), recognised by
 * what it can do rather than by class: a ScaledObject marks it autoscaled and reads its scaling target.
 */
export interface IScalableWorkload extends IConstruct {
  /** Tells the workload that an autoscaler owns its replica count, so it leaves `replicas` out of its YAML. */
  markHasAutoscaler(): void;
  /** Kind, API version, name and containers of the workload. */
  toScalingTarget(): ScalableWorkloadTarget;
  /** The workload's rendered Kubernetes object. */
  readonly apiObject: ScalableApiObject;
}

/** The Kubernetes object of a scalable workload (a cdk8s `ApiObject`), as far as the ScaledObject reads it. */
export interface ScalableApiObject {
  /** The object's kind. */
  readonly kind: string;
  /** The object as it will be written to YAML. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature of cdk8s's ApiObject.toJson()
  toJson(): any;
}

/** What fallback does while a scaler keeps failing. */
export enum FallbackBehavior {
  /** Run exactly `replicas` while falling back. */
  STATIC = 'static',
  /** Keep the replica count the workload has. */
  CURRENT_REPLICAS = 'currentReplicas',
  /** Keep the current count if it is higher than `replicas`, else run `replicas`. */
  CURRENT_REPLICAS_IF_HIGHER = 'currentReplicasIfHigher',
  /** Keep the current count if it is lower than `replicas`, else run `replicas`. */
  CURRENT_REPLICAS_IF_LOWER = 'currentReplicasIfLower',
}

/** Replicas KEDA keeps while a scaler cannot be read (KEDA's `fallback`). */
export interface FallbackOptions {
  /** Consecutive scaler failures before the fallback applies. */
  readonly failureThreshold: number;
  /** Replicas while falling back. */
  readonly replicas: number;
  /**
   * How the fallback replica count relates to the current one.
   * @default FallbackBehavior.STATIC
   */
  readonly behavior?: FallbackBehavior;
}

/** What a scaling policy's `value` counts. */
export enum ScalingPolicyType {
  /** A number of pods per period. */
  PODS = 'Pods',
  /** A percentage of the current pods per period. */
  PERCENT = 'Percent',
}

/** Which of several scaling policies the HPA applies. */
export enum SelectPolicy {
  /** The policy allowing the largest change. */
  MAX = 'Max',
  /** The policy allowing the smallest change. */
  MIN = 'Min',
  /** No change in this direction at all. */
  DISABLED = 'Disabled',
}

/** One HPA scaling policy: at most `value` pods (or percent) per `period`. */
export interface ScalingPolicy {
  /** Whether `value` counts pods or percent. */
  readonly type: ScalingPolicyType;
  /** Pods or percent per period. */
  readonly value: number;
  /** The window the change is limited over (at most 30 minutes). */
  readonly period: Duration;
}

/** One direction of the HPA's `behavior`. */
export interface ScalingRules {
  /**
   * The HPA acts on the most conservative recommendation within this window.
   * @default - the HPA's: 0 up, 300 s down
   */
  readonly stabilizationWindow?: Duration;
  /**
   * The policies limiting how fast the replica count changes.
   * @default - the HPA's policies
   */
  readonly policies?: ScalingPolicy[];
  /**
   * Which policy applies when several allow different changes.
   * @default SelectPolicy.MAX
   */
  readonly selectPolicy?: SelectPolicy;
}

/** Props of a KedaScaledObject. */
export interface KedaScaledObjectProps {
  /**
   * The workload to scale: a Deployment or StatefulSet of any cdk8s-plus 2.x major (marked autoscaled,
   * so its YAML has no `replicas`), or a reference to a workload defined elsewhere.
   */
  readonly target: IScalableWorkload | ScaleTargetReference;
  /** What KEDA scales on; at least one. The replica count is the highest any trigger asks for. */
  readonly triggers: IKedaTrigger[];
  /**
   * Name of the ScaledObject (and of the HPA KEDA makes for it, prefixed `keda-hpa-`).
   * @default - generated by cdk8s from the construct path
   */
  readonly name?: string;
  /**
   * Replicas while the triggers ask for fewer; 0 lets KEDA scale the workload to zero.
   * @default 0
   */
  readonly minReplicas?: number;
  /**
   * Replicas KEDA never scales beyond.
   * @default 100
   */
  readonly maxReplicas?: number;
  /**
   * Time between two reads of the triggers by KEDA (what scales 0 <-> 1; above zero the HPA reads the metrics
   * itself), so only used with minReplicas or idleReplicaCount 0: left out of the YAML otherwise, unless given.
   * @default Duration.seconds(30)
   */
  readonly pollingInterval?: Duration;
  /**
   * Wait after the last active trigger before scaling to zero (only with minReplicas or idleReplicaCount 0:
   * left out of the YAML otherwise, unless given).
   * @default Duration.seconds(300)
   */
  readonly cooldown?: Duration;
  /**
   * Replicas while no trigger is active; must be below minReplicas.
   * @default - minReplicas
   */
  readonly idleReplicaCount?: number;
  /**
   * Replicas to run while the scalers fail.
   * @default - none: on scaler errors the replica count stays as it is
   */
  readonly fallback?: FallbackOptions;
  /**
   * HPA scale-up rules.
   * @default - the HPA's
   */
  readonly scaleUp?: ScalingRules;
  /**
   * HPA scale-down rules.
   * @default - the HPA's (300 s stabilization)
   */
  readonly scaleDown?: ScalingRules;
  /**
   * Container of the target whose env `...FromEnv` trigger keys are read from.
   * @default - the first container
   */
  readonly envSourceContainerName?: string;
  /**
   * Pause autoscaling (`autoscaling.keda.sh/paused`); with `pausedReplicas` the target is held at that count.
   * @default false
   */
  readonly paused?: boolean;
  /**
   * Hold the target at this many replicas while paused (`autoscaling.keda.sh/paused-replicas`).
   * @default - the current count
   */
  readonly pausedReplicas?: number;
}

/** A KEDA ScaledObject: scales a Deployment or StatefulSet 0..N on the given triggers. */
export class KedaScaledObject extends Construct {
  /** The rendered ScaledObject. */
  public readonly apiObject: ScaledObject;
  /** The workload it scales, as given in `target`. */
  public readonly target: IScalableWorkload | ScaleTargetReference;
  /** The minimum replica count in force. */
  public readonly minReplicas: number;
  /** The maximum replica count in force. */
  public readonly maxReplicas: number;
  /** The polling interval in force. */
  public readonly pollingInterval: Duration;
  /** The cooldown before scaling to zero in force. */
  public readonly cooldown: Duration;

  public constructor(scope: Construct, id: string, props: KedaScaledObjectProps) {
    super(scope, id);
    checkName(this, 'name', props.name);
    this.target = props.target;
    ({ min: this.minReplicas, max: this.maxReplicas } = checkScaler(this, props));
    checkInteger(this, 'idleReplicaCount', props.idleReplicaCount, 0);
    checkInteger(this, 'pausedReplicas', props.pausedReplicas, 0);
    if (props.idleReplicaCount !== undefined && props.idleReplicaCount >= this.minReplicas) {
      throw propError(this, 'idleReplicaCount', props.idleReplicaCount, `must be less than 'minReplicas' (${this.minReplicas})`);
    }
    if (props.pausedReplicas !== undefined && props.paused === false) {
      throw propError(this, 'pausedReplicas', props.pausedReplicas, "needs 'paused' (false) unset or true");
    }
    this.pollingInterval = props.pollingInterval ?? Duration.seconds(30);
    this.cooldown = props.cooldown ?? Duration.seconds(300);
    checkWholeSeconds(this, 'pollingInterval', this.pollingInterval);
    checkWholeSeconds(this, 'cooldown', this.cooldown, 0);
    this.checkRules('scaleUp', props.scaleUp);
    this.checkRules('scaleDown', props.scaleDown);

    const triggers = props.triggers.map((t) => t.bind(this));
    this.checkFallback(props.fallback, triggers);
    const target = this.resolveTarget(props.target);
    this.checkEnvFromTarget(triggers, props.target, props.envSourceContainerName);
    // The scaled workload consumes what its redis triggers count: let it reach that Redis.
    const workload = props.target as Partial<RedisClientPods>;
    for (const t of props.triggers) if (t instanceof RedisListTrigger && workload.matchLabels) t.connection.allowFrom(workload as RedisClientPods);

    const toZero = this.minReplicas === 0 || props.idleReplicaCount === 0;
    const annotations: Record<string, string> = {};
    if (props.paused || props.pausedReplicas !== undefined) annotations['autoscaling.keda.sh/paused'] = 'true';
    if (props.pausedReplicas !== undefined) annotations['autoscaling.keda.sh/paused-replicas'] = String(props.pausedReplicas);

    this.apiObject = new ScaledObject(this, 'Resource', {
      metadata: { ...nameMetadata(props.name), ...(Object.keys(annotations).length ? { annotations } : {}) },
      spec: {
        scaleTargetRef: { ...target, envSourceContainerName: props.envSourceContainerName },
        minReplicaCount: this.minReplicas,
        maxReplicaCount: this.maxReplicas,
        // KEDA's admission webhook warns of either when neither applies (min and idle replicas above zero).
        pollingInterval: toZero || props.pollingInterval ? this.pollingInterval.toSeconds() : undefined,
        cooldownPeriod: toZero || props.cooldown ? this.cooldown.toSeconds() : undefined,
        idleReplicaCount: props.idleReplicaCount,
        fallback: props.fallback && {
          failureThreshold: props.fallback.failureThreshold,
          replicas: props.fallback.replicas,
          behavior: props.fallback.behavior as string as ScaledObjectSpecFallbackBehavior | undefined,
        },
        advanced: renderAdvanced(props.scaleUp, props.scaleDown),
        triggers: triggers.map((t) => ({
          type: t.type,
          name: t.name,
          metadata: t.metadata,
          metricType: t.metricType,
          authenticationRef: t.authentication ? { name: t.authentication.name } : undefined,
        })),
      },
    });
  }

  private resolveTarget(target: KedaScaledObjectProps['target']): { kind: string; name: string; apiVersion: string } {
    if (isScalableWorkload(target)) {
      const t = target.toScalingTarget();
      if (!SCALABLE_KINDS.includes(t.kind)) {
        throw propError(this, 'target', `${t.kind} ${target.node.path}`, `must be a ${SCALABLE_KINDS.join(' or ')}`);
      }
      if (t.replicas !== undefined) {
        throw propError(this, 'target', target.node.path, `sets 'replicas' (${t.replicas}); an autoscaled workload must not, or GitOps and the HPA fight over it`);
      }
      target.markHasAutoscaler();
      // A workload whose major ignores the mark would still write `replicas`: caught before any YAML is written.
      this.node.addValidation({
        validate: () => {
          const replicas = target.apiObject.toJson()?.spec?.replicas;
          return replicas === undefined
            ? []
            : [
                `${this.node.path}: 'target' (${JSON.stringify(target.node.path)}) still writes 'replicas' (${replicas}) after markHasAutoscaler(); GitOps and the HPA would fight over it`,
              ];
        },
      });
      return { kind: t.kind, name: t.name, apiVersion: t.apiVersion };
    }
    checkName(this, 'target.name', target.name);
    return { kind: target.kind, name: target.name, apiVersion: target.apiVersion ?? 'apps/v1' };
  }

  /** KEDA's fallback works only for AverageValue metrics of external scalers, not cpu / memory. */
  private checkFallback(fallback: FallbackOptions | undefined, triggers: KedaTriggerConfig[]): void {
    if (!fallback) return;
    checkInteger(this, 'fallback.failureThreshold', fallback.failureThreshold, 1);
    checkInteger(this, 'fallback.replicas', fallback.replicas, 0);
    if (triggers.every((t) => t.type === 'cpu' || t.type === 'memory')) {
      throw propError(this, 'fallback', `${triggers.map((t) => t.type).join(',')} triggers`, 'needs at least one trigger other than cpu / memory');
    }
    const value = triggers.find((t) => t.metricType && t.metricType !== 'AverageValue' && t.type !== 'cpu' && t.type !== 'memory');
    if (value) throw propError(this, 'fallback', `metricType ${value.metricType} of the ${value.type} trigger`, "works only with metricType 'AverageValue'");
  }

  private checkRules(prop: string, rules?: ScalingRules): void {
    if (!rules) return;
    if (rules.stabilizationWindow) {
      const s = rules.stabilizationWindow.toSeconds();
      if (s > 3600) throw propError(this, `${prop}.stabilizationWindow`, `${s}s`, 'must be at most 3600 seconds');
    }
    for (const p of rules.policies ?? []) {
      checkInteger(this, `${prop}.policies.value`, p.value, 1);
      checkWholeSeconds(this, `${prop}.policies.period`, p.period);
      if (p.period.toSeconds() > 1800) throw propError(this, `${prop}.policies.period`, `${p.period.toSeconds()}s`, 'must be at most 1800 seconds');
    }
  }

  private checkEnvFromTarget(triggers: KedaTriggerConfig[], target: KedaScaledObjectProps['target'], containerName?: string): void {
    let names: Set<string> | undefined;
    if (isScalableWorkload(target)) {
      const containers = target.toScalingTarget().containers;
      const container = containerName ? containers.find((c) => c.name === containerName) : containers[0];
      if (containerName && !container) throw propError(this, 'envSourceContainerName', containerName, 'must name a container of the target');
      if (container && container.env.sources.length === 0) names = new Set(Object.keys(container.env.variables));
    } else if (target.envNames) {
      names = new Set(target.envNames);
    }
    const missing = names && missingEnvFromTarget(triggers, names);
    if (missing) {
      throw propError(this, 'target', [...names!].join(','), `must define ${missing.name} in its container env: KEDA reads the ${missing.type} trigger's ...FromEnv keys from it`);
    }
  }
}

const SCALABLE_KINDS = ['Deployment', 'StatefulSet'];

function renderRules(rules?: ScalingRules) {
  if (!rules) return undefined;
  return {
    stabilizationWindowSeconds: rules.stabilizationWindow?.toSeconds(),
    selectPolicy: rules.selectPolicy,
    policies: rules.policies?.map((p) => ({ type: p.type, value: p.value, periodSeconds: p.period.toSeconds() })),
  };
}

function renderAdvanced(up?: ScalingRules, down?: ScalingRules): ScaledObjectSpecAdvanced | undefined {
  if (!up && !down) return undefined;
  return { horizontalPodAutoscalerConfig: { behavior: { scaleUp: renderRules(up), scaleDown: renderRules(down) } } };
}
