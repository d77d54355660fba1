/**
 * Forecaster replicas and outages, as pods run them (the CLI as child processes, one config file of two workloads,
 * a real redis-server and a real Prometheus with promtool-made history): one replica writes at a time and a
 * standby takes over after SIGTERM (the lease given back) and after SIGKILL (the lease run out); Prometheus gone,
 * the last forecast stays until its TTL ends it, and logs, /metrics and /workloads say degraded.
 */
import { writeFileSync } from 'fs';
import type Redis from 'ioredis';
import { tmpdir } from 'os';
import { join } from 'path';
import { forecastKey, forecastLeaseKey, ForecasterPaths, ForecastMetrics, METRICS_PATH, MetricLabels } from '../../../runtime/contract';
import { RunningProcess, waitFor } from '../../support/cli';
import { portOf, sample, startForecaster, startPrometheusWithHistory, stopped, storedForecast, workloadConfig } from '../../support/forecaster';
import type { PrometheusServer } from '../../support/prometheus-server';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
withRedis((s, r) => ((server = s), (redis = r)));

let prometheus: PrometheusServer;
let stopPrometheus: () => Promise<void>;
const config = join(tmpdir(), `forecaster-failover-${process.pid}.json`);
const running: RunningProcess[] = [];

beforeAll(async () => {
  const started = await startPrometheusWithHistory();
  prometheus = started.prometheus;
  let stoppedOnce: Promise<void> | undefined;
  stopPrometheus = () => (stoppedOnce ??= started.stop());
  // `ghost`'s query matches no series: Prometheus returns nothing for it from the start.
  writeFileSync(config, JSON.stringify({ prometheus: prometheus.url, workloads: [workloadConfig('api'), workloadConfig('ghost', 'demo_load{app="ghost"}')] }));
}, 30_000);

afterAll(async () => {
  await Promise.all(running.map((p) => stopped(p, 'SIGKILL')));
  await stopPrometheus?.();
});

function replica(id: string): RunningProcess {
  const p = startForecaster(['--config', config], id, { REDIS_URL: server.url });
  running.push(p);
  return p;
}

const leaseHolder = () => redis.get(forecastLeaseKey('api'));
const isStandby = (p: RunningProcess, holder: string) => p.waitForLog((l) => l.msg === 'another replica holds the lease' && l.workload === 'api' && l.holder === holder, 20_000);

/** Polls the stored record's writer until stopped: the order in which writers appeared. */
function watchWriters(): { stop(): Promise<string[]> } {
  const seen: string[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const writer = (await storedForecast(redis, 'api'))?.writer;
      if (writer !== undefined && seen[seen.length - 1] !== writer) seen.push(writer);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      const writer = (await storedForecast(redis, 'api'))?.writer;
      if (writer !== undefined && seen[seen.length - 1] !== writer) seen.push(writer);
      return seen;
    },
  };
}

describe('forecaster replicas', () => {
  let c: RunningProcess;

  test('one replica writes at a time; a standby takes over after SIGTERM (lease given back) and after SIGKILL (lease run out)', async () => {
    const writers = watchWriters();
    const a = replica('replica-a');
    await a.waitForLog((l) => l.msg === 'forecast written' && l.workload === 'api', 20_000);
    const b = replica('replica-b');
    await isStandby(b, 'replica-a');
    const bPort = await portOf(b);
    // A few steps with both running: only A writes.
    await waitFor(async () => a.logs.filter((l) => l.msg === 'forecast written').length >= 3, 'three forecasts of A', 20_000);
    const bMetrics = await (await fetch(`http://127.0.0.1:${bPort}${METRICS_PATH}`)).text();
    expect(sample(bMetrics, ForecastMetrics.LEADER, { [MetricLabels.WORKLOAD]: 'api' })).toBe(0);
    expect(sample(bMetrics, ForecastMetrics.RUNS, { [MetricLabels.WORKLOAD]: 'api' })).toBe(0);
    expect(b.logs.filter((l) => l.msg === 'forecast written')).toEqual([]);

    // WHEN A gets SIGTERM: it gives the lease back, and B takes it at its next interval (1 s)
    expect((await stopped(a)).code).toBe(0);
    expect(a.logs.some((l) => l.msg === 'lease released' && l.workload === 'api')).toBe(true);
    const released = Date.now();
    await waitFor(async () => (await leaseHolder()) === 'replica-b', 'B holding the lease', 5_000);
    expect(Date.now() - released).toBeLessThan(3_000);
    await b.waitForLog((l) => l.msg === 'forecast written' && l.workload === 'api', 10_000);

    // WHEN B is killed: the lease (3 intervals) runs out before the standby C takes it
    c = replica('replica-c');
    await isStandby(c, 'replica-b');
    b.child.kill('SIGKILL');
    await b.done;
    const killed = Date.now();
    // The lease is left to run out: C takes it no earlier than that, and within an interval (1 s) after.
    const remaining = await redis.pttl(forecastLeaseKey('api'));
    expect(await leaseHolder()).toBe('replica-b');
    expect(remaining).toBeGreaterThan(0);
    await waitFor(async () => (await leaseHolder()) === 'replica-c', 'C holding the lease', 8_000, 20);
    const takeover = Date.now() - killed;
    expect(takeover).toBeGreaterThanOrEqual(remaining - 50);
    expect(takeover).toBeLessThan(remaining + 2_500);
    await c.waitForLog((l) => l.msg === 'forecast written' && l.workload === 'api', 10_000);

    // THEN the record's writer went from one replica to the next, never back and forth
    expect(await writers.stop()).toEqual(['replica-a', 'replica-b', 'replica-c']);
  }, 90_000);

  test('Prometheus gone: the last forecast stays as written until its TTL ends it; logs, /metrics and /workloads say degraded', async () => {
    const port = await portOf(c);
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    // `ghost` has had nothing from Prometheus from the start: degraded, no forecast.
    expect((await get(`${ForecasterPaths.CURRENT}?workload=ghost`)).status).toBe(404);
    let text = await (await get(METRICS_PATH)).text();
    expect(sample(text, ForecastMetrics.DEGRADED, { [MetricLabels.WORKLOAD]: 'ghost' })).toBe(1);
    expect(sample(text, ForecastMetrics.DEGRADED, { [MetricLabels.WORKLOAD]: 'api' })).toBe(0);
    expect(sample(text, ForecastMetrics.ERRORS, { [MetricLabels.WORKLOAD]: 'ghost', [MetricLabels.STAGE]: 'query' })).toBeGreaterThan(0);
    const before = (await (await get(ForecasterPaths.WORKLOADS)).json()) as { workloads: { name: string; degraded: boolean; lastErrors: Record<string, { message: string }> }[] };
    expect(before.workloads[1]).toMatchObject({ name: 'ghost', degraded: true });
    expect(before.workloads[1].lastErrors.query.message).toMatch(/^the query returned no samples from \S+ to \S+$/);

    // WHEN Prometheus stops
    await stopPrometheus();
    const stoppedAt = Date.now();
    const kept = await redis.get(forecastKey('api'));
    expect(kept).not.toBeNull();
    const generatedAt = Date.parse((JSON.parse(kept as string) as { generatedAt: string }).generatedAt);
    const runs = sample(text, ForecastMetrics.RUNS, { [MetricLabels.WORKLOAD]: 'api' }) as number;

    // THEN the record stays exactly as written until it is stale (generatedAt + 15 s), then it is gone
    let last: string | null = kept;
    while (last !== null) {
      expect(last).toBe(kept);
      await new Promise((r) => setTimeout(r, 100));
      last = await redis.get(forecastKey('api'));
    }
    expect(Math.abs(Date.now() - (generatedAt + 15_000))).toBeLessThan(1_000);
    expect((await get(`${ForecasterPaths.CURRENT}?workload=api`)).status).toBe(404);

    // AND every interval said so: a warning each run, degraded, query errors, the lease still held
    const warnings = c.logs.filter(
      (l) => l.msg === 'prometheus gave nothing new; keeping the last forecast until it is stale' && l.workload === 'api' && Date.parse(l.time) >= stoppedAt,
    );
    // One a run: about one a second (fewer when a loaded machine delays the runs).
    expect(warnings.length).toBeGreaterThanOrEqual(Math.floor((Date.now() - stoppedAt) / 2000));
    expect(String(warnings[0].error)).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ is not reachable: ECONNREFUSED$/);
    text = await (await get(METRICS_PATH)).text();
    const api = { [MetricLabels.WORKLOAD]: 'api' };
    expect(sample(text, ForecastMetrics.DEGRADED, api)).toBe(1);
    expect(sample(text, ForecastMetrics.ERRORS, { ...api, [MetricLabels.STAGE]: 'query' })).toBeGreaterThanOrEqual(warnings.length);
    expect(sample(text, ForecastMetrics.LEADER, api)).toBe(1);
    expect(sample(text, ForecastMetrics.RUNS, api)).toBeLessThanOrEqual(runs + 1);
    expect(sample(text, ForecastMetrics.AGE, api)).toBeGreaterThan(15);
    const workloads = (await (await get(ForecasterPaths.WORKLOADS)).json()) as {
      workloads: { name: string; degraded: boolean; leader: boolean; lastErrors: Record<string, { message: string }> }[];
    };
    expect(workloads.workloads[0]).toMatchObject({ name: 'api', degraded: true, leader: true });
    expect(workloads.workloads[0].lastErrors.query.message).toMatch(/is not reachable: ECONNREFUSED$/);
    expect((await stopped(c)).code).toBe(0);
  }, 60_000);
});
