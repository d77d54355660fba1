import { Duration, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import {
  Commands,
  FORECAST_DEFAULTS,
  durationMetadata,
  Env,
  FORECAST_CONFIG_DIR,
  FORECAST_CONFIG_FILE,
  FORECAST_CONFIG_FILE_NAME,
  ForecasterConfig,
  ForecastWorkloadConfig,
  ScalerMetadata,
  WORKLOAD_NAME_PATTERN,
} from '../runtime/contract';
import type { ExternalScaler } from './external-scaler';
import { configHash } from './private/config-hash';
import { connectionOf } from './private/redis-source';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { checkInteger, checkWholeSeconds, nameMetadata, propError } from './private/validation';
import type { RedisConnection, RedisSource } from './redis-connection';
import { RuntimeDeploymentProps } from './runtime-deployment-props';
import type { IKedaTrigger, KedaTriggerConfig } from './triggers';

/** One workload a Forecaster forecasts, and the capacity policy that turns its forecast into replicas. */
export interface ForecastWorkloadProps {
  /** The workload's name: a DNS label (it is part of the Redis key `forecast:<name>` and of metric labels). */
  readonly name: string;
  /** PromQL giving one series, the load: for example requests per second. */
  readonly query: string;
  /** Load one pod serves (in the query's unit); more than 0. */
  readonly targetPerPod: number;
  /**
   * Fewest replicas the policy asks for.
   * @default 1
   */
  readonly minReplicas?: number;
  /** Most replicas the policy asks for; at least `minReplicas`. */
  readonly maxReplicas: number;
  /**
   * How far ahead the scaler looks: it reports the most replicas wanted over [now, now + leadTime]. The same value
   * reaches the forecaster (config) and the scaler (the trigger's metadata); whole seconds, at least `step`.
   */
  readonly leadTime: Duration;
  /**
   * Age at which a forecast is stale: the key's TTL and the scaler's refusal (a gRPC error, so KEDA's fallback
   * applies); more than `interval`.
   * @default Duration.seconds(FORECAST_DEFAULTS.staleAfterSeconds) (2 minutes)
   */
  readonly staleAfter?: Duration;
  /**
   * Time between two forecasts.
   * @default Duration.seconds(FORECAST_DEFAULTS.intervalSeconds) (30 s)
   */
  readonly interval?: Duration;
  /**
   * Resolution of the history and of the forecast.
   * @default - the forecaster's (60 s)
   */
  readonly step?: Duration;
  /**
   * History queried each interval.
   * @default - the forecaster's (3 days: what the daily season needs)
   */
  readonly window?: Duration;
  /**
   * Time the forecast covers; at least `leadTime`.
   * @default - leadTime
   */
  readonly horizon?: Duration;
  /**
   * The policy's headroom over the sizing forecast (1.2: 20 % spare); from 1 to 10.
   * @default - the planner's
   */
  readonly headroom?: number;
  /**
   * The sizing quantile, between 0 and 1 exclusive.
   * @default - the planner's
   */
  readonly quantile?: number;
  /**
   * Any other option of the runtime's `createCapacityPlanner`, passed as it is.
   * @default - none
   */
  readonly model?: Record<string, unknown>;
}

/** A workload of a Forecaster, its props resolved. */
export interface ForecastWorkload {
  /** The workload's name. */
  readonly name: string;
  /** The PromQL of its load. */
  readonly query: string;
  /** Load one pod serves. */
  readonly targetPerPod: number;
  /** Fewest replicas the policy asks for. */
  readonly minReplicas: number;
  /** Most replicas the policy asks for. */
  readonly maxReplicas: number;
  /** How far ahead the scaler looks. */
  readonly leadTime: Duration;
  /** Age at which the forecast is stale. */
  readonly staleAfter: Duration;
  /** Time between two forecasts. */
  readonly interval: Duration;
}

/** Props of a Forecaster. */
export interface ForecasterProps extends RuntimeDeploymentProps {
  /** Base URL of the Prometheus HTTP API the forecaster queries, e.g. `http://prometheus-operated.monitoring.svc:9090`. */
  readonly prometheus: string;
  /** The Redis the forecasts are written to: a RedisConnection, RedisQueue or RedisCluster. */
  readonly redis: RedisSource;
  /**
   * Workloads to forecast; add more with `addWorkload()`.
   * @default - none yet (at least one is needed by synth)
   */
  readonly workloads?: ForecastWorkloadProps[];
  /**
   * Replicas. Two by default, deliberately: a lease in Redis lets one replica write each workload's forecast at a
   * time, so the second is a safe standby that takes over within the lease when the first stops.
   * @default 2
   */
  readonly replicas?: number;
}

/** Options of `Forecaster.trigger()`. */
export interface ForecastTriggerOptions {
  /** The workload whose forecast scales the ScaledObject: one of the forecaster's, by name or as `addWorkload()` returned it. */
  readonly workload: string | ForecastWorkload;
  /** The scaler KEDA calls. */
  readonly scaler: ExternalScaler;
  /**
   * The trigger's name in the ScaledObject.
   * @default 'forecast'
   */
  readonly name?: string;
}

/** Pod template annotation holding a digest of the config: a change of a workload rolls the Deployment. */
export const FORECAST_CONFIG_HASH_ANNOTATION = 'redis-keda.io/forecast-config-hash';

/**
 * A Deployment of `redis-keda forecaster` for one or many workloads: every interval, per workload, a Prometheus
 * range query, a model and a capacity policy, the forecast written to Redis (`forecast:<workload>`) with a TTL.
 * Its config is a ConfigMap (JSON, mounted at FORECAST_CONFIG_DIR); the pod template carries a digest of it, so a
 * changed workload rolls the pods. Hand out each workload's KEDA trigger with `trigger({ workload, scaler })`:
 * the lead time and staleness limit configured here reach the scaler through the trigger's metadata.
 */
export class Forecaster extends Construct {
  /** The forecaster's Deployment. */
  public readonly deployment: kplus.Deployment;
  /** Its container. */
  public readonly container: kplus.Container;
  /** The ConfigMap holding the workloads (`workloads.json`). */
  public readonly configMap: kplus.ConfigMap;
  /** The PodMonitor, when asked for. */
  public readonly podMonitor?: PodMonitor;
  /** The Redis the forecasts go to. */
  public readonly connection: RedisConnection;
  /** Base URL of the Prometheus queried. */
  public readonly prometheus: string;
  private readonly configs: ForecastWorkloadConfig[] = [];
  private readonly resolved: ForecastWorkload[] = [];

  public constructor(scope: Construct, id: string, props: ForecasterProps) {
    super(scope, id);
    checkInteger(this, 'replicas', props.replicas, 1);
    if (!/^https?:\/\/[^\s/@]+(\/\S*)?$/.test(props.prometheus)) {
      throw propError(this, 'prometheus', props.prometheus, 'must be an http:// or https:// URL without credentials, e.g. "http://prometheus-operated.monitoring.svc:9090"');
    }
    this.prometheus = props.prometheus;
    this.connection = connectionOf(props.redis);
    this.configMap = new kplus.ConfigMap(this, 'config', { metadata: nameMetadata(props.name && `${props.name}-config`) });
    const json = Lazy.any({ produce: () => this.configJson() });
    this.configMap.addData(FORECAST_CONFIG_FILE_NAME, json as unknown as string);

    const rendered = renderRuntimeDeployment(this, props, {
      container: 'forecaster',
      args: [Commands.FORECASTER],
      replicas: props.replicas ?? 2,
      component: 'forecaster',
      env: {
        ...this.connection.envVariables(),
        [Env.PROMETHEUS_URL]: kplus.EnvValue.fromValue(props.prometheus),
        [Env.FORECAST_CONFIG]: kplus.EnvValue.fromValue(FORECAST_CONFIG_FILE),
        // The lease holder's id and the forecast's `writer`: which replica wrote it.
        [Env.POD_NAME]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      },
    });
    this.deployment = rendered.deployment;
    this.container = rendered.container;
    this.podMonitor = rendered.podMonitor;
    // A directory mount (no subPath), so the kubelet's updates of the ConfigMap reach the file too.
    this.container.mount(FORECAST_CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'config-volume', this.configMap), { readOnly: true });
    this.deployment.podMetadata.addAnnotation(FORECAST_CONFIG_HASH_ANNOTATION, Lazy.any({ produce: () => configHash(this.configJson()) }) as unknown as string);
    this.connection.allowFrom(this.deployment);
    for (const workload of props.workloads ?? []) this.addWorkload(workload);
    this.node.addValidation({
      validate: () => (this.configs.length ? [] : [`${this.node.path}: 'workloads' ([]) must hold at least one workload (props.workloads or addWorkload())`]),
    });
  }

  /** The workloads so far. */
  public get workloads(): readonly ForecastWorkload[] {
    return [...this.resolved];
  }

  /** Adds a workload; its props are checked at once. */
  public addWorkload(props: ForecastWorkloadProps): ForecastWorkload {
    const prop = (name: string) => `workloads[${props.name}].${name}`;
    if (typeof props.name !== 'string' || !WORKLOAD_NAME_PATTERN.test(props.name)) {
      throw propError(this, 'workloads.name', props.name, 'must be a DNS label: lower-case letters, digits and -, at most 63 characters');
    }
    if (this.resolved.some((w) => w.name === props.name)) throw propError(this, 'workloads.name', props.name, 'must name each workload once');
    if (!props.query?.trim()) throw propError(this, prop('query'), props.query, 'must be a PromQL query');
    if (!(Number.isFinite(props.targetPerPod) && props.targetPerPod > 0)) throw propError(this, prop('targetPerPod'), props.targetPerPod, 'must be a number above 0');
    checkInteger(this, prop('minReplicas'), props.minReplicas, 0);
    checkInteger(this, prop('maxReplicas'), props.maxReplicas, 1);
    const minReplicas = props.minReplicas ?? 1;
    if (minReplicas > props.maxReplicas) throw propError(this, prop('minReplicas'), minReplicas, `must be at most 'maxReplicas' (${props.maxReplicas})`);
    const seconds = (name: string, value: Duration | undefined) => {
      if (value === undefined) return undefined;
      checkWholeSeconds(this, prop(name), value);
      return value.toSeconds();
    };
    if (props.leadTime === undefined) throw propError(this, prop('leadTime'), undefined, 'must be given: how far ahead the scaler looks');
    const leadTime = seconds('leadTime', props.leadTime)!;
    const interval = props.interval ?? Duration.seconds(FORECAST_DEFAULTS.intervalSeconds);
    const staleAfter = props.staleAfter ?? Duration.seconds(FORECAST_DEFAULTS.staleAfterSeconds);
    const intervalSeconds = seconds('interval', interval)!;
    const staleAfterSeconds = seconds('staleAfter', staleAfter)!;
    if (staleAfterSeconds <= intervalSeconds) {
      throw propError(this, prop('staleAfter'), `${staleAfterSeconds}s`, `must be more than 'interval' (${intervalSeconds}s): each forecast would be stale before the next`);
    }
    const stepSeconds = seconds('step', props.step);
    if (stepSeconds !== undefined && leadTime < stepSeconds) throw propError(this, prop('leadTime'), `${leadTime}s`, `must be at least 'step' (${stepSeconds}s)`);
    const windowSeconds = seconds('window', props.window);
    const horizonSeconds = seconds('horizon', props.horizon);
    if (horizonSeconds !== undefined && horizonSeconds < leadTime) throw propError(this, prop('horizon'), `${horizonSeconds}s`, `must be at least 'leadTime' (${leadTime}s)`);
    if (props.headroom !== undefined && !(props.headroom >= 1 && props.headroom <= 10)) throw propError(this, prop('headroom'), props.headroom, 'must be from 1 to 10');
    if (props.quantile !== undefined && !(props.quantile > 0 && props.quantile < 1)) throw propError(this, prop('quantile'), props.quantile, 'must be between 0 and 1');

    this.configs.push({
      name: props.name,
      query: props.query,
      targetPerPod: props.targetPerPod,
      minReplicas,
      maxReplicas: props.maxReplicas,
      leadTimeSeconds: leadTime,
      intervalSeconds,
      staleAfterSeconds,
      ...(stepSeconds !== undefined ? { stepSeconds } : {}),
      ...(windowSeconds !== undefined ? { windowSeconds } : {}),
      ...(horizonSeconds !== undefined ? { horizonSeconds } : {}),
      ...(props.headroom !== undefined ? { headroom: props.headroom } : {}),
      ...(props.quantile !== undefined ? { quantile: props.quantile } : {}),
      ...(props.model ? { model: { ...props.model } } : {}),
    });
    const workload: ForecastWorkload = {
      name: props.name,
      query: props.query,
      targetPerPod: props.targetPerPod,
      minReplicas,
      maxReplicas: props.maxReplicas,
      leadTime: props.leadTime,
      staleAfter,
      interval,
    };
    this.resolved.push(workload);
    return workload;
  }

  /**
   * KEDA's `external` trigger on one workload's forecast, for a KedaScaledObject: the scaler's address, and the
   * workload, lead time and staleness limit as the scaler's metadata (from this workload's props, so they are
   * configured once). Pair it with a reactive trigger on the same load: KEDA takes the highest, so the forecast
   * alone never scales in below what the load needs now.
   */
  public trigger(options: ForecastTriggerOptions): IKedaTrigger {
    const name = typeof options.workload === 'string' ? options.workload : options.workload.name;
    const workload = this.resolved.find((w) => w.name === name);
    if (!workload) {
      throw propError(this, 'trigger.workload', name, `must be a workload of this forecaster: ${this.resolved.map((w) => w.name).join(', ') || 'none yet'}`);
    }
    const scaler = options.scaler;
    if (scaler.connection !== this.connection) {
      throw propError(this, 'trigger.scaler', scaler.node.path, "must read the forecaster's Redis: give both the same RedisConnection, RedisQueue or RedisCluster");
    }
    const triggerName = options.name ?? 'forecast';
    return {
      bind: (scope: Construct): KedaTriggerConfig => ({
        type: 'external',
        name: triggerName,
        metadata: {
          scalerAddress: scaler.address,
          [ScalerMetadata.WORKLOAD]: workload.name,
          [ScalerMetadata.LEAD_TIME]: durationMetadata(workload.leadTime.toSeconds()),
          [ScalerMetadata.STALE_AFTER]: durationMetadata(workload.staleAfter.toSeconds()),
        },
        authentication: scaler.triggerAuthentication(scope),
      }),
    };
  }

  private configJson(): string {
    const config: ForecasterConfig = { workloads: this.configs };
    return JSON.stringify(config, undefined, 2);
  }
}
