import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { PodMonitor } from '../imports/monitoring.coreos.com';
import { Commands, DEFAULT_EXPORTER_SCRAPE_TIMEOUT_SECONDS, Env, METRICS_PORT, MetricLabels, Metrics, QueueCommands } from '../runtime/contract';
import { series } from './private/promql';
import { renderRuntimeDeployment } from './private/runtime-deployment';
import { nameMetadata, propError } from './private/validation';
import type { RedisConnection } from './redis-connection';
import { RuntimeDeploymentProps } from './runtime-deployment-props';
import { LeasedList, PrometheusTrigger, PrometheusTriggerProps } from './triggers';

/** Props of a QueueExporter. */
export interface QueueExporterProps extends RuntimeDeploymentProps {
  /** The lists to export (e.g. RedisQueues), all on one connection. */
  readonly queues: LeasedList[];
  /**
   * Time one scrape waits for Redis before it serves `up` 0; at most 60 s.
   * @default Duration.seconds(2)
   */
  readonly scrapeTimeout?: Duration;
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

    const rendered = renderRuntimeDeployment(this, props, {
      container: 'exporter',
      args: [Commands.QUEUE, QueueCommands.EXPORTER],
      replicas: 1,
      component: 'queue-exporter',
      env: {
        ...first.connection.envVariables(),
        [Env.EXPORTER_LISTS]: kplus.EnvValue.fromValue(this.listNames.join(',')),
        [Env.EXPORTER_SCRAPE_TIMEOUT]: kplus.EnvValue.fromValue(String(timeoutMs / 1000)),
      },
    });
    this.deployment = rendered.deployment;
    this.podMonitor = rendered.podMonitor;
    this.service = new kplus.Service(this, 'service', {
      metadata: nameMetadata(props.name),
      selector: this.deployment,
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT }],
    });
    first.connection.allowFrom(this.deployment);
  }

  /**
   * PromQL for the events waiting or in flight on one exported list, from this exporter's series (they exist at
   * zero consumers, so a trigger on it scales up from zero). Selected by the pod's namespace when the chart has one.
   * @param listName one of `listNames`; the first list by default
   */
  public pendingQuery(listName: string = this.listNames[0]): string {
    if (!this.listNames.includes(listName)) throw propError(this, 'pendingQuery', listName, `must be one of the exported lists: ${this.listNames.join(', ')}`);
    const namespace = Chart.of(this).namespace;
    const selector = series(Metrics.QUEUE_DEPTH, {
      ...(namespace ? { namespace } : {}),
      [MetricLabels.LIST]: listName,
      [MetricLabels.STATE]: { regex: 'ready|inflight' },
    });
    return `sum(${selector})`;
  }

  /**
   * A KEDA `prometheus` trigger on {@link pendingQuery}: one replica per `threshold` events waiting or in flight.
   * Create it in the chart of the ScaledObject (its TriggerAuthentication, if any, must be in that namespace).
   * @param scope where the trigger goes (and its TriggerAuthentication, with credentials)
   * @param id the construct id
   * @param props everything of a PrometheusTrigger but the query; `listName` picks the list (the first by default)
   */
  public pendingTrigger(scope: Construct, id: string, props: Omit<PrometheusTriggerProps, 'query'> & { readonly listName?: string }): PrometheusTrigger {
    const { listName, ...trigger } = props;
    return new PrometheusTrigger(scope, id, { ...trigger, query: this.pendingQuery(listName) });
  }
}
