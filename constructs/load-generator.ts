import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, Env, LOAD_PATTERNS, LoadPatternName } from '../runtime/contract';
import type { DemoApp } from './demo-app';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { propError } from './private/validation';
import { RuntimeDeploymentProps } from './runtime-deployment-props';

/** Props of a LoadGenerator. */
export interface LoadGeneratorProps extends RuntimeDeploymentProps {
  /** The app the load goes to (its Service). */
  readonly target: DemoApp;
  /** The Kedastral example's load pattern: hourly-spike, business-hours, sine-wave or double-peak. */
  readonly pattern: LoadPatternName;
  /**
   * Pattern seconds per wall-clock second (60 plays an hour of the pattern in a minute).
   * @default 1
   */
  readonly timeScale?: number;
  /**
   * Factor on the pattern's requests per second.
   * @default 1
   */
  readonly rateScale?: number;
}

/** A Deployment of one `redis-keda loadgen` pod sending the pattern's requests per second to a DemoApp; `/metrics` counts them. */
export class LoadGenerator extends Construct {
  /** The generator's Deployment (1 replica). */
  public readonly deployment: kplus.Deployment;
  /** The PodMonitor, when asked for. */
  public readonly podMonitor?: PodMonitor;

  public constructor(scope: Construct, id: string, props: LoadGeneratorProps) {
    super(scope, id);
    if (!(LOAD_PATTERNS as readonly string[]).includes(props.pattern)) throw propError(this, 'pattern', props.pattern, `must be one of ${LOAD_PATTERNS.join(', ')}`);
    const positive = (prop: string, value: number | undefined) => {
      if (value !== undefined && !(Number.isFinite(value) && value > 0 && value <= 1e6)) throw propError(this, prop, value, 'must be above 0 and at most 1000000');
    };
    positive('timeScale', props.timeScale);
    positive('rateScale', props.rateScale);
    const rendered = renderRuntimeDeployment(this, props, {
      container: 'loadgen',
      args: [Commands.LOADGEN],
      replicas: 1,
      component: 'loadgen',
      env: {
        [Env.LOADGEN_TARGET_URL]: kplus.EnvValue.fromValue(props.target.url),
        [Env.LOADGEN_PATTERN]: kplus.EnvValue.fromValue(props.pattern),
        ...(props.timeScale !== undefined ? { [Env.LOADGEN_TIME_SCALE]: kplus.EnvValue.fromValue(String(props.timeScale)) } : {}),
        ...(props.rateScale !== undefined ? { [Env.LOADGEN_RATE_SCALE]: kplus.EnvValue.fromValue(String(props.rateScale)) } : {}),
      },
    });
    this.deployment = rendered.deployment;
    this.podMonitor = rendered.podMonitor;
  }
}
