import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, DEMO_APP_PORT, DemoAppMetrics, Env, METRICS_PORT } from '../runtime/contract';
import { ExternalLabels } from './private/external-metrics';
import { podPattern, series } from './private/promql';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { nameMetadata, propError } from './private/validation';
import { RuntimeDeploymentProps } from './runtime-deployment-props';

/** Props of a DemoApp. */
export interface DemoAppProps extends RuntimeDeploymentProps {
  /**
   * Time each request waits before its answer (the work it stands for; `/api/heavy` four times as long).
   * @default Duration.millis(0)
   */
  readonly latency?: Duration;
  /**
   * Replicas when not autoscaled; leave unset when a KedaScaledObject targets the Deployment.
   * @default - none in the YAML when a KedaScaledObject targets the Deployment, else cdk8s-plus's 2
   */
  readonly replicas?: number;
}

/**
 * The example's app: a Deployment of `redis-keda demo-app` answering HTTP on port 8080 (`/`, `/api/task`,
 * `/api/heavy`) and counting every request in `api_requests_total{endpoint, method, status}` on `/metrics`
 * (port 9090), and a Service with both ports. `requestRateQuery()` is the load a Forecaster forecasts.
 */
export class DemoApp extends Construct {
  /** The app's Deployment (a KedaScaledObject's target). */
  public readonly deployment: kplus.Deployment;
  /** The Service on the app port (`http`) and the metrics port. */
  public readonly service: kplus.Service;
  /** The PodMonitor, when asked for. */
  public readonly podMonitor?: PodMonitor;

  public constructor(scope: Construct, id: string, props: DemoAppProps = {}) {
    super(scope, id);
    const latencyMs = (props.latency ?? Duration.millis(0)).toMilliseconds();
    if (!(latencyMs >= 0 && latencyMs <= 60_000)) throw propError(this, 'latency', `${latencyMs}ms`, 'must be from 0 to 60 s');
    const rendered = renderRuntimeDeployment(this, props, {
      container: 'app',
      args: [Commands.DEMO_APP],
      replicas: props.replicas,
      component: 'demo-app',
      env: {
        [Env.DEMO_APP_PORT]: kplus.EnvValue.fromValue(String(DEMO_APP_PORT)),
        [Env.DEMO_APP_LATENCY]: kplus.EnvValue.fromValue(String(latencyMs)),
        [Env.POD_NAME]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      },
    });
    rendered.container.addPort({ name: 'http', number: DEMO_APP_PORT });
    this.deployment = rendered.deployment;
    this.podMonitor = rendered.podMonitor;
    this.service = new kplus.Service(this, 'service', {
      metadata: nameMetadata(props.name),
      selector: this.deployment,
      ports: [
        { name: 'http', port: DEMO_APP_PORT, targetPort: DEMO_APP_PORT },
        { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT },
      ],
    });
  }

  /** The app's base URL inside the cluster: `http://<service>.<namespace>.svc:8080` (the bare name without a namespace). */
  public get url(): string {
    const namespace = Chart.of(this).namespace;
    return `http://${namespace ? `${this.service.name}.${namespace}.svc` : this.service.name}:${DEMO_APP_PORT}`;
  }

  /**
   * PromQL for the requests a second the app's pods answer, summed over the pods (selected by namespace and pod
   * name, as the dashboards select pods): `sum(rate(api_requests_total{...}[window]))`.
   * @param window the rate's range
   */
  public requestRateQuery(window: Duration = Duration.minutes(1)): string {
    const namespace = Chart.of(this).namespace;
    const selector = series(DemoAppMetrics.REQUESTS, { ...(namespace ? { [ExternalLabels.NAMESPACE]: namespace } : {}), [ExternalLabels.POD]: podPattern(this.deployment.name) });
    return `sum(rate(${selector}[${window.toSeconds()}s]))`;
  }
}
