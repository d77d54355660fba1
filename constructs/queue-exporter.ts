import { Duration, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS, Env, METRICS_PORT, QueueCommands } from '../runtime/contract';
import { renderPodMonitor, renderRuntimeDeployment } from './private/runtime-deployment';
import { nameMetadata, propError } from './private/validation';
import { PodMonitorOptions, RuntimeDeploymentProps } from './runtime-deployment-props';
import type { RedisConnection } from './redis-connection';
import { LeasedList } from './triggers';

/** Props of a QueueExporter. */
export interface QueueExporterProps extends RuntimeDeploymentProps {
  /** The lists to export (e.g. RedisQueues), all on one connection. */
  readonly queues: LeasedList[];
  /**
   * Time one scrape waits for Redis before it serves `up` 0; at most 60 s.
   * @default Duration.seconds(2)
   */
  readonly scrapeTimeout?: Duration;
  /**
   * Emit a Prometheus-Operator PodMonitor scraping `/metrics`: `true`, or its options (labels a
   * Prometheus' `podMonitorSelector` matches).
   * @default false
   */
  readonly podMonitor?: boolean | PodMonitorOptions;
}

/**
 * A Deployment of one `redis-keda queue exporter` pod serving, for each list, the depth by state
 * (ready, inflight, delayed, dead) and the age of the ready event consumed next, whether or not any
 * consumer runs (a query over consumers' own metrics cannot scale a fleet up from zero), and a
 * Service in front of it.
 */
export class QueueExporter extends Construct {
  /** The exporter's Deployment (1 replica). */
  public readonly deployment: kplus.Deployment;
  /** The Service on the metrics port. */
  public readonly service: kplus.Service;
  /** The PodMonitor, when asked for. */
  public readonly podMonitor?: PodMonitor;
  /** The names of the exported lists. */
  public readonly listNames: string[];
  /** The connection of the exported lists. */
  public readonly connection: RedisConnection;

  public constructor(scope: Construct, id: string, props: QueueExporterProps) {
    super(scope, id);
    const [first, ...others] = props.queues;
    if (!first) throw propError(this, 'queues', '[]', 'must hold at least one list');
    const stranger = others.find((q) => q.connection !== first.connection);
    if (stranger) {
      throw propError(
        this,
        'queues',
        stranger.listName,
        `must all be on one connection: '${stranger.listName}' is not on the connection of '${first.listName}' (use one QueueExporter per connection)`,
      );
    }
    this.connection = first.connection;
    this.listNames = props.queues.map((q) => q.listName);
    const twice = this.listNames.find((name, i) => this.listNames.indexOf(name) !== i);
    if (twice) throw propError(this, 'queues', twice, 'must name each list once');
    const bad = this.listNames.find((name) => name === '' || name.includes(','));
    if (bad !== undefined) throw propError(this, 'queues', bad, 'must be list names without commas');
    const timeout = props.scrapeTimeout ?? Duration.seconds(DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS);
    const timeoutMs = timeout.toMilliseconds();
    if (!(timeoutMs > 0 && timeoutMs <= 60_000)) throw propError(this, 'scrapeTimeout', `${timeoutMs}ms`, 'must be above 0 and at most 60 s');

    // Without a name, a label value unique to the construct path: the Service and PodMonitor select this pod only.
    const labels = { 'app.kubernetes.io/name': props.name ?? Names.toLabelValue(this), 'app.kubernetes.io/component': 'queue-exporter' };
    this.deployment = renderRuntimeDeployment(this, props, {
      container: 'exporter',
      args: [Commands.QUEUE, QueueCommands.EXPORTER],
      replicas: 1,
      labels,
      env: {
        ...first.connection.envVariables(),
        [Env.EXPORTER_LISTS]: kplus.EnvValue.fromValue(this.listNames.join(',')),
        [Env.EXPORTER_SCRAPE_TIMEOUT]: kplus.EnvValue.fromValue(String(timeoutMs / 1000)),
      },
    }).deployment;
    this.service = new kplus.Service(this, 'service', {
      metadata: nameMetadata(props.name),
      selector: this.deployment,
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT }],
    });
    this.podMonitor = renderPodMonitor(this, props.name, labels, props.podMonitor);
    first.connection.allowFrom(this.deployment);
  }
}
