/**
 * `redis-keda forecaster` as a pod runs it: the CLI as a child process configured by flags and env, a real
 * redis-server, and a real Prometheus whose history (an hour of a known sine, ending now) was made into TSDB blocks
 * by `promtool tsdb create-blocks-from openmetrics`. Intervals of 1 s and steps of 5 s keep it short.
 */
import { writeFileSync } from 'fs';
import type Redis from 'ioredis';
import { tmpdir } from 'os';
import { join } from 'path';
import { Env, FORECAST_STAGES, forecastKey, forecastLeaseKey, ForecasterPaths, ForecastMetrics, ForecastRecord, METRICS_PATH, MetricLabels } from '../../../runtime/contract';
import { CapacityPlan, CapacityPlannerOptions, createCapacityPlanner } from '../../../runtime/forecast';
import { RunningProcess, runCli, waitFor } from '../../support/cli';
import {
  GAP,
  load,
  MODEL,
  portOf,
  QUERY,
  sample,
  startForecaster,
  startPrometheusWithHistory,
  STEP,
  stopped,
  storedForecast,
  WINDOW,
  workloadFlags,
} from '../../support/forecaster';
import type { PrometheusServer } from '../../support/prometheus-server';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
withRedis((s, r) => ((server = s), (redis = r)));

let prometheus: PrometheusServer;
let lastSampleAt: number;
let stopPrometheus: () => Promise<void>;

beforeAll(async () => {
  ({ prometheus, lastSampleAt, stop: stopPrometheus } = await startPrometheusWithHistory());
}, 30_000);

afterAll(async () => stopPrometheus?.());

/** The planner's options the forecaster must make of the workload's flags (it plans the horizon; the band stops at the lead time). */
const PLANNER: CapacityPlannerOptions = {
  targetPerPod: 10,
  minReplicas: 1,
  maxReplicas: 20,
  leadTimeSeconds: 300,
  stepSeconds: STEP,
  podStartSeconds: 30,
  ...MODEL,
};

const start = (args: string[], id: string): RunningProcess => startForecaster(args, id, { REDIS_URL: server.url, [Env.PROMETHEUS_URL]: prometheus.url });
const stored = (workload: string) => storedForecast(redis, workload);
const GAPPY = 'demo_load{app="gappy"}';

/**
 * The forecaster's planning replayed in this process: its first run at `first` plans every step of the window
 * before it, in order; each later step is planned with the window before it. Returns the plans at `at` and a step before.
 */
async function replay(first: number, at: number, query = QUERY): Promise<{ last: CapacityPlan; before: CapacityPlan; samples: number }> {
  const [series] = await prometheus.queryRange(query, first - WINDOW, at, STEP);
  // The grid: a hole between two samples filled by a straight line between them.
  const ts: number[] = [];
  const vs: number[] = [];
  for (const [t, text] of series.values) {
    const v = Number(text);
    const prev = ts.length - 1;
    for (let k = 1; prev >= 0 && ts[prev] + k * STEP < t; k++) {
      ts.push(ts[prev] + k * STEP);
      vs.push(vs[prev] + ((v - vs[prev]) * k * STEP) / (t - ts[prev]));
    }
    ts.push(t);
    vs.push(v);
  }
  ts.forEach((t, i) => expect(t).toBe(first - WINDOW + i * STEP));
  const samples = series.values.filter(([t]) => t <= first).length;
  const planner = createCapacityPlanner(PLANNER);
  const plans: CapacityPlan[] = [];
  for (let j = 0; j < ts.length; j++) {
    if (ts[j] < first) continue;
    const from = ts[j] === first ? 0 : ts.findIndex((t) => t >= ts[j] - WINDOW);
    if (ts[j] === first) for (let k = 0; k < j; k++) plans.push(planner.plan(ts.slice(0, k + 1), vs.slice(0, k + 1)));
    plans.push(planner.plan(ts.slice(from, j + 1), vs.slice(from, j + 1)));
  }
  return { last: plans[plans.length - 1], before: plans[plans.length - 2], samples };
}

describe('forecaster', () => {
  test('writes the forecast with its TTL, exactly what the planner makes of the same history; serves it and its state', async () => {
    const forecaster = start(workloadFlags('api'), 'forecaster-a');
    try {
      const port = await portOf(forecaster);
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      const first = await forecaster.waitForLog((l) => l.msg === 'forecast written', 20_000);
      const firstAt = Date.parse(first.generatedAt as string) / 1000;
      // The next step's record (written within an interval of its step): its TTL is staleAfter from its generatedAt.
      await waitFor(async () => ((await stored('api'))?.generatedAt ?? '') > (first.generatedAt as string), 'a second forecast', 15_000);
      const record = (await stored('api')) as ForecastRecord;
      const asked = Date.now();
      const pttl = await redis.pttl(forecastKey('api'));
      const answered = Date.now();
      const generatedAt = Date.parse(record.generatedAt);
      // The key ends when the forecast is stale: staleAfter (15 s) after its generatedAt, written soon after its step.
      expect(pttl).toBeGreaterThanOrEqual(generatedAt + 15_000 - answered - 5);
      expect(pttl).toBeLessThanOrEqual(generatedAt + 15_000 - asked + 5);
      expect(pttl).toBeGreaterThan(10_000);

      // THEN the record holds exactly the contract's fields
      expect(Object.keys(record).sort()).toEqual([
        'desiredReplicas',
        'generatedAt',
        'horizon',
        'leadTime',
        'metric',
        'model',
        'quantiles',
        'source',
        'step',
        'values',
        'workload',
        'writer',
      ]);
      expect(generatedAt % (STEP * 1000)).toBe(0);
      expect(record).toMatchObject({ workload: 'api', metric: QUERY, step: STEP, horizon: 300, leadTime: 30, writer: 'forecaster-a' });
      expect(record.values).toHaveLength(300 / STEP + 1);
      // The reported quantiles and the sizing one (the planner's default 0.95).
      expect(Object.keys(record.quantiles).sort()).toEqual(['p50', 'p90', 'p95']);
      for (const q of Object.values(record.quantiles)) expect(q).toHaveLength(61);
      expect(record.desiredReplicas).toHaveLength(61);
      expect(record.model).toEqual({ name: 'capacity-planner', options: PLANNER });
      // The history's last sample is held by Prometheus' lookback: the steps after it repeat it.
      expect(record.source).toEqual({
        prometheus: prometheus.url,
        query: QUERY,
        window: WINDOW,
        step: STEP,
        samples: WINDOW / STEP + 1,
        lastSampleAt: record.generatedAt,
      });

      // AND it is what the planner, run here on the same history in the same order, makes
      const { last, before } = await replay(firstAt, generatedAt / 1000);
      expect(record.values).toEqual([before.forecast[0], ...last.forecast]);
      expect(record.quantiles).toEqual(Object.fromEntries(['p50', 'p90', 'p95'].map((k) => [k, [before.quantiles[k][0], ...last.quantiles[k]]])));
      expect(record.desiredReplicas).toEqual([before.desiredReplicas[0], ...last.desiredReplicas]);

      // AND /forecast/current serves the stored record; unknown or missing workloads are 400
      const current = await get(`${ForecasterPaths.CURRENT}?workload=api`);
      expect(current.status).toBe(200);
      const served = (await current.json()) as ForecastRecord;
      expect(served.workload).toBe('api');
      expect(served.generatedAt >= record.generatedAt).toBe(true);
      const unknown = await get(`${ForecasterPaths.CURRENT}?workload=nope`);
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: string }).error).toBe("unknown workload 'nope': this forecaster serves api");
      expect((await get(ForecasterPaths.CURRENT)).status).toBe(400);

      // AND /workloads says this replica leads and nothing failed
      const workloads = (await (await get(ForecasterPaths.WORKLOADS)).json()) as { id: string; workloads: Record<string, unknown>[] };
      expect(workloads.id).toBe('forecaster-a');
      expect(workloads.workloads).toHaveLength(1);
      expect(workloads.workloads[0]).toMatchObject({ name: 'api', query: QUERY, leader: true, holder: 'forecaster-a', degraded: false, lastErrors: {} });
      expect(typeof workloads.workloads[0].lastSuccessAt).toBe('string');

      // AND /metrics: leader, not degraded, no errors, the newest forecast's figures
      const text = await (await get(METRICS_PATH)).text();
      const w = { [MetricLabels.WORKLOAD]: 'api' };
      expect(sample(text, ForecastMetrics.LEADER, w)).toBe(1);
      expect(sample(text, ForecastMetrics.DEGRADED, w)).toBe(0);
      for (const stage of FORECAST_STAGES) expect(sample(text, ForecastMetrics.ERRORS, { ...w, [MetricLabels.STAGE]: stage })).toBe(0);
      expect(sample(text, ForecastMetrics.RUNS, w)).toBeGreaterThanOrEqual(2);
      const newest = (await stored('api')) as ForecastRecord;
      expect(sample(text, ForecastMetrics.ACTUAL, w)).toBe(load(lastSampleAt));
      expect(sample(text, ForecastMetrics.AGE, w)).toBeGreaterThanOrEqual(0);
      expect(sample(text, ForecastMetrics.AGE, w)).toBeLessThan(15);
      const metricsRecord = newest.generatedAt === record.generatedAt ? record : newest;
      if (Math.abs(Date.parse(metricsRecord.generatedAt) / 1000 - Date.now() / 1000) < STEP) {
        expect(sample(text, ForecastMetrics.DESIRED_REPLICAS, w)).toBe(Math.max(...metricsRecord.desiredReplicas.slice(0, 30 / STEP + 1)));
      }
      expect(sample(text, ForecastMetrics.PREDICTED, { ...w, [MetricLabels.AT]: 'now' })).toEqual(expect.any(Number));
      expect(sample(text, ForecastMetrics.PREDICTED, { ...w, [MetricLabels.AT]: 'lead' })).toEqual(expect.any(Number));
      for (const horizon of ['60s', '300s']) expect(sample(text, ForecastMetrics.MODEL_ERROR, { ...w, [MetricLabels.HORIZON]: horizon })).toBeGreaterThan(0);
    } finally {
      expect((await stopped(forecaster)).code).toBe(0);
    }
    // AND the lease was given back at the stop
    expect(await redis.get(forecastLeaseKey('api'))).toBeNull();
  }, 60_000);

  test('a hole in the history: Prometheus leaves steps out, the forecaster plans them on a straight line between the samples around it', async () => {
    const forecaster = start(
      workloadFlags('gappy').map((a) => (a === QUERY ? GAPPY : a)),
      'forecaster-a',
    );
    try {
      const first = await forecaster.waitForLog((l) => l.msg === 'forecast written', 20_000);
      const record = (await stored('gappy')) as ForecastRecord;
      const firstAt = Date.parse(first.generatedAt as string) / 1000;
      const { last, before, samples } = await replay(firstAt, Date.parse(record.generatedAt) / 1000, GAPPY);
      // 15 minutes without samples, 5 of them carried by the lookback (which in Prometheus 2 still takes a sample exactly 5 minutes old): 119 steps missing
      expect(samples).toBe(WINDOW / STEP + 1 - (GAP.from - GAP.to - 300) / STEP + 1);
      if (record.generatedAt === first.generatedAt) expect(record.source.samples).toBe(samples);
      expect(record.values).toEqual([before.forecast[0], ...last.forecast]);
      expect(record.desiredReplicas).toEqual([before.desiredReplicas[0], ...last.desiredReplicas]);
    } finally {
      expect((await stopped(forecaster)).code).toBe(0);
    }
  }, 60_000);

  test('Redis away: the run counts the failed stage, leads no more, and writes again once Redis is back', async () => {
    const forecaster = start(workloadFlags('back'), 'forecaster-a');
    try {
      const port = await portOf(forecaster);
      await forecaster.waitForLog((l) => l.msg === 'forecast written' && l.workload === 'back', 20_000);
      await server.shutdown();
      const failed = await forecaster.waitForLog((l) => /^(writing the forecast|renewing the lease) failed$/.test(l.msg) && l.workload === 'back', 20_000);
      const text = await (await fetch(`http://127.0.0.1:${port}${METRICS_PATH}`)).text();
      const w = { [MetricLabels.WORKLOAD]: 'back' };
      expect(sample(text, ForecastMetrics.LEADER, w)).toBe(0);
      const stage = failed.msg === 'writing the forecast failed' ? 'store' : 'lease';
      expect(sample(text, ForecastMetrics.ERRORS, { ...w, [MetricLabels.STAGE]: stage })).toBeGreaterThanOrEqual(1);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      // WHEN Redis is back (empty: no persistence), the replica takes the lease again and writes
      await server.start();
      const since = forecaster.logs.length;
      await waitFor(() => forecaster.logs.slice(since).some((l) => l.msg === 'forecast written' && l.workload === 'back'), 'a forecast after the restart', 30_000);
      expect(((await stored('back')) as ForecastRecord).writer).toBe('forecaster-a');
      expect(await redis.get(forecastLeaseKey('back'))).toBe('forecaster-a');
    } finally {
      expect((await stopped(forecaster)).code).toBe(0);
    }
  }, 90_000);

  test('a bad config file exits 2, naming the workload, the field and the value', async () => {
    const file = join(tmpdir(), `forecaster-bad-${process.pid}.yaml`);
    writeFileSync(
      file,
      [
        'workloads:',
        '  - { name: api, query: "sum(x)", targetPerPod: 50, minReplicas: 1, maxReplicas: 20, leadTimeSeconds: 300 }',
        '  - { name: worker, query: "sum(y)", targetPerPod: 0, minReplicas: 1, maxReplicas: 15, leadTimeSeconds: 300 }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['forecaster', '--config', file], { env: { REDIS_URL: server.url, [Env.PROMETHEUS_URL]: prometheus.url } });
    expect(result.code).toBe(2);
    expect(result.logs.map((l) => l.msg)).toContain(`usage error: workload 'worker' (${file}: workloads[1]): 'targetPerPod' (0) must be a positive number`);
  });

  test.each([
    [[], `usage error: name the workloads: --config <file> (env ${Env.FORECAST_CONFIG}), or --workload and its flags (env ${Env.FORECAST_WORKLOAD}, ...)`],
    [['--config', 'x.json', '--workload', 'api'], `usage error: give either --config (env ${Env.FORECAST_CONFIG}) or the workload flags, not both (given: --workload)`],
    [
      ['--workload', 'api', '--target-per-pod', '5'],
      `usage error: workload 'api' (the workload flags): --query (env ${Env.FORECAST_QUERY}) is missing; it must be a PromQL expression`,
    ],
    [
      ['--workload', 'api', '--query', 'up', '--target-per-pod', '5', '--min-replicas', '3', '--max-replicas', '2', '--lead-time', '60'],
      `usage error: workload 'api' (the workload flags): --max-replicas (env ${Env.FORECAST_MAX_REPLICAS}) (2) must be an integer of at least 1 and of 'minReplicas' (3)`,
    ],
  ])('forecaster %j exits 2: %s', async (args, message) => {
    const result = await runCli(['forecaster', ...args], { env: { REDIS_URL: server.url, [Env.PROMETHEUS_URL]: prometheus.url } });
    expect(result.code).toBe(2);
    expect(result.logs.map((l) => l.msg)).toContain(message);
  });
});
