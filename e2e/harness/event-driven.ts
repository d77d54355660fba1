/**
 * The event-driven setup of issue 13 on a live control plane: a demo cluster (a NodeAgent running
 * the pods, KEDA, a redis-server with a password), a real Prometheus on loopback, and a chart made
 * with the public constructs: a QueueWorker of loop consumers, a QueueExporter, and a
 * KedaScaledObject whose PrometheusTrigger asks that Prometheus for the ready plus in-flight
 * events the exporter serves. Prometheus scrapes what a PodMonitor would: every pod of the
 * namespace the agent runs with a `metrics` port (target labels `namespace` and `pod`, kept in sync
 * with a watch of the pods), plus KEDA's operator and any target the caller adds.
 */
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Dashboards, KedaScaledObject, LeasedList, QueueExporter, QueueWorker } from '../../constructs';
import { Env } from '../../runtime/contract';
import { PrometheusServer, ScrapeTarget, startPrometheus } from '../../test/support/prometheus-server';
import { applyObjects, ChartObject, loopbackRedis, synthApp } from './charts';
import { DemoCluster, startDemoCluster, stopDemoCluster } from './demo-cluster';
import type { NodeAgent } from './node-agent';
import type { ApiClient } from './node-agent/api';
import { adminApi, watchObjects } from './watch';
import { waitFor } from './wait';

/** Names of the chart's objects. */
export const EVENT_DRIVEN = {
  worker: 'worker',
  exporter: 'queue-exporter',
  /** The ScaledObject (named as its Deployment) and the HPA KEDA makes for it. */
  scaledObject: 'worker',
  hpa: 'keda-hpa-worker',
  /** The PrometheusTrigger's name. */
  trigger: 'backlog',
} as const;

/** The target labels a PodMonitor scrape attaches (constructs/private/promql.ts selects on them). */
const NAMESPACE_LABEL = 'namespace';
const POD_LABEL = 'pod';

export interface EventDrivenOptions {
  readonly namespace: string;
  /** @default 'events' */
  readonly list?: string;
  /** Events each consumer pod handles at once. */
  readonly concurrency: number;
  /** The trigger's threshold (AverageValue: events per replica). */
  readonly threshold: number;
  readonly pollingInterval: Duration;
  readonly cooldown: Duration;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** The consumers' SLEEP_SCALE: the demo handler sleeps `wait` times this many seconds. @default 1 */
  readonly sleepScale?: number;
  /** A stopping consumer's grace. @default - the QueueWorker's default */
  readonly grace?: Duration;
}

export interface EventDriven extends DemoCluster {
  readonly prometheus: PrometheusServer;
  readonly list: string;
  /** The query the trigger sends. */
  readonly query: string;
  /** The synth output that was applied. */
  readonly objects: readonly ChartObject[];
  readonly scrape: PodScrape;
  /** An API client as the cluster admin, for cheap reads while the test runs. */
  readonly api: ApiClient;
}

/**
 * Starts everything and applies the chart; resolves once Prometheus has scraped the exporter pod and
 * KEDA's operator. What started is handed to `started` at once, so afterAll can stop it when a later
 * step fails.
 */
export async function startEventDriven(password: string, options: EventDrivenOptions, started: (parts: Partial<EventDriven>) => void): Promise<EventDriven> {
  const { namespace } = options;
  const list = options.list ?? 'events';
  const prometheus = await startPrometheus({ targets: [] });
  let parts: Partial<EventDriven> = { prometheus };
  started(parts);
  const demo = await startDemoCluster(namespace, password, (p) => started((parts = { ...parts, ...p })));
  const api = adminApi(demo.plane);
  parts = { ...parts, api };
  started(parts);
  let query = '';
  const objects = synthApp(demo.plane, (app) => {
    const chart = new Chart(app, 'event-driven', { namespace });
    const queue: LeasedList = { connection: loopbackRedis(chart, demo.server.port, { name: 'redis' }), listName: list };
    const worker = new QueueWorker(chart, 'worker', {
      name: EVENT_DRIVEN.worker,
      queue,
      concurrency: options.concurrency,
      grace: options.grace,
      // Debug: each claim is logged, which the tests count beside the processed events.
      envVariables: { [Env.LOG_LEVEL]: kplus.EnvValue.fromValue('debug'), [Env.SLEEP_SCALE]: kplus.EnvValue.fromValue(String(options.sleepScale ?? 1)) },
    });
    const exporter = new QueueExporter(chart, 'exporter', { name: EVENT_DRIVEN.exporter, queues: [queue] });
    // The event-driven chart's trigger: ready plus in-flight events of the list, as the exporter serves them.
    // KEDA runs on the host: the Prometheus URL on 127.0.0.1 is what it can reach.
    const trigger = exporter.pendingTrigger(chart, 'backlog', { name: EVENT_DRIVEN.trigger, serverAddress: prometheus.url, threshold: options.threshold });
    query = trigger.query;
    const scaler = new KedaScaledObject(chart, 'worker-scaler', {
      name: EVENT_DRIVEN.scaledObject,
      target: worker.deployment,
      triggers: [trigger],
      minReplicas: options.minReplicas,
      maxReplicas: options.maxReplicas,
      pollingInterval: options.pollingInterval,
      cooldown: options.cooldown,
    });
    // The fleet's dashboard, as the event-driven chart ships it: its KEDA panels are evaluated against the live operator.
    new Dashboards(chart, 'dashboards').addQueueFleet(worker, { scaler, exporter });
  });
  parts = { ...parts, objects, list, query };
  started(parts);

  const keda: ScrapeTarget[] = [
    // As KEDA's own Service scrape would see it: no target labels of ours, so its `namespace` label is the ScaledObject's.
    { job: 'keda-operator', address: `127.0.0.1:${demo.keda.ports.operatorMetrics}` },
    // As a PodMonitor in namespace keda would: the target label `namespace` wins, KEDA's becomes `exported_namespace`.
    { job: 'keda-operator-podmonitor', address: `127.0.0.1:${demo.keda.ports.operatorMetrics}`, labels: { [NAMESPACE_LABEL]: 'keda', [POD_LABEL]: 'keda-operator' } },
  ];
  const scrape = await PodScrape.start(demo, prometheus, namespace, keda);
  parts = { ...parts, scrape };
  started(parts);
  await applyObjects(demo.plane, objects);
  await waitFor(
    'Prometheus scraping the exporter pod and the KEDA operator',
    async () => {
      const targets = await prometheus.targets();
      const up = (job: string) => targets.some((t) => t.job === job && t.health === 'up');
      if (up(`${namespace}/${EVENT_DRIVEN.exporter}`) && up('keda-operator') && up('keda-operator-podmonitor')) return true;
      throw new Error(`targets: ${JSON.stringify(targets)}`);
    },
    90_000,
    500,
  );
  return { ...demo, prometheus, list, query, objects, scrape, api };
}

export async function stopEventDriven(parts: Partial<EventDriven>): Promise<void> {
  await parts.scrape?.stop();
  parts.api?.close();
  await stopDemoCluster(parts);
  await parts.prometheus?.stop();
}

/**
 * Prometheus' targets kept as a PodMonitor would keep them: each pod of `namespace` the agent runs
 * whose container declares a port named `metrics`, at the loopback port the agent gave it, job
 * `<namespace>/<app.kubernetes.io/name>`, target labels `namespace` and `pod`; plus fixed targets.
 */
export class PodScrape {
  private readonly pods = new Map<string, any>();
  private extra: readonly ScrapeTarget[] = [];
  private current = '[]';
  private chain: Promise<void> = Promise.resolve();
  private watch?: { stop(): Promise<void> };
  /** The agent starts a container after the pod's watch event: look again each second. */
  private readonly timer: NodeJS.Timeout;

  /** Starts keeping the targets, once the namespace's pods are listed. */
  static async start(
    demo: { readonly plane: DemoCluster['plane']; readonly agent: NodeAgent },
    prometheus: PrometheusServer,
    namespace: string,
    fixed: readonly ScrapeTarget[],
  ): Promise<PodScrape> {
    const scrape = new PodScrape(demo, prometheus, namespace, fixed);
    try {
      scrape.watch = await watchObjects<any>(demo.plane, `/api/v1/namespaces/${namespace}/pods`, (event) => {
        if (event.type === 'DELETED') scrape.pods.delete(event.object.metadata.uid);
        else scrape.pods.set(event.object.metadata.uid, event.object);
        void scrape.sync();
      });
    } catch (error) {
      await scrape.stop();
      throw error;
    }
    return scrape;
  }

  private constructor(
    private readonly demo: { readonly plane: DemoCluster['plane']; readonly agent: NodeAgent },
    private readonly prometheus: PrometheusServer,
    private readonly namespace: string,
    private readonly fixed: readonly ScrapeTarget[],
  ) {
    this.timer = setInterval(() => void this.sync(), 1000);
  }

  /** Adds targets outside the cluster (e.g. a publisher on the host). */
  addTargets(targets: readonly ScrapeTarget[]): Promise<void> {
    this.extra = [...this.extra, ...targets];
    return this.sync();
  }

  /** The targets as they are now. */
  targets(): ScrapeTarget[] {
    const pods: ScrapeTarget[] = [];
    for (const pod of this.pods.values()) {
      const agentPod = this.demo.agent.pod(this.namespace, pod.metadata.name);
      for (const container of pod.spec.containers as any[]) {
        const port = (container.ports ?? []).find((p: any) => p.name === 'metrics')?.containerPort ?? undefined;
        const hostPort = port === undefined ? undefined : agentPod?.launches[container.name]?.ports[port];
        if (hostPort === undefined) continue;
        const app = pod.metadata.labels?.['app.kubernetes.io/name'] ?? pod.metadata.name;
        pods.push({ job: `${this.namespace}/${app}`, address: `127.0.0.1:${hostPort}`, labels: { [NAMESPACE_LABEL]: this.namespace, [POD_LABEL]: pod.metadata.name } });
      }
    }
    pods.sort((a, b) => a.address.localeCompare(b.address));
    return [...this.fixed, ...this.extra, ...pods];
  }

  /** Reconfigures Prometheus when the targets changed (one reload at a time). */
  sync(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const targets = this.targets();
      const text = JSON.stringify(targets);
      if (text === this.current) return;
      this.current = text;
      await this.prometheus.reconfigure({ targets }).catch(() => (this.current = '[]'));
    });
    return this.chain;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.watch?.stop();
    await this.chain;
  }
}
