/**
 * KEDA scaling a fleet 0 -> N -> 0 on a Prometheus query (issue 13), everything real: the pods run
 * on the node agent (loop consumers, the queue exporter), a real Prometheus scrapes the exporter pod
 * (target labels `namespace` and `pod`, as a PodMonitor) and KEDA's operator, and the
 * PrometheusTrigger asks that Prometheus for ready plus in-flight events. The demo's values:
 * threshold 10, polling 5 s, cooldown 30 s, 0..10 replicas. A burst of 50 events asks
 * ceil(50 / 10) = 5 consumers; they drain the queue, each event processed exactly once, and KEDA
 * takes the fleet back to 0 once the cooldown has passed since its last active poll. KEDA's own
 * metrics are read back through Prometheus by the names the dashboards use.
 */
import { randomBytes } from 'crypto';
import { Duration } from 'cdk8s';
import { KedaMetrics, KubeStateMetrics } from '../constructs/private/external-metrics';
import { QueueEvent, queueKeys } from '../runtime/contract';
import { describeOutcomes, evaluateQueries, extractQueries, metricFamilies } from '../test/support/panel-queries';
import { EMPTY_QUEUE, queueState } from '../test/support/queue-state';
import { conditionOf, conditionsAre, eventsOf, hpaCurrentMetrics, SCALED_OBJECT_LABEL, Timeline } from './harness/autoscaling';
import { objectsOf } from './harness/charts';
import { podLogLines } from './harness/demo-cluster';
import { EVENT_DRIVEN, EventDriven, startEventDriven, stopEventDriven } from './harness/event-driven';
import { scenarioSteps } from './harness/steps';
import { waitFor } from './harness/wait';
import { watchObjects } from './harness/watch';

const NS = 'event-driven';
const LIST = 'events';
const KEYS = queueKeys(LIST);
const PASSWORD = randomBytes(16).toString('hex');
const THRESHOLD = 10;
const POLLING_S = 5;
const COOLDOWN_S = 30;
const MAX_REPLICAS = 10;
const CONCURRENCY = 5;
/** Seconds each event's handler takes (the demo handler sleeps `wait`). */
const WAIT_S = 3;
/** ceil(50 / 10) = 5 consumers, reached in two HPA steps (1 -> 4 -> 5, see the step). */
const BURST = 50;
const EXPECTED = Math.min(MAX_REPLICAS, Math.ceil(BURST / THRESHOLD));
const METRIC = 's0-prometheus';
const { worker: NAME, hpa: HPA } = EVENT_DRIVEN;

let setup: Partial<EventDriven> = {};
const cluster = (): EventDriven => {
  if (!setup.objects || !setup.scrape) throw new Error('the setup did not finish (see the beforeAll error)');
  return setup as EventDriven;
};
const step = scenarioSteps(() => setup.plane);

interface State {
  readonly replicas?: number;
  readonly readyReplicas?: number;
  readonly hpaCurrent?: number;
  readonly hpaDesired?: number;
  /** The HPA's own reading of the metric (per pod, AverageValue). */
  readonly hpaReading?: string;
  readonly active?: string;
  readonly lastActive?: string;
  /** The query's value as Prometheus answers it now. */
  readonly backlog?: number;
  readonly ready: number;
  readonly inflight: number;
}

async function readState(): Promise<State> {
  const { api, redis, prometheus, query } = cluster();
  const base = `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`;
  const [deployment, hpa, so, counts, value] = await Promise.all([
    api.find(base),
    api.find(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/${HPA}`),
    api.find(`/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/${NAME}`),
    redis.multi().llen(KEYS.ready).zcard(KEYS.inflight).exec(),
    prometheus.query(query),
  ]);
  const active = conditionOf(so, 'Active');
  const [ready, inflight] = (counts ?? []).map(([error, n]) => (error ? -1 : Number(n)));
  return {
    replicas: deployment?.spec?.replicas,
    readyReplicas: deployment?.status?.readyReplicas ?? 0,
    hpaCurrent: hpa?.status?.currentReplicas,
    hpaDesired: hpa?.status?.desiredReplicas,
    hpaReading: hpaCurrentMetrics(hpa)[METRIC],
    active: active && (active.status === 'True' ? 'True' : `${active.status}:${active.reason}`),
    lastActive: so?.status?.lastActiveTime,
    backlog: value[0] ? Number(value[0].value[1]) : undefined,
    ready,
    inflight,
  };
}

const timeline = new Timeline<State>(readState, 500);

/** Every status the HPA wrote (from a watch): its currentReplicas, desiredReplicas and reading, when they changed. */
const hpaDecisions: { t: number; current: number; desired: number; reading?: string }[] = [];
let hpaWatch: { stop(): Promise<void> } | undefined;

/** A Kubernetes quantity as a number ("50", "8750m"). */
function quantity(text: string): number {
  const match = /^(-?\d+(?:\.\d+)?)(m|k)?$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  return Number(match[1]) * (match[2] === 'm' ? 1e-3 : match[2] === 'k' ? 1e3 : 1);
}

/** The replica history: each change of the Deployment's spec.replicas, with the time on the timeline. */
const replicaChanges = (): [number, number | undefined][] =>
  timeline.samples.filter((s, i, all) => i === 0 || all[i - 1].replicas !== s.replicas).map((s) => [s.t, s.replicas] as [number, number | undefined]);

/** What a failing wait prints: the replica history, the queue, the last readings. */
function diagnostics(): string {
  const last = timeline.samples.slice(-6);
  return JSON.stringify({ replicaChanges: replicaChanges(), hpaDecisions, marks: timeline.marks, lastSamples: last });
}

async function waitWithDiagnostics<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs, intervalMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${diagnostics()}`);
  }
}

const get = (path: string): Promise<any> => cluster().api.get(path);
const scaledObject = (): Promise<any> => get(`/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/${NAME}`);

beforeAll(async () => {
  setup = await startEventDriven(
    PASSWORD,
    {
      namespace: NS,
      list: LIST,
      concurrency: CONCURRENCY,
      threshold: THRESHOLD,
      pollingInterval: Duration.seconds(POLLING_S),
      cooldown: Duration.seconds(COOLDOWN_S),
      minReplicas: 0,
      maxReplicas: MAX_REPLICAS,
    },
    (parts) => (setup = parts),
  );
  timeline.start();
  hpaWatch = await watchObjects<any>(setup.plane!, `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers?fieldSelector=metadata.name%3D${HPA}`, (event) => {
    const status = event.object.status ?? {};
    const decision = { t: timeline.now(), current: status.currentReplicas ?? 0, desired: status.desiredReplicas ?? 0, reading: hpaCurrentMetrics(event.object)[METRIC] };
    const last = hpaDecisions[hpaDecisions.length - 1];
    if (!last || last.current !== decision.current || last.desired !== decision.desired || last.reading !== decision.reading) hpaDecisions.push(decision);
  });
}, 400_000);

afterAll(async () => {
  await timeline.stop();
  await hpaWatch?.stop();
  if (setup.plane && timeline.samples.length > 0) {
    const events = await eventsOf(setup.plane, NS).catch((error: Error) => error.message);
    const extra = {
      predicted: {
        burst: BURST,
        threshold: THRESHOLD,
        maxReplicas: MAX_REPLICAS,
        replicas: `min(${MAX_REPLICAS}, ceil(${BURST} / ${THRESHOLD})) = ${EXPECTED}`,
        cooldownSeconds: COOLDOWN_S,
      },
      replicaChanges: replicaChanges(),
      hpaDecisions,
      events,
    };
    process.stdout.write(timeline.report('keda-prometheus', extra, setup.plane.logDir) + '\n');
  }
  await stopEventDriven(setup);
});

step('the chart: a QueueWorker, a QueueExporter, a ScaledObject on one prometheus trigger counting ready plus in-flight events; no password in it', async () => {
  const { objects, prometheus, query } = cluster();
  expect(query).toBe(`sum(redis_keda_queue_depth{namespace="${NS}", list="${LIST}", state=~"ready|inflight"})`);
  expect(JSON.stringify(objects)).not.toContain(PASSWORD);
  const [so] = objectsOf(objects, 'ScaledObject', NAME);
  expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: MAX_REPLICAS, pollingInterval: POLLING_S, cooldownPeriod: COOLDOWN_S });
  expect((so.spec as any).triggers).toEqual([
    {
      type: 'prometheus',
      name: EVENT_DRIVEN.trigger,
      metadata: { serverAddress: prometheus.url, query, threshold: String(THRESHOLD), activationThreshold: '0' },
    },
  ]);
  expect(
    objectsOf(objects, 'Deployment')
      .map((d) => d.metadata.name)
      .sort(),
  ).toEqual([EVENT_DRIVEN.exporter, NAME]);
  expect(objectsOf(objects, 'TriggerAuthentication')).toEqual([]);
});

step('Prometheus scrapes the exporter pod with target labels namespace and pod; the query reads 0; the ScaledObject is Ready, not Active, its Deployment at 0', async () => {
  const { prometheus, query } = cluster();
  const depth = await prometheus.query(`redis_keda_queue_depth{namespace="${NS}"}`);
  const exporterPod = depth[0]?.metric.pod ?? '';
  expect(exporterPod).toMatch(new RegExp(`^${EVENT_DRIVEN.exporter}-[a-z0-9]+-[a-z0-9]+$`));
  expect(depth.map((s) => [s.metric.namespace, s.metric.pod, s.metric.list, s.metric.state, s.value[1]]).sort()).toEqual(
    ['dead', 'delayed', 'inflight', 'ready'].map((state) => [NS, exporterPod, LIST, state, '0']),
  );
  expect((await prometheus.query(query)).map((s) => s.value[1])).toEqual(['0']);

  const so = await waitWithDiagnostics(`ScaledObject ${NAME} Ready and not Active`, conditionsAre(scaledObject, { Ready: 'True', Active: 'False' }), 60_000);
  expect(so.status.externalMetricNames).toEqual([METRIC]);
  expect(so.status.hpaName).toBe(HPA);
  const hpa = await get(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/${HPA}`);
  expect({ min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas, metrics: hpa.spec.metrics }).toEqual({
    min: 1,
    max: MAX_REPLICAS,
    metrics: [
      {
        type: 'External',
        external: { metric: { name: METRIC, selector: { matchLabels: { [SCALED_OBJECT_LABEL]: NAME } } }, target: { type: 'AverageValue', averageValue: String(THRESHOLD) } },
      },
    ],
  });
  // The Deployment starts with the API's default of 1 pod (no `replicas` in its YAML); KEDA takes it to 0.
  await waitWithDiagnostics(
    `Deployment ${NAME} at 0 with no pods`,
    async () => {
      const deployment = await get(`/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`);
      const pods = await get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${NAME}`)}`);
      return deployment.spec.replicas === 0 && pods.items.length === 0 ? true : undefined;
    },
    60_000,
  );
});

step(`0 -> ${EXPECTED}: ${BURST} events; KEDA activates the Deployment on the trigger, the HPA reads ${BURST} and asks ceil(${BURST} / ${THRESHOLD}) = ${EXPECTED}`, async () => {
  const { redis, prometheus, query } = cluster();
  const now = Date.now();
  const events: QueueEvent[] = Array.from({ length: BURST }, (_, i) => ({ id: `e${i + 1}`, enqueuedAt: now, wait: WAIT_S }));
  const pushed = timeline.mark(`LPUSH ${BURST} events`);
  await redis.lpush(LIST, ...events.map((e) => JSON.stringify(e)));
  await waitWithDiagnostics(`the query reading ${BURST}`, async () => ((await prometheus.query(query))[0]?.value[1] === String(BURST) ? true : undefined), 20_000, 200);
  timeline.mark(`Prometheus reads ${BURST}`);

  await waitWithDiagnostics(
    `Deployment ${NAME} activated`,
    async () => ((await get(`/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`)).spec.replicas > 0 ? true : undefined),
    (POLLING_S + 10) * 1000,
    100,
  );
  const activated = timeline.mark('Deployment activated');
  // KEDA polls every 5 s; Prometheus scrapes every second.
  expect(activated - pushed).toBeLessThanOrEqual((POLLING_S + 3) * 1000);
  const activation = (await eventsOf(cluster().plane, NS)).filter((e) => e.reason === 'KEDAScaleTargetActivated');
  expect(activation.map((e) => [e.kind, e.name, e.message])).toEqual([['ScaledObject', NAME, `Scaled apps/v1.Deployment ${NS}/${NAME} from 0 to 1, triggered by ${METRIC}`]]);

  await waitWithDiagnostics(
    `Deployment ${NAME} at ${EXPECTED}`,
    async () => ((await get(`/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`)).spec.replicas === EXPECTED ? true : undefined),
    30_000,
    100,
  );
  timeline.mark(`Deployment at ${EXPECTED}`);
  // The HPA's decisions (every status it wrote, from a watch). KEDA's HPA has no `behavior`, so each sync may
  // go up to max(2 x current, 4) (the controller's legacy scale-up limit); the recommendation is
  // ceil(value / threshold) for the whole value, BURST until the first events are acknowledged.
  const predicted: [number, number][] = [];
  for (let current = 1; current < EXPECTED;) {
    const desired = Math.min(MAX_REPLICAS, Math.ceil(BURST / THRESHOLD), Math.max(2 * current, 4));
    predicted.push([current, desired]);
    current = desired;
  }
  expect(predicted).toEqual([
    [1, 4],
    [4, 5],
  ]);
  // The HPA writes the scale before its status.
  await waitWithDiagnostics('the HPA status of its decision', async () => (hpaDecisions.some((d) => d.desired === EXPECTED) ? true : undefined), 10_000);
  const ups = hpaDecisions.filter((d) => d.desired > d.current);
  expect(ups.map((d) => [d.current, d.desired])).toEqual(predicted);
  const rescales = (await eventsOf(cluster().plane, NS)).filter((e) => e.kind === 'HorizontalPodAutoscaler' && e.reason === 'SuccessfulRescale');
  expect(rescales.map((e) => /^New size: (\d+); reason: external metric s0-prometheus\(.*\) above target$/.exec(e.message)?.[1])).toEqual(predicted.map(([, n]) => String(n)));
  // The value all along those decisions, as Prometheus answered the query.
  const readAt = timeline.marks.find((m) => m.mark === `Prometheus reads ${BURST}`)!.t;
  const during = timeline.between(readAt, ups[ups.length - 1].t);
  expect(during.length).toBeGreaterThan(0);
  expect([...new Set(during.map((s) => s.backlog))]).toEqual([BURST]);
  // Its reading of the last one, per pod: the value over the pods that existed then.
  const last = ups[ups.length - 1];
  expect(last.reading !== undefined && quantity(last.reading) * last.current).toBeGreaterThanOrEqual(BURST);
});

step(`the ${EXPECTED} consumers drain the queue: every event processed exactly once, none lost, nothing left leased`, async () => {
  const { redis, plane } = cluster();
  await waitWithDiagnostics(
    'ready and in-flight empty',
    async () => {
      const [ready, inflight, delayed] = await Promise.all([redis.llen(KEYS.ready), redis.zcard(KEYS.inflight), redis.zcard(KEYS.delayed)]);
      return ready + inflight + delayed === 0 ? true : undefined;
    },
    120_000,
    200,
  );
  timeline.mark('queue empty');
  expect(await queueState(redis, LIST)).toEqual(EMPTY_QUEUE);
  const processed = await waitWithDiagnostics(
    `${BURST} "event processed" log lines`,
    async () => {
      const counts = new Map<string, number>();
      for (const lines of podLogLines(plane, NS, `${NAME}-`).values()) {
        for (const line of lines) if (line.msg === 'event processed') counts.set(line.eventId, (counts.get(line.eventId) ?? 0) + 1);
      }
      return counts.size === BURST ? counts : undefined;
    },
    10_000,
  );
  expect([...processed.keys()].sort()).toEqual(Array.from({ length: BURST }, (_, i) => `e${i + 1}`).sort());
  expect([...processed.values()].every((n) => n === 1)).toBe(true);
  // The scaler saw the in-flight events too: while the list was drained into leases, the query never dropped to the list alone.
  const draining = timeline.samples.filter((s) => s.inflight > 0 && s.backlog !== undefined);
  expect(draining.length).toBeGreaterThan(0);
});

step(`${EXPECTED} -> 0: KEDA deactivates the Deployment once ${COOLDOWN_S} s (cooldown) passed since its last active poll, not before`, async () => {
  await waitWithDiagnostics(
    `Deployment ${NAME} at 0`,
    async () => ((await get(`/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`)).spec.replicas === 0 ? true : undefined),
    (COOLDOWN_S + POLLING_S + 30) * 1000,
    250,
  );
  const zeroAt = timeline.mark('Deployment at 0');
  const so = await scaledObject();
  const lastActive = Date.parse(so.status.lastActiveTime) - timeline.origin;
  // Every reading that ended before lastActiveTime (truncated to the second) + cooldown shows a replica.
  const cooling = timeline.between(0, lastActive + COOLDOWN_S * 1000).filter((s) => s.t >= (timeline.marks.find((m) => m.mark === 'Deployment activated')?.t ?? 0));
  expect(cooling.filter((s) => (s.replicas ?? 0) < 1)).toEqual([]);
  expect(zeroAt - lastActive).toBeGreaterThanOrEqual(COOLDOWN_S * 1000 - 1000);
  // At most a poll (plus the truncation to the second and a loaded machine's delay) after the cooldown ended.
  expect(zeroAt - (lastActive + COOLDOWN_S * 1000)).toBeLessThanOrEqual((POLLING_S + 3) * 1000);
  // Twice: the Deployment's first pod at the start, and now from the HPA's minimum (its scale-down stabilization
  // is 10 s, far less than the cooldown).
  const deactivated = (await eventsOf(cluster().plane, NS)).filter((e) => e.reason === 'KEDAScaleTargetDeactivated');
  expect({ messages: [...new Set(deactivated.map((e) => e.message))], count: deactivated.reduce((n, e) => n + e.count, 0) }).toEqual({
    messages: [`Deactivated apps/v1.Deployment ${NS}/${NAME} from 1 to 0`],
    count: 2,
  });
  await waitWithDiagnostics(
    'no worker pods left',
    async () => ((await get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${NAME}`)}`)).items.length === 0 ? true : undefined),
    60_000,
  );
  // The whole history after the burst: 0, 1 (KEDA), EXPECTED (the HPA) at most, then down to 0.
  const pushedAt = timeline.marks.find((m) => m.mark.startsWith('LPUSH'))!.t;
  const history = [...timeline.samples.filter((s) => s.t >= pushedAt).map((s) => s.replicas ?? 0), 0].filter((n, i, all) => i === 0 || all[i - 1] !== n);
  const peak = history.indexOf(EXPECTED);
  // Up to EXPECTED (KEDA's 1, the HPA's steps), then only down: 0 -> N -> 0.
  expect({
    history,
    rising: history.slice(0, peak + 1).every((n, i, all) => i === 0 || n > all[i - 1]),
    falling: history.slice(peak).every((n, i, all) => i === 0 || n < all[i - 1]),
  }).toEqual({
    history,
    rising: true,
    falling: true,
  });
  expect([history[0], Math.max(...history), history[history.length - 1]]).toEqual([0, EXPECTED, 0]);
});

step("KEDA's operator metrics, scraped by Prometheus: every KedaMetrics name with the labels dashboards select on", async () => {
  const { prometheus } = cluster();
  const job = 'job="keda-operator"';
  const of = async (name: string) => prometheus.query(`${name}{${job}, namespace="${NS}", scaledObject="${NAME}"}`);
  const labelsOf = (samples: { metric: Record<string, string> }[]) =>
    samples.map((s) =>
      Object.keys(s.metric)
        .filter((k) => !['__name__', 'job', 'instance'].includes(k))
        .sort(),
    );
  const scalerLabels = ['metric', 'namespace', 'scaledObject', 'scaler', 'triggerIndex', 'type'];
  for (const name of [KedaMetrics.SCALER_ACTIVE, KedaMetrics.SCALER_METRICS_VALUE, KedaMetrics.SCALER_METRICS_LATENCY_SECONDS, KedaMetrics.SCALER_DETAIL_ERRORS]) {
    const samples = await of(name);
    expect({ name, labels: labelsOf(samples) }).toEqual({ name, labels: [scalerLabels] });
    expect({ name, metric: samples[0].metric.metric, triggerIndex: samples[0].metric.triggerIndex, type: samples[0].metric.type }).toEqual({
      name,
      metric: METRIC,
      triggerIndex: '0',
      type: 'scaledobject',
    });
  }
  for (const name of [KedaMetrics.SCALED_OBJECT_ERRORS, KedaMetrics.SCALED_OBJECT_PAUSED]) {
    expect({ name, labels: labelsOf(await of(name)) }).toEqual({ name, labels: [['namespace', 'scaledObject']] });
  }
  const scaler = (await of(KedaMetrics.SCALER_ACTIVE))[0].metric.scaler;
  process.stdout.write(`${JSON.stringify({ kedaScalerLabel: scaler })}\n`);
  const window = `${Math.ceil(timeline.now() / 1000) + 5}s`;
  // The value KEDA read from Prometheus: the whole burst before any consumer ran, 0 again at the end.
  const value = `${KedaMetrics.SCALER_METRICS_VALUE}{${job}, namespace="${NS}", scaledObject="${NAME}"}`;
  expect((await prometheus.query(`max_over_time(${value}[${window}])`)).map((s) => s.value[1])).toEqual([String(BURST)]);
  expect((await prometheus.query(value)).map((s) => s.value[1])).toEqual(['0']);
  const active = `${KedaMetrics.SCALER_ACTIVE}{${job}, namespace="${NS}", scaledObject="${NAME}"}`;
  expect((await prometheus.query(`max_over_time(${active}[${window}])`)).map((s) => s.value[1])).toEqual(['1']);
  expect((await prometheus.query(active)).map((s) => s.value[1])).toEqual(['0']);
  expect((await of(KedaMetrics.SCALER_DETAIL_ERRORS)).map((s) => s.value[1])).toEqual(['0']);
  expect((await of(KedaMetrics.SCALED_OBJECT_PAUSED)).map((s) => s.value[1])).toEqual(['0']);
  // Scraped with a PodMonitor's target label `namespace` (no honorLabels), KEDA's own `namespace` is renamed.
  const relabelled = await prometheus.query(`${KedaMetrics.SCALER_ACTIVE}{job="keda-operator-podmonitor", scaledObject="${NAME}"}`);
  expect(relabelled.map((s) => [s.metric.namespace, s.metric.exported_namespace])).toEqual([['keda', NS]]);
});

step("the fleet dashboard's queries over KEDA's series return data from the live operator; kube-state-metrics' are listed", async () => {
  const { prometheus, objects } = cluster();
  const queries = extractQueries(objects);
  expect(queries.length).toBeGreaterThan(0);
  const report = await evaluateQueries(prometheus, queries, { variables: { namespace: NS } });
  expect(describeOutcomes([...report.parseErrors, ...report.errors])).toBe('');
  const keda = new Set<string>(Object.values(KedaMetrics));
  const ksm = new Set<string>(Object.values(KubeStateMetrics));
  const families = (o: (typeof report.outcomes)[number]) => metricFamilies(o, keda);
  const overKeda = report.outcomes.filter((o) => families(o).some((f) => keda.has(f)) && !families(o).some((f) => ksm.has(f)));
  // The dashboard has KEDA panels (value, active, errors), and each returns series from the operator's /metrics.
  expect(overKeda.length).toBeGreaterThanOrEqual(3);
  expect(describeOutcomes(overKeda.filter((o) => o.samples === 0 || o.selectors.some((sel) => keda.has(sel.metric) && sel.series === 0)))).toBe('');
  const overKsm = report.outcomes.filter((o) => families(o).some((f) => ksm.has(f)));
  process.stdout.write(`${JSON.stringify({ kedaPanelQueries: overKeda.length, kubeStateMetricsQueriesNotEvaluated: overKsm.map((o) => o.query.source) })}\n`);
});
