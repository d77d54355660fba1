/**
 * The frame of the forecaster's tests: a real Prometheus serving an hour of a known sine (ending when the file
 * starts) from TSDB blocks made by promtool, the workload's flags, and the forecaster started as a pod runs it.
 */
import type Redis from 'ioredis';
import { Env, forecastKey, ForecastRecord } from '../../runtime/contract';
import { RunningProcess, startCli } from './cli';
import { createBlocks } from './prometheus-history';
import { PrometheusServer, startPrometheus } from './prometheus-server';

export const STEP = 5;
export const WINDOW = 1800;
export const QUERY = 'demo_load{app="api"}';
/** Planner options of the tests' workloads beyond the sizing: a short error window keeps the first run quick. */
export const MODEL = { errorWindowSeconds: 300 };

/** The sine of the history: 60 +- 40 with a 10-minute period, to 3 decimals. */
export const load = (t: number) => Math.round((60 + 40 * Math.sin((2 * Math.PI * t) / 600)) * 1000) / 1000;

/** The hole in `demo_load{app="gappy"}`: no samples from 25 to 10 minutes before the end (Prometheus' 5-minute lookback covers the first 5). */
export const GAP = { from: 25 * 60, to: 10 * 60 };

/**
 * Starts Prometheus with 70 minutes of `demo_load{app="api"}` every 5 s up to now, and the same series with a
 * 15-minute hole as `demo_load{app="gappy"}` (before afterAll stops it).
 */
export async function startPrometheusWithHistory(): Promise<{ prometheus: PrometheusServer; lastSampleAt: number; stop(): Promise<void> }> {
  const lastSampleAt = Math.floor(Date.now() / 1000 / STEP) * STEP;
  const timestamps = Array.from({ length: 70 * 12 + 1 }, (_, i) => lastSampleAt - 70 * 60 + i * STEP);
  const gappy = timestamps.filter((t) => t <= lastSampleAt - GAP.from || t >= lastSampleAt - GAP.to);
  const blocks = await createBlocks([
    { name: 'demo_load', labels: { app: 'api' }, timestamps, values: timestamps.map(load) },
    { name: 'demo_load', labels: { app: 'gappy' }, timestamps: gappy, values: gappy.map(load) },
  ]);
  try {
    const prometheus = await startPrometheus({ blocksDir: blocks.dir });
    return { prometheus, lastSampleAt, stop: () => prometheus.stop() };
  } finally {
    blocks.remove();
  }
}

/** The workload `name` as a config file's entry (lead 30 s, horizon 300 s, interval 1 s, stale after 15 s). */
export function workloadConfig(name: string, query = QUERY) {
  return {
    name,
    query,
    targetPerPod: 10,
    minReplicas: 1,
    maxReplicas: 20,
    leadTimeSeconds: 30,
    horizonSeconds: 300,
    intervalSeconds: 1,
    stepSeconds: STEP,
    windowSeconds: WINDOW,
    staleAfterSeconds: 15,
    model: MODEL,
  };
}

/** The same workload as flags. */
export function workloadFlags(name: string): string[] {
  const w = workloadConfig(name);
  return [
    ...['--workload', name, '--query', w.query, '--target-per-pod', '10', '--min-replicas', '1', '--max-replicas', '20'],
    ...['--lead-time', '30', '--horizon', '300', '--interval', '1', '--step', String(STEP), '--window', String(WINDOW), '--stale-after', '15'],
    ...['--model', JSON.stringify(MODEL)],
  ];
}

/** `redis-keda forecaster <args>` as replica `id` (POD_NAME), metrics on a free port. */
export function startForecaster(args: string[], id: string, env: Record<string, string>): RunningProcess {
  return startCli(['forecaster', ...args], { env: { [Env.METRICS_PORT]: '0', [Env.POD_NAME]: id, ...env } });
}

export async function portOf(p: RunningProcess): Promise<number> {
  return ((await p.waitForLog((l) => l.msg === 'health server listening')) as unknown as { port: number }).port;
}

/** Stops the process (if it still runs) and waits for its end. */
export async function stopped(p: RunningProcess, signal: NodeJS.Signals = 'SIGTERM') {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.done;
}

export async function storedForecast(redis: Redis, workload: string): Promise<ForecastRecord | undefined> {
  const text = await redis.get(forecastKey(workload));
  return text === null ? undefined : (JSON.parse(text) as ForecastRecord);
}

/** The value of `name{labels}` (exactly those labels) in a text exposition; undefined when the series is not there. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!match) continue;
    const got = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(match[2]);
  }
  return undefined;
}
