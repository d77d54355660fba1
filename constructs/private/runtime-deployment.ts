import { Duration, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PodMonitor } from '../../imports/monitoring.coreos.com';
import { DEFAULT_GRACE_SECONDS, Env, HEALTH_PATH, METRICS_PATH, METRICS_PORT, TERMINATION_MARGIN_SECONDS } from '../../runtime/contract';
import type { PodMonitorOptions, RuntimeDeploymentProps, WorkerDeploymentProps } from '../runtime-deployment-props';
import { resolveRuntimeImage } from '../runtime-image';
import { longRunningContainer, metricsPortEnv, patchPodSpec, restrictedPod } from './pod-defaults';
import { checkInteger, checkLabels, checkName, checkWholeSeconds, nameMetadata } from './validation';

/** A restricted Deployment of one `redis-keda <command>` container. */
export interface RuntimeDeployment {
  /** The Deployment. */
  readonly deployment: kplus.Deployment;
  /** Its one container. */
  readonly container: kplus.Container;
  /** The PodMonitor scraping the pods, when `podMonitor` asked for one. */
  readonly podMonitor?: PodMonitor;
}

/**
 * Renders a Deployment of one long-running `redis-keda` command: restricted pod without a service
 * account token, `/healthz` and `/readyz` probes and the metrics port (longRunningContainer), the
 * command's env then METRICS_PORT, image pull secrets; with `podMonitor`, a PodMonitor selecting its pods by
 * its labels: the name (else a value unique to the construct path) and `component` (by default the container).
 */
export function renderRuntimeDeployment(
  scope: Construct,
  props: RuntimeDeploymentProps,
  spec: {
    readonly container: string;
    readonly args: string[];
    readonly env: Record<string, kplus.EnvValue>;
    readonly replicas?: number;
    /** The `app.kubernetes.io/component` label of the pods. @default - the container's name */
    readonly component?: string;
    readonly terminationGrace?: Duration;
    /**
     * Ready on `/healthz` instead of `/readyz`: for a server whose every answer but a Redis read must go on while
     * Redis is down (out of its Service, it could not even say so).
     * @default false
     */
    readonly readyWithoutRedis?: boolean;
  },
): RuntimeDeployment {
  checkName(scope, 'name', props.name);
  const image = resolveRuntimeImage(scope, 'image', props.image);
  // Without a name, a label value unique to the construct path: a PodMonitor must select these pods only.
  const labels = { 'app.kubernetes.io/name': props.name ?? Names.toLabelValue(scope), 'app.kubernetes.io/component': spec.component ?? spec.container };
  const deployment = new kplus.Deployment(scope, 'deployment', {
    metadata: nameMetadata(props.name),
    replicas: spec.replicas,
    podMetadata: { labels },
    securityContext: restrictedPod(),
    automountServiceAccountToken: false,
    terminationGracePeriod: spec.terminationGrace,
  });
  const container = deployment.addContainer({
    name: spec.container,
    image,
    args: spec.args,
    envVariables: { ...spec.env, ...metricsPortEnv() },
    ...longRunningContainer(props.resources),
    ...(spec.readyWithoutRedis ? { readiness: kplus.Probe.fromHttpGet(HEALTH_PATH, { port: METRICS_PORT, periodSeconds: Duration.seconds(5) }) } : {}),
  });
  patchPodSpec(deployment, { imagePullSecrets: props.imagePullSecrets });
  const podMonitor = renderPodMonitor(scope, props.name, labels, props.podMonitor);
  return { deployment, container, podMonitor };
}

/** What a worker construct renders: a restricted Deployment of one `redis-keda <command>` container. */
export interface WorkerDeployment extends RuntimeDeployment {
  /** Time a stopping pod keeps working on what it holds. */
  readonly grace: Duration;
  /** The PodMonitor scraping the pods, when asked for. */
  readonly podMonitor?: PodMonitor;
}

/**
 * Validates the shared props and renders the Deployment (`/healthz`, `/readyz` probes and the
 * metrics port from longRunningContainer; termination grace matched to `GRACE_SECONDS`) and, if
 * asked, a PodMonitor. `env` is the command's own environment.
 */
export function renderWorkerDeployment(
  scope: Construct,
  props: WorkerDeploymentProps,
  command: { readonly component: string; readonly args: string[]; readonly env: Record<string, kplus.EnvValue> },
): WorkerDeployment {
  checkInteger(scope, 'replicas', props.replicas, 0);
  const grace = props.grace ?? Duration.seconds(DEFAULT_GRACE_SECONDS);
  checkWholeSeconds(scope, 'grace', grace, 0);
  const { deployment, container, podMonitor } = renderRuntimeDeployment(scope, props, {
    container: 'worker',
    args: command.args,
    env: { ...command.env, [Env.GRACE_SECONDS]: kplus.EnvValue.fromValue(String(grace.toSeconds())) },
    replicas: props.replicas,
    component: command.component,
    terminationGrace: Duration.seconds(grace.toSeconds() + TERMINATION_MARGIN_SECONDS),
  });
  // The user's env last: it wins, METRICS_PORT included.
  for (const [name, value] of Object.entries(props.envVariables ?? {})) container.env.addVariable(name, value);
  return { deployment, container, grace, podMonitor };
}

/**
 * When asked for (`podMonitor` true or options), a PodMonitor scraping `path` on the `metrics` port
 * of the pods with `selector`, carrying the option's labels (checked, as the `podMonitor.labels` prop).
 */
export function renderPodMonitor(
  scope: Construct,
  name: string | undefined,
  selector: Record<string, string>,
  podMonitor: boolean | PodMonitorOptions | undefined,
  options: { readonly prop?: string; readonly path?: string } = {},
): PodMonitor | undefined {
  if (!podMonitor) return undefined;
  const labels = podMonitor === true ? undefined : podMonitor.labels;
  checkLabels(scope, `${options.prop ?? 'podMonitor'}.labels`, labels);
  return new PodMonitor(scope, 'pod-monitor', {
    metadata: { ...nameMetadata(name), ...(labels && Object.keys(labels).length ? { labels: { ...labels } } : {}) },
    spec: {
      selector: { matchLabels: selector },
      podMetricsEndpoints: [{ port: 'metrics', path: options.path ?? METRICS_PATH, interval: '15s' }],
    },
  });
}
