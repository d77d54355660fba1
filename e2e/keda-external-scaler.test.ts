/**
 * Predictive scaling through KEDA's external scaler on the live control plane: `redis-keda scaler` (the CLI as a
 * child process on the host, its gRPC port on loopback) answers KEDA's operator and metrics adapter from the
 * forecast the test writes into a real redis-server; a chart made with the public constructs (a Deployment and a
 * KedaScaledObject with an `external` trigger, fallback set) is applied; the HPA follows the forecast ahead of a
 * load step, and KEDA's fallback takes over when the forecast is stale or Redis is gone. KWOK runs the pods (they
 * run no program: the HPA's replica count is what is measured). A timeline is printed as one JSON line.
 */
import { randomBytes } from 'crypto';
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { CustomTrigger, KedaScaledObject, ScalingPolicyType } from '../constructs';
import { restrictedContainer, restrictedPod, patchPodSpec } from '../constructs/private/pod-defaults';
import {
  Commands,
  DEFAULT_RUNTIME_IMAGE,
  durationMetadata,
  Env,
  forecastKey,
  forecastMetricName,
  METRICS_PATH,
  ScalerErrorReasons,
  ScalerMetadata,
  ScalerMetrics,
} from '../runtime/contract';
import { RunningProcess, startCli } from '../test/support/cli';
import { forecastRecord, RecordParts } from '../test/support/forecast-records';
import { freePort, RedisServer, startRedis } from '../test/support/redis-server';
import { conditionOf, conditionsAre, counterDelta, counterSamples, eventsOf, externalMetric, hpaCurrentMetrics, SCALED_OBJECT_LABEL, Timeline } from './harness/autoscaling';
import { applyObjects, ChartObject, objectsOf, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { Keda } from './harness/keda';
import { scenarioSteps } from './harness/steps';
import { httpGet, waitFor } from './harness/wait';
import { watchObjects } from './harness/watch';

const NS = 'e2e-forecast';
const NAME = 'api';
const WORKLOAD = 'api';
const HPA = `keda-hpa-${NAME}`;
/** KEDA's name for the trigger's metric: `s<trigger index>-` before what GetMetricSpec returned. */
const METRIC = `s0-${forecastMetricName(WORKLOAD)}`;
const PASSWORD = randomBytes(16).toString('hex');
const POLLING_S = 1;
const MAX_REPLICAS = 10;
/** The workload's lead time, in the trigger's metadata and the forecast record alike. */
const LEAD_S = 30;
/** A forecast older than this is refused (the trigger's staleAfter). */
const STALE_S = 60;
/** The forecast's resolution and its points: 300 s ahead, well past any lead-time window of the run. */
const STEP_S = 10;
const POINTS = 31;
/** The load step: desiredReplicas goes from BEFORE to AFTER this long after the forecast was made. */
const STEP_AT_S = 60;
const BEFORE = 2;
const AFTER = 6;
const FALLBACK = { failureThreshold: 3, replicas: 4 } as const;
/** The fresh forecast of the last step, before Redis goes. */
const RECOVERED = 8;

let plane: ControlPlane | undefined;
let redis: RedisServer | undefined;
let client: Redis | undefined;
let scaler: RunningProcess | undefined;
let scalerMetricsPort = 0;
let objects: ChartObject[] = [];
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const step = scenarioSteps(() => plane);

/** Writes the workload's forecast as the forecaster would (every field, the TTL), made `ageSeconds` ago. */
async function writeForecast(parts: Omit<RecordParts, 'step' | 'leadTime'>): Promise<number> {
  const record = forecastRecord(WORKLOAD, { ...parts, step: STEP_S, leadTime: LEAD_S });
  await client!.set(forecastKey(WORKLOAD), JSON.stringify(record), 'EX', 600);
  return Date.parse(record.generatedAt);
}
const flat = (n: number): number[] => Array.from({ length: POINTS }, () => n);

/** What one reading of the timeline holds. */
interface State {
  readonly replicas?: number;
  readonly hpaDesired?: number;
  /** The HPA's reading of the metric (per pod: AverageValue). */
  readonly reading?: string;
  /** The ScaledObject's Active and Fallback conditions: `True`, or `False:<reason>`. */
  readonly active?: string;
  readonly fallback?: string;
  /** status.health of the metric: `<status>:<numberOfFailures>`. */
  readonly health?: string;
}

const short = (c: { status: string; reason?: string } | undefined) => c && (c.status === 'True' ? 'True' : `${c.status}:${c.reason}`);

async function readState(): Promise<State> {
  const got = await cluster().kubectl.run(['get', `deployment/${NAME}`, `hpa/${HPA}`, `scaledobject.keda.sh/${NAME}`, '-n', NS, '-o', 'json']);
  const items: any[] = got.stdout.trim() ? (JSON.parse(got.stdout).items ?? []) : [];
  const of = (kind: string) => items.find((i) => i.kind === kind);
  const [deployment, hpa, so] = [of('Deployment'), of('HorizontalPodAutoscaler'), of('ScaledObject')];
  const health = so?.status?.health?.[METRIC];
  return {
    replicas: deployment?.spec?.replicas,
    hpaDesired: hpa?.status?.desiredReplicas,
    reading: hpaCurrentMetrics(hpa)[METRIC],
    active: short(conditionOf(so, 'Active')),
    fallback: short(conditionOf(so, 'Fallback')),
    health: health && `${health.status}:${health.numberOfFailures}`,
  };
}

const timeline = new Timeline<State>(readState, 500);

/** Every status the HPA wrote (a watch), at wall-clock ms, when its current or desired replicas or reading changed. */
const hpaDecisions: { at: number; current: number; desired: number; reading?: string }[] = [];
let hpaWatch: { stop(): Promise<void> } | undefined;

const get = (resource: string): Promise<any> => cluster().kubectl.getJson([resource, '-n', NS]);

/** The scaler's own counters: calls by `code,method`, errors by `method,reason` (only the non-zero ones). */
async function scalerCounters(): Promise<{ calls: Record<string, number>; errors: Record<string, number> }> {
  const { status, body } = await httpGet(`http://127.0.0.1:${scalerMetricsPort}${METRICS_PATH}`);
  if (status !== 200) throw new Error(`the scaler's ${METRICS_PATH} answered ${status}`);
  const nonZero = (samples: Record<string, number>) => Object.fromEntries(Object.entries(samples).filter(([, v]) => v !== 0));
  return { calls: nonZero(counterSamples(body, ScalerMetrics.CALLS)), errors: nonZero(counterSamples(body, ScalerMetrics.ERRORS)) };
}

/**
 * Checks that every error since `before` was `reason`, on GetMetrics, and returns that count. KEDA's poll is GetMetrics
 * then IsActive, and a failed GetMetrics ends it; but a poll whose GetMetrics was answered just before the change can
 * reach IsActive after it, once for each caller (the operator's scale loop and the metrics service), as one CI run saw.
 */
function errorsWereAll(reason: string, errors: Record<string, number>): number {
  const onGetMetrics = `method=GetMetrics,reason=${reason}`;
  const onIsActive = `method=IsActive,reason=${reason}`;
  expect(Object.keys(errors).filter((k) => k !== onIsActive)).toEqual([onGetMetrics]);
  expect(errors[onIsActive] ?? 0).toBeLessThanOrEqual(2);
  return errors[onGetMetrics];
}

/** Waits until the Deployment's replicas and the HPA's desired replicas are both `n`; returns the wall clock then. */
async function replicasReach(n: number, timeoutMs: number): Promise<number> {
  await waitFor(
    `Deployment ${NAME} and HPA ${HPA} at ${n} replicas`,
    async () => {
      const s = await readState();
      if (s.replicas === n && s.hpaDesired === n) return true;
      throw new Error(`replicas ${s.replicas}, HPA desired ${s.hpaDesired}; ${JSON.stringify(s)}`);
    },
    timeoutMs,
    200,
  );
  return Date.now();
}

const scaledObject = (): Promise<any> => get(`scaledobject.keda.sh/${NAME}`);

/** Waits until the ScaledObject's conditions have the statuses in `want` (read every 200 ms); returns it. */
const scaledObjectIs = (want: Record<string, 'True' | 'False'>, timeoutMs: number): Promise<any> =>
  waitFor(`ScaledObject ${NAME} ${JSON.stringify(want)}`, conditionsAre(scaledObject, want), timeoutMs, 200);

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  client = new Redis(redis.port, '127.0.0.1', { password: PASSWORD, protocol: 2, maxRetriesPerRequest: 1 });
  // The forecast exists before KEDA first asks: without it the scaler answers NOT_FOUND (and the fallback applies).
  await writeForecast({ ageSeconds: 0, desiredReplicas: flat(BEFORE) });
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  scalerMetricsPort = metricsPort;
  scaler = startCli(['scaler'], {
    env: {
      [Env.SCALER_PORT]: String(grpcPort),
      [Env.METRICS_PORT]: String(metricsPort),
      [Env.REDIS_HOST]: '127.0.0.1',
      [Env.REDIS_PORT]: String(redis.port),
      [Env.REDIS_PASSWORD]: PASSWORD,
      [Env.LOG_FORMAT]: 'json',
    },
  });
  await scaler.waitForLog((l) => l.msg === 'scaler running: redis connected', 30_000);

  plane = await ControlPlane.start();
  await Keda.start(plane);
  await plane.createRestrictedNamespace(NS);
  objects = synthApp(plane, (app) => {
    const chart = new Chart(app, 'forecast', { namespace: NS });
    // The app a forecast scales, as a user writes it with cdk8s-plus (restricted, as every chart's pods).
    const deployment = new kplus.Deployment(chart, 'api', { metadata: { name: NAME }, securityContext: restrictedPod(), automountServiceAccountToken: false });
    deployment.addContainer({
      name: 'api',
      image: DEFAULT_RUNTIME_IMAGE,
      args: [Commands.DEMO_APP],
      securityContext: restrictedContainer(),
      resources: { cpu: { request: kplus.Cpu.millis(50) } },
    });
    patchPodSpec(deployment);
    // KEDA runs on the host: the scaler's address is its loopback port.
    const trigger = new CustomTrigger(
      'external',
      {
        scalerAddress: `127.0.0.1:${grpcPort}`,
        [ScalerMetadata.WORKLOAD]: WORKLOAD,
        [ScalerMetadata.LEAD_TIME]: durationMetadata(LEAD_S),
        [ScalerMetadata.STALE_AFTER]: durationMetadata(STALE_S),
      },
      { name: 'forecast' },
    );
    // No limit on steps either way, so each HPA decision is the recommendation itself.
    const rules = { stabilizationWindow: Duration.seconds(0), policies: [{ type: ScalingPolicyType.PODS, value: MAX_REPLICAS, period: Duration.seconds(1) }] };
    new KedaScaledObject(chart, 'api-scaler', {
      name: NAME,
      target: deployment,
      triggers: [trigger],
      minReplicas: 1,
      maxReplicas: MAX_REPLICAS,
      pollingInterval: Duration.seconds(POLLING_S),
      fallback: FALLBACK,
      scaleUp: rules,
      scaleDown: rules,
    });
  });
  timeline.start();
  hpaWatch = await watchObjects<any>(plane, `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers?fieldSelector=metadata.name%3D${HPA}`, (event) => {
    const status = event.object.status ?? {};
    const decision = { at: Date.now(), current: status.currentReplicas ?? 0, desired: status.desiredReplicas ?? 0, reading: hpaCurrentMetrics(event.object)[METRIC] };
    const last = hpaDecisions[hpaDecisions.length - 1];
    if (!last || last.current !== decision.current || last.desired !== decision.desired || last.reading !== decision.reading) hpaDecisions.push(decision);
  });
  await applyObjects(plane, objects);
  timeline.mark('chart applied');
}, 600_000);

afterAll(async () => {
  await timeline.stop();
  await hpaWatch?.stop();
  if (plane && timeline.samples.length > 0) {
    const events = await eventsOf(plane, NS).catch((error: Error) => error.message);
    const so = await scaledObject().catch((error: Error) => ({ status: error.message }));
    const counters = await scalerCounters().catch((error: Error) => error.message);
    const predicted = {
      [`forecast ${BEFORE} -> ${AFTER} at +${STEP_AT_S} s, lead ${LEAD_S} s`]: `the HPA at ${BEFORE} until +${STEP_AT_S - LEAD_S} s, then ${AFTER}, before +${STEP_AT_S} s`,
      [`stale (> ${STALE_S} s)`]: `gRPC FAILED_PRECONDITION; KEDA's fallback ${FALLBACK.replicas} after ${FALLBACK.failureThreshold} failures`,
      'Redis down': `gRPC UNAVAILABLE; fallback ${FALLBACK.replicas}`,
    };
    const hpa = hpaDecisions.map((d) => ({ ...d, t: d.at - timeline.origin }));
    process.stdout.write(timeline.report('keda-external-scaler', { predicted, hpaDecisions: hpa, scaler: counters, events, scaledObjectStatus: so.status }, plane.logDir) + '\n');
  }
  if (scaler && scaler.child.exitCode === null && scaler.child.signalCode === null) {
    scaler.child.kill('SIGTERM');
    await scaler.done;
  }
  client?.disconnect();
  await redis?.stop();
  await plane?.stop();
});

step('synthesizes a Deployment without replicas and a ScaledObject with the external trigger, its fallback and behavior', async () => {
  expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/api', 'ScaledObject/api']);
  expect((objectsOf(objects, 'Deployment')[0].spec as any).replicas).toBeUndefined();
  const spec = objectsOf(objects, 'ScaledObject')[0].spec as any;
  expect(spec.triggers).toEqual([
    { type: 'external', name: 'forecast', metadata: { scalerAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/), workload: WORKLOAD, leadTime: '30s', staleAfter: '60s' } },
  ]);
  expect(spec.fallback).toEqual({ failureThreshold: 3, replicas: 4 });
  expect([spec.minReplicaCount, spec.maxReplicaCount, spec.pollingInterval]).toEqual([1, MAX_REPLICAS, POLLING_S]);
});

step(`KEDA calls the scaler: Ready, HPA ${HPA} on ${METRIC} (AverageValue 1), at the forecast's ${BEFORE}`, async () => {
  const so = await scaledObjectIs({ Ready: 'True', Active: 'True' }, 60_000);
  expect(conditionOf(so, 'Ready')).toEqual({ type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is defined correctly and is ready for scaling' });
  expect(conditionOf(so, 'Active')).toEqual({ type: 'Active', status: 'True', reason: 'ScalerActive', message: 'Scaling is performed because triggers are active' });
  expect(so.status.externalMetricNames).toEqual([METRIC]);
  expect(so.status.hpaName).toBe(HPA);
  const hpa = await get(`hpa/${HPA}`);
  expect(hpa.spec.metrics).toEqual([
    { type: 'External', external: { metric: { name: METRIC, selector: { matchLabels: { [SCALED_OBJECT_LABEL]: NAME } } }, target: { type: 'AverageValue', averageValue: '1' } } },
  ]);
  expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, MAX_REPLICAS]);

  await replicasReach(BEFORE, 30_000);
  timeline.mark(`at ${BEFORE}`);
  expect(await externalMetric(cluster(), NS, METRIC, NAME)).toEqual([{ metricName: METRIC, value: String(BEFORE) }]);
  // The operator (GetMetricSpec when it builds the scaler; GetMetrics then IsActive each poll) and the adapter
  // (GetMetrics then IsActive for each HPA read) called, every call answered OK.
  const { calls, errors } = await scalerCounters();
  expect(Object.keys(calls).sort()).toEqual(['code=OK,method=GetMetricSpec', 'code=OK,method=GetMetrics', 'code=OK,method=IsActive']);
  expect(calls['code=OK,method=GetMetricSpec']).toBeGreaterThanOrEqual(1);
  expect(calls['code=OK,method=GetMetrics']).toBeGreaterThanOrEqual(2);
  expect(calls['code=OK,method=IsActive']).toBeGreaterThanOrEqual(2);
  expect(errors).toEqual({});
});

step(`ahead of the load step: a forecast ${BEFORE} -> ${AFTER} at +${STEP_AT_S} s takes the HPA to ${AFTER} at +${STEP_AT_S - LEAD_S} s (lead ${LEAD_S} s)`, async () => {
  const before = await scalerCounters();
  const made = await writeForecast({ ageSeconds: 0, desiredReplicas: Array.from({ length: POINTS }, (_, k) => (k * STEP_S < STEP_AT_S ? BEFORE : AFTER)) });
  const written = timeline.mark(`forecast ${BEFORE} -> ${AFTER} at +${STEP_AT_S} s written`);
  const reachedAt = await replicasReach(AFTER, (STEP_AT_S - LEAD_S + 20) * 1000);
  timeline.mark(`at ${AFTER}`);
  const stepAt = made + STEP_AT_S * 1000;
  const leadFrom = made + (STEP_AT_S - LEAD_S) * 1000;
  // Before the load step (by about its lead time), not before the step entered the lead-time window.
  expect(reachedAt).toBeLessThan(stepAt);
  expect(reachedAt).toBeGreaterThanOrEqual(leadFrom);
  const up = hpaDecisions.find((d) => d.at >= made && d.desired === AFTER);
  expect(up).toBeDefined();
  expect(up!.at).toBeGreaterThanOrEqual(leadFrom);
  expect(up!.at).toBeLessThan(stepAt);
  expect(hpaDecisions.filter((d) => d.at >= made && d.at < leadFrom).every((d) => d.desired === BEFORE)).toBe(true);
  // Every reading until the window reached the step: still BEFORE.
  const held = timeline.between(written, leadFrom - timeline.origin);
  // (About 60 readings of 500 ms; a loaded machine makes each reading slower, hence the floor of 10.)
  expect(held.length).toBeGreaterThanOrEqual(10);
  expect([...new Set(held.map((s) => `${s.replicas}/${s.hpaDesired}`))]).toEqual([`${BEFORE}/${BEFORE}`]);
  // What the adapter serves is the lead-time maximum itself (target 1); the HPA reads it per pod: 6 / 6.
  expect(await externalMetric(cluster(), NS, METRIC, NAME)).toEqual([{ metricName: METRIC, value: String(AFTER) }]);
  await waitFor(`HPA reading 1 per pod`, async () => (hpaCurrentMetrics(await get(`hpa/${HPA}`))[METRIC] === '1' ? true : undefined), 10_000);
  const rescales = (await eventsOf(cluster(), NS)).filter((e) => e.kind === 'HorizontalPodAutoscaler' && e.reason === 'SuccessfulRescale').map((e) => e.message);
  expect(rescales).toContain(
    `New size: ${AFTER}; reason: external metric ${METRIC}(&LabelSelector{MatchLabels:map[string]string{${SCALED_OBJECT_LABEL}: ${NAME},},MatchExpressions:[]LabelSelectorRequirement{},}) above target`,
  );
  const after = await scalerCounters();
  expect(after.errors).toEqual({});
  expect(counterDelta(before.calls, after.calls)['code=OK,method=GetMetrics']).toBeGreaterThanOrEqual(STEP_AT_S - LEAD_S);
});

step(`a stale forecast (older than ${STALE_S} s) is FAILED_PRECONDITION; KEDA's fallback runs ${FALLBACK.replicas} after ${FALLBACK.failureThreshold} failures`, async () => {
  const before = await scalerCounters();
  await writeForecast({ ageSeconds: STALE_S + 30, desiredReplicas: flat(AFTER) });
  const staleAt = timeline.mark(`stale forecast (${STALE_S + 30} s old) written`);
  const so = await scaledObjectIs({ Fallback: 'True' }, 30_000);
  expect(conditionOf(so, 'Fallback')).toEqual({
    type: 'Fallback',
    status: 'True',
    reason: 'FallbackExists',
    message: 'At least one trigger is falling back on this scaled object',
  });
  expect(so.status.health[METRIC].status).toBe('Failing');
  // Status conditions are one list: a status patch from another copy of the ScaledObject (the scale loop's Active
  // condition) carries that copy's Fallback and count too, so the read with the first Fallback True may show a count
  // one behind; once the fallback has scaled, the count is past the threshold.
  expect(so.status.health[METRIC].numberOfFailures).toBeGreaterThanOrEqual(FALLBACK.failureThreshold);
  await replicasReach(FALLBACK.replicas, 30_000);
  timeline.mark(`fallback: at ${FALLBACK.replicas}`);
  expect((await scaledObject()).status.health[METRIC].numberOfFailures).toBeGreaterThan(FALLBACK.failureThreshold);
  // The adapter serves the fallback: replicas x the target.
  expect(await externalMetric(cluster(), NS, METRIC, NAME)).toEqual([{ metricName: METRIC, value: String(FALLBACK.replicas) }]);
  // Until the threshold KEDA counts the trigger not active; once falling back, active again (KEDA takes a fallback
  // as activity), Ready all along. The HPA's read through the adapter can start the fallback and scale before the
  // scale loop's next poll writes Active (one run here read False just after the scale to 4), so wait a few polls.
  const after = await scaledObjectIs({ Active: 'True' }, 10 * POLLING_S * 1000);
  expect(conditionOf(after, 'Active')).toEqual({ type: 'Active', status: 'True', reason: 'ScalerActive', message: 'Scaling is performed because triggers are active' });
  expect(conditionOf(after, 'Ready')?.status).toBe('True');
  const failing = timeline.between(staleAt).filter((s) => s.health?.startsWith('Failing:'));
  const failures = (s: State) => Number(s.health!.split(':')[1]);
  // KEDA writes the failure count and the conditions in separate status updates, so one read may show a count a
  // poll or two ahead of the conditions (seen: 4 failures, Fallback still False): what holds in every read is that
  // no fallback comes before the threshold, and that the trigger was counted not active until then.
  expect(failing.filter((s) => s.fallback === 'True' && failures(s) < FALLBACK.failureThreshold)).toEqual([]);
  // (Failures come about twice a second, so the reads before the fallback may be none: then there is nothing to see.)
  const beforeFallback = failing.filter((s) => s.fallback !== 'True');
  expect(beforeFallback.length === 0 || beforeFallback.some((s) => s.active === 'False:ScalerNotActive')).toBe(true);
  // Every failure was a stale forecast.
  const counters = await scalerCounters();
  const calls = counterDelta(before.calls, counters.calls);
  const stale = errorsWereAll(ScalerErrorReasons.STALE, counterDelta(before.errors, counters.errors));
  expect(stale).toBeGreaterThan(FALLBACK.failureThreshold);
  expect(calls['code=FAILED_PRECONDITION,method=GetMetrics']).toBe(stale);
  expect(scaler!.logs.filter((l) => l.msg === 'forecast not usable').map((l) => [l.workload, l.reason, l.code])).toEqual([[WORKLOAD, 'stale', 'FAILED_PRECONDITION']]);
});

step(`a fresh forecast ends the fallback (${RECOVERED}); Redis stopped is UNAVAILABLE and the fallback ${FALLBACK.replicas} again`, async () => {
  await writeForecast({ ageSeconds: 0, desiredReplicas: flat(RECOVERED) });
  timeline.mark(`fresh forecast ${RECOVERED} written`);
  const so = await scaledObjectIs({ Fallback: 'False' }, 30_000);
  expect(conditionOf(so, 'Fallback')).toEqual({ type: 'Fallback', status: 'False', reason: 'NoFallbackFound', message: 'No fallbacks are active on this scaled object' });
  expect(so.status.health[METRIC]).toEqual({ numberOfFailures: 0, status: 'Happy' });
  await replicasReach(RECOVERED, 30_000);
  timeline.mark(`at ${RECOVERED}`);
  expect(scaler!.logs.filter((l) => l.msg === 'forecast usable again').map((l) => l.workload)).toEqual([WORKLOAD]);

  const before = await scalerCounters();
  client!.disconnect();
  await redis!.stop();
  timeline.mark('redis-server stopped');
  await scaledObjectIs({ Fallback: 'True' }, 30_000);
  await replicasReach(FALLBACK.replicas, 30_000);
  timeline.mark(`fallback: at ${FALLBACK.replicas}`);
  const counters = await scalerCounters();
  const calls = counterDelta(before.calls, counters.calls);
  const unavailable = errorsWereAll(ScalerErrorReasons.REDIS, counterDelta(before.errors, counters.errors));
  expect(unavailable).toBeGreaterThan(FALLBACK.failureThreshold);
  expect(calls['code=UNAVAILABLE,method=GetMetrics']).toBe(unavailable);
  // GetMetricSpec needs no Redis: KEDA rebuilds the scaler after each error, and those calls still answer OK.
  expect(Object.keys(calls).filter((k) => k.includes('GetMetricSpec'))).toEqual(['code=OK,method=GetMetricSpec']);
  expect(scaler!.logs.filter((l) => l.msg === 'forecast not usable').map((l) => [l.reason, l.code])).toEqual([
    ['stale', 'FAILED_PRECONDITION'],
    ['redis', 'UNAVAILABLE'],
  ]);
});
