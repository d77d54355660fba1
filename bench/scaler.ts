/**
 * External scaler load benchmark (issue 15): `redis-keda scaler` (the CLI as the image runs it, on the benchmark's
 * redis-server holding 1,000 workloads' forecasts, rewritten every 30 s as the forecaster would) against a no-op
 * grpc-js server of the same service answering a constant (bench/scaler/noop-server.ts), in one run, through one
 * gRPC channel (KEDA keeps one connection per scaler address):
 *   - throughput: GetMetrics with one call per workload in flight (1,000), each answered call followed at once by the
 *     next of its workload, for BENCH_SCALER_SECONDS;                                    goal ours >= 0.7x no-op's
 *   - latency: GetMetrics open-loop at BENCH_SCALER_RATE calls/s (2,000) over the 1,000 workloads in turn for
 *     BENCH_SCALER_LATENCY_SECONDS (10), each timed from when it was due (no coordinated omission);  goal p99 < 5 ms
 * When the no-op itself carries less than that rate here, the latency is measured again for every side at half the
 * no-op's throughput (the second key of `latency`), so the figure says what the scaler adds where the machine keeps up.
 * Ours runs twice: with its per-workload cache (the default, 1,000 ms) and without (--cache-ttl 0: a Redis GET
 * per call). Every answer of ours is checked against the value the forecast holds; a wrong one, or a failed call in
 * the closed loop, breaks the benchmark (open-loop failures are counted by code).
 *
 * The three run at once and are measured in turn, BENCH_SCALER_ROUNDS rounds (3, the order rotated; medians reported).
 *
 * Environment: BENCH_SCALER_WORKLOADS (1000), BENCH_SCALER_SECONDS (3), BENCH_SCALER_ROUNDS (3), BENCH_SCALER_RATE (2000), BENCH_SCALER_LATENCY_SECONDS (10).
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { performance } from 'perf_hooks';
import type Redis from 'ioredis';
import { Env, forecastKey } from '../runtime/contract';
import { forecastRecord } from '../test/support/forecast-records';
import { connectScaler, ScalerClient } from '../test/support/scaler-client';
import { cpuSecondsOf, startCli } from './support/child';
import { BenchmarkBroken, progress, quantile, round, sleepMs, verify } from './support/report';
import { runBenchSession } from './support/session';

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(Number.isFinite(value) && value > 0)) throw new BenchmarkBroken(`${name} must be a positive number, got '${process.env[name]}'`);
  return value;
};
const WORKLOADS = positive('BENCH_SCALER_WORKLOADS', 1000);
const SECONDS = positive('BENCH_SCALER_SECONDS', 3);
const ROUNDS = positive('BENCH_SCALER_ROUNDS', 3);
const RATE = positive('BENCH_SCALER_RATE', 2000);
const LATENCY_SECONDS = positive('BENCH_SCALER_LATENCY_SECONDS', 10);
const GOAL_THROUGHPUT_RATIO = 0.7;
const GOAL_P99_MS = 5;

/** Desired replicas of workload i: 11 points a minute apart, the lead-time (300 s) max being (i % 17) + 3. */
const desiredOf = (i: number) => [1, 2, 1, 2, (i % 17) + 3, 1, 1, 1, 1, 1, 1];
const expectedOf = (i: number) => (i % 17) + 3;
const workload = (i: number) => `w${i}`;

async function writeForecasts(redis: Redis): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < WORKLOADS; i++)
    pipeline.set(forecastKey(workload(i)), JSON.stringify(forecastRecord(workload(i), { ageSeconds: 0, desiredReplicas: desiredOf(i), leadTime: 300 })), 'EX', 600);
  await pipeline.exec();
}

interface Side {
  readonly name: string;
  readonly address: string;
  readonly pid: number;
  /** Whether answers carry the forecast's value (ours) or a constant (no-op). */
  readonly checked: boolean;
  stop(): Promise<void>;
}

function startNoop(): Promise<Side> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'scaler', 'noop-server.ts')], {
    cwd: join(__dirname, '..'),
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new BenchmarkBroken(`the no-op server exited (${code}) before it listened`)));
    child.stdout?.once('data', (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({
        name: 'no-op',
        address: `127.0.0.1:${port}`,
        pid: child.pid as number,
        checked: false,
        stop: () => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.removeAllListeners('exit').once('exit', () => done()), child.kill('SIGTERM')))),
      });
    });
  });
}

async function startOurs(name: string, redisUrl: string, dir: string, cacheTtlMs: number): Promise<Side> {
  const child = startCli(['scaler'], join(dir, `${name}.log`), {
    env: { [Env.REDIS_URL]: redisUrl, [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.SCALER_CACHE_TTL]: String(cacheTtlMs), [Env.LOG_LEVEL]: 'info' },
  });
  const listening = (await child.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number };
  await child.waitForLog((l) => l.msg === 'scaler running: redis connected');
  return {
    name,
    address: `127.0.0.1:${listening.port}`,
    pid: child.pid,
    checked: true,
    stop: async () => {
      const { code } = await child.stop();
      verify(code === 0, `${name} exited ${code} on SIGTERM`);
    },
  };
}

function check(side: Side, i: number, value: number | undefined): void {
  if (side.checked && value !== expectedOf(i)) throw new BenchmarkBroken(`${side.name}: workload ${workload(i)} answered ${value}, its forecast says ${expectedOf(i)}`);
}

const ref = (i: number) => ({ scalerMetadata: { workload: workload(i) } });
const metricName = (i: number) => `forecast-${workload(i)}`;

/** Closed loop: one call per workload in flight; calls answered per second. */
async function throughput(side: Side, client: ScalerClient): Promise<{ callsPerSecond: number; calls: number; serverCpuCores: number; serverCpuMsPerCall: number }> {
  let calls = 0;
  let stopAt = Infinity;
  let failure: unknown;
  const loop = async (i: number) => {
    while (performance.now() < stopAt && failure === undefined) {
      try {
        const { metricValues } = await client.getMetrics(ref(i), metricName(i));
        check(side, i, metricValues[0]?.metricValueFloat);
        calls++;
      } catch (error) {
        failure ??= error;
      }
    }
  };
  // Warm-up: a second of the same load, then the measured window.
  stopAt = performance.now() + 1000;
  await Promise.all(Array.from({ length: WORKLOADS }, (_, i) => loop(i)));
  if (failure) throw new BenchmarkBroken(`${side.name}: a call failed during the warm-up: ${String(failure)}`);
  calls = 0;
  const cpuBefore = cpuSecondsOf(side.pid);
  const started = performance.now();
  stopAt = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: WORKLOADS }, (_, i) => loop(i)));
  const seconds = (performance.now() - started) / 1000;
  if (failure) throw new BenchmarkBroken(`${side.name}: a call failed: ${String(failure)}`);
  const cpu = cpuSecondsOf(side.pid) - cpuBefore;
  // CPU per call: what the server costs whoever else competes for the cores (the load generator included).
  return { callsPerSecond: round(calls / seconds), calls, serverCpuCores: round(cpu / seconds, 2), serverCpuMsPerCall: round((cpu * 1000) / calls, 3) };
}

/**
 * Open loop at `rate` calls/s over the workloads in turn, on a channel of its own; latency from each call's due
 * time to its answer. When more than 2 s of calls are waiting for answers, or the sending falls a tenth behind the
 * clock, the rate is not carried (by the server, the client or the machine): the run stops sending and says so
 * (`carried: false`) instead of piling up calls until the channel fails.
 * Failed calls are counted by code; a wrong value breaks the benchmark.
 */
async function latency(side: Side, rate: number): Promise<Record<string, unknown>> {
  const client = connectScaler(side.address);
  try {
    await client.getMetricSpec(ref(0));
    const total = Math.round(rate * LATENCY_SECONDS);
    const latencies: number[] = [];
    const inFlight = new Set<Promise<void>>();
    const failures: Record<string, number> = {};
    let wrong: unknown;
    const started = performance.now();
    let sent = 0;
    let carried = true;
    while (sent < total && wrong === undefined) {
      // Calls waiting 2 s for answers, or the sending itself (this process) a tenth behind: the rate is not carried.
      if (inFlight.size > 2 * rate || performance.now() - started > LATENCY_SECONDS * 1100) {
        carried = false;
        break;
      }
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const i = sent % WORKLOADS;
        const dueAt = started + (sent / rate) * 1000;
        const call: Promise<void> = client.getMetrics(ref(i), metricName(i)).then(
          ({ metricValues }) => {
            try {
              check(side, i, metricValues[0]?.metricValueFloat);
            } catch (error) {
              wrong ??= error;
            }
            latencies.push(performance.now() - dueAt);
          },
          (error: unknown) => {
            const code = grpcStatus[(error as { code?: number }).code ?? grpcStatus.UNKNOWN] ?? 'UNKNOWN';
            failures[code] = (failures[code] ?? 0) + 1;
          },
        );
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
      await sleepMs(1);
    }
    const sending = (performance.now() - started) / 1000;
    await Promise.all(inFlight);
    if (wrong) throw wrong;
    const sorted = latencies.sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? round(quantile(sorted, p), 2) : null);
    return {
      rate,
      carried,
      calls: sent,
      sendingSeconds: round(sending, 1),
      failures,
      p50Ms: q(0.5),
      p90Ms: q(0.9),
      p99Ms: q(0.99),
      p999Ms: q(0.999),
      maxMs: q(1),
    };
  } finally {
    client.close();
  }
}

/** Every workload answered once through a fresh channel before anything is timed (each forecast in place). */
async function warm(side: Side): Promise<void> {
  const client = connectScaler(side.address);
  try {
    for (let i = 0; i < WORKLOADS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, WORKLOADS - i) }, (_, j) =>
          client.getMetrics(ref(i + j), metricName(i + j)).then((r) => check(side, i + j, r.metricValues[0]?.metricValueFloat)),
        ),
      );
    }
  } finally {
    client.close();
  }
}

async function closedLoop(side: Side): Promise<Awaited<ReturnType<typeof throughput>>> {
  const client = connectScaler(side.address);
  try {
    return await throughput(side, client);
  } finally {
    client.close();
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Per side, the median of the rounds of each figure. */
function medians<T extends Record<string, unknown>>(runs: readonly T[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(runs[0])) {
    const values = runs.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
    if (values.length === runs.length) out[key] = median(values);
  }
  return out;
}

async function main(): Promise<void> {
  const sides: Side[] = [];
  await runBenchSession(
    'scaler',
    async ({ server, redis, dir, redisVersion }) => {
      await writeForecasts(redis);
      // The forecaster's cadence: every forecast rewritten every 30 s, so none is stale and the cache turns over.
      const refresher = setInterval(() => void writeForecasts(redis).catch(() => undefined), 30_000);
      try {
        // All three run throughout (an idle one costs nothing) and are measured in turn, round after round, the
        // order rotated: what the rest of the machine does meanwhile falls on each side alike.
        sides.push(await startNoop(), await startOurs('ours', server.url, dir, 1000), await startOurs('ours-no-cache', server.url, dir, 0));
        for (const side of sides) await warm(side);
        const order = (round: number) => sides.map((_, k) => sides[(k + round) % sides.length]);
        const closed: Record<string, Awaited<ReturnType<typeof throughput>>[]> = {};
        for (let r = 0; r < ROUNDS; r++) {
          for (const side of order(r)) {
            const run = await closedLoop(side);
            (closed[side.name] ??= []).push(run);
            progress(`round ${r + 1}, ${side.name}: ${run.callsPerSecond} calls/s with ${WORKLOADS} in flight, ${run.serverCpuMsPerCall} ms server CPU per call`);
          }
        }
        const noopRate = median(closed['no-op'].map((c) => c.callsPerSecond));
        // The open loop at RATE, then at a rate this machine carries (half the no-op's throughput) when that is less.
        const carriedRate = Math.min(RATE, Math.max(50, Math.floor(noopRate / 2 / 50) * 50));
        const rates = carriedRate < RATE ? [RATE, carriedRate] : [RATE];
        const open: Record<string, Record<string, Record<string, unknown>[]>> = {};
        for (const rate of rates) {
          for (let r = 0; r < (rate === RATE ? 1 : ROUNDS); r++) {
            for (const side of order(r)) {
              const run = await latency(side, rate);
              ((open[side.name] ??= {})[String(rate)] ??= []).push(run);
              progress(`${side.name} at ${rate} calls/s: ${run.carried ? '' : 'NOT carried, '}p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, failures ${JSON.stringify(run.failures)}`);
            }
          }
        }
        const results = Object.fromEntries(
          sides.map((side) => [
            side.name,
            {
              throughput: medians(closed[side.name]),
              latency: Object.fromEntries(
                rates.map((rate) => {
                  const runs = open[side.name][String(rate)];
                  return [String(rate), { ...medians(runs), carried: runs.every((x) => x.carried), rounds: runs.length }];
                }),
              ),
            },
          ]),
        );
        const rate = (name: string) => results[name].throughput.callsPerSecond as number;
        const cpuPerCall = (name: string) => results[name].throughput.serverCpuMsPerCall as number;
        const p99 = (name: string) => {
          const run = results[name].latency[String(RATE)] as unknown as { p99Ms: number | null; carried: boolean };
          return run.carried && run.p99Ms !== null ? run.p99Ms : Infinity;
        };
        const ratio = round(rate('ours') / rate('no-op'), 2);
        const ratioNoCache = round(rate('ours-no-cache') / rate('no-op'), 2);
        return {
          benchmark: 'scaler',
          redisVersion,
          workloads: WORKLOADS,
          rounds: ROUNDS,
          throughputSeconds: SECONDS,
          latencyRates: rates,
          latencySeconds: LATENCY_SECONDS,
          sides: results,
          ratios: {
            ours_vs_noop_throughput: ratio,
            ours_no_cache_vs_noop_throughput: ratioNoCache,
            // The throughput ratio where the server's CPU is what limits: the no-op's CPU per call over ours.
            ours_vs_noop_cpu_per_call: round(cpuPerCall('no-op') / cpuPerCall('ours'), 2),
            ours_no_cache_vs_noop_cpu_per_call: round(cpuPerCall('no-op') / cpuPerCall('ours-no-cache'), 2),
          },
          goal: {
            throughput_vs_noop: GOAL_THROUGHPUT_RATIO,
            p99_ms: GOAL_P99_MS,
            met: ratio >= GOAL_THROUGHPUT_RATIO && p99('ours') < GOAL_P99_MS,
            met_without_cache: ratioNoCache >= GOAL_THROUGHPUT_RATIO && p99('ours-no-cache') < GOAL_P99_MS,
          },
          runs: { throughput: closed, latency: open },
        };
      } finally {
        clearInterval(refresher);
        for (const side of sides.splice(0)) await side.stop();
      }
    },
    () => void 0,
  );
}

main().catch((error: unknown) => {
  progress(`broken: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
