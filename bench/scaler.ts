/**
 * External scaler load benchmark (issue 15): `redis-keda scaler` (the CLI as the image runs it, on the benchmark's
 * redis-server holding 1,000 workloads' forecasts, rewritten every 30 s as the forecaster would) against a no-op
 * grpc-js server of the same service answering a constant (bench/scaler/noop-server.ts), in one run. The load comes
 * from a Go program of ours (bench/scaler/loadgen, built at run time into .bench/ with `go build`; without Go the
 * benchmark fails saying so), one process on one thread with one gRPC connection (KEDA keeps one per scaler address,
 * with a grpc-go client too), sending each workload's GetMetricsRequest as KEDA does: the trigger's whole metadata
 * (scalerAddress, workload, leadTime 300s, staleAfter 120s) as the ScaledObject `w<i>` in `default`:
 *   - throughput: GetMetrics with one call per workload in flight (1,000), each answered call followed at once by the
 *     next of its workload, 1 s of warm-up then BENCH_SCALER_SECONDS measured;           goal ours >= 0.7x no-op's
 *   - latency: GetMetrics open-loop at BENCH_SCALER_RATE calls/s (2,000) over the 1,000 workloads in turn for
 *     BENCH_SCALER_LATENCY_SECONDS (10), each timed from when it was due (no coordinated omission);  goal p99 < 5 ms
 * (With the grpc-js client this benchmark had in its own process, the no-op carried about 1,000 calls/s on this
 * 2-core machine and the latency was measured at half that instead; with this client every side carries 2,000.)
 * A run that falls behind (2 s of calls waiting for answers) stops sending and says `carried: false`.
 * Ours runs twice: with its per-workload cache (the default, 1,000 ms) and without (--cache-ttl 0: a Redis GET per
 * call). Every answer is checked (ours against the value the forecast holds, the no-op's metric name); a wrong one,
 * or a failed call in the closed loop, breaks the benchmark (open-loop failures are counted by code). Before anything
 * is timed every workload is answered once through grpc-js (test/support/scaler-client.ts).
 *
 * The three run at once and are measured in turn, BENCH_SCALER_ROUNDS rounds (3, the order rotated; medians reported).
 *
 * The report: `sides.<side>.throughput` (medians over the rounds): callsPerSecond, calls, serverCpuCores and
 * serverCpuMsPerCall (the server process's CPU over the measured seconds, and per answer), p50Ms/p99Ms/maxMs (per
 * call, 1,000 in flight: queueing), loadgenCpuSeconds; `sides.<side>.latency` (medians at `latencyRate`): p50Ms,
 * p90Ms, p99Ms, p999Ms, maxMs (from due to answer: the goal's), fromSendP50Ms/fromSendP99Ms (from sent to answer),
 * sentPerSecond and answeredPerSecond (what was achieved), sendLagP99Ms/sendLagMaxMs (how late the load generator
 * itself sent: Go's timers wake up to 1 ms late, more when the machine is busy; counted in the latency from due), serverCpuMsPerCall, loadgenCpuSeconds, `carried` (false when any round stopped because 2 s of calls
 * waited for answers) and `failures` (summed by gRPC code); `ratios` (throughput, CPU per call and p99 of ours against
 * the no-op's), `goal`, `loadgen` (Go version, build seconds), and `runs` (every round's report as the load generator
 * printed it).
 *
 * Environment: BENCH_SCALER_WORKLOADS (1000), BENCH_SCALER_SECONDS (3), BENCH_SCALER_ROUNDS (3), BENCH_SCALER_RATE (2000), BENCH_SCALER_LATENCY_SECONDS (10);
 * BENCH_PROF=DIR writes a V8 CPU profile of each of our scaler processes there (node --cpu-prof), to see where a call goes.
 */
import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import type Redis from 'ioredis';
import { durationMetadata, Env, forecastKey, forecastMetricName, ScalerMetadata } from '../runtime/contract';
import { forecastRecord } from '../test/support/forecast-records';
import { connectScaler } from '../test/support/scaler-client';
import { startCli } from './support/child';
import { BenchmarkBroken, progress, round, verify } from './support/report';
import { runBenchSession } from './support/session';
import { buildLoadgen, LoadgenReport, LoadgenRequest, runLoadgen } from './scaler/run-loadgen';

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
/** The forecasts' lead time and the triggers' staleAfter (the multi-app-redis chart's). */
const LEAD_TIME_SECONDS = 300;
const STALE_AFTER_SECONDS = 120;

/** Desired replicas of workload i: 11 points a minute apart, the lead-time (300 s) max being (i % 17) + 3. */
const desiredOf = (i: number) => [1, 2, 1, 2, (i % 17) + 3, 1, 1, 1, 1, 1, 1];
const expectedOf = (i: number) => (i % 17) + 3;
const workload = (i: number) => `w${i}`;

async function writeForecasts(redis: Redis): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < WORKLOADS; i++)
    pipeline.set(forecastKey(workload(i)), JSON.stringify(forecastRecord(workload(i), { ageSeconds: 0, desiredReplicas: desiredOf(i), leadTime: LEAD_TIME_SECONDS })), 'EX', 600);
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
    nodeArgs: process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [],
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

/** Workload i's GetMetricsRequest as KEDA sends it: the ScaledObject, the trigger's whole metadata, the metric. */
function request(side: Side, i: number): LoadgenRequest {
  return {
    name: workload(i),
    namespace: 'default',
    scalerMetadata: {
      scalerAddress: side.address,
      [ScalerMetadata.WORKLOAD]: workload(i),
      [ScalerMetadata.LEAD_TIME]: durationMetadata(LEAD_TIME_SECONDS),
      [ScalerMetadata.STALE_AFTER]: durationMetadata(STALE_AFTER_SECONDS),
    },
    metricName: forecastMetricName(workload(i)),
    expect: side.checked ? expectedOf(i) : null,
  };
}

/** Every workload answered once through grpc-js, a hundred at a time, before anything is timed (each forecast in place). */
async function warm(side: Side): Promise<void> {
  const client = connectScaler(side.address);
  try {
    for (let i = 0; i < WORKLOADS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, WORKLOADS - i) }, (_, j) => {
          const { name, namespace, scalerMetadata, metricName, expect } = request(side, i + j);
          return client.getMetrics({ name, namespace, scalerMetadata }, metricName).then(({ metricValues }) => {
            const value = metricValues[0]?.metricValueFloat;
            if (metricValues[0]?.metricName !== metricName || (expect !== null && value !== expect))
              throw new BenchmarkBroken(`${side.name}: workload ${workload(i + j)} answered ${JSON.stringify(metricValues)}, its forecast says ${expect}`);
          });
        }),
      );
    }
  } finally {
    client.close();
  }
}

/** A run of the load generator against one side; a wrong answer breaks the benchmark. */
async function measure(binary: string, side: Side, options: Parameters<typeof runLoadgen>[3]): Promise<LoadgenReport> {
  const requests = Array.from({ length: WORKLOADS }, (_, i) => request(side, i));
  const report = await runLoadgen(binary, side.address, requests, { ...options, watchPid: side.pid });
  if (report.wrong > 0) throw new BenchmarkBroken(`${side.name}: ${report.wrong} wrong answers, the first: ${report.firstWrong}`);
  return report;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Per side, the median of the rounds of each figure. */
function medians(runs: readonly Record<string, unknown>[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const key of Object.keys(runs[0])) {
    const values = runs.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
    if (values.length === runs.length) out[key] = median(values);
  }
  return out;
}

/** Failures of every round summed by code. */
function failuresOf(runs: readonly LoadgenReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const run of runs) for (const [code, n] of Object.entries(run.failed)) out[code] = (out[code] ?? 0) + n;
  return out;
}

async function main(): Promise<void> {
  // Built before the session starts, so the build competes with nothing measured.
  const loadgen = await buildLoadgen();
  progress(`load generator built with ${loadgen.goVersion} in ${loadgen.buildSeconds} s: ${loadgen.path}`);
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
        const closed: Record<string, LoadgenReport[]> = {};
        for (let r = 0; r < ROUNDS; r++) {
          for (const side of order(r)) {
            const run = await measure(loadgen.path, side, { mode: 'closed', seconds: SECONDS, warmupSeconds: 1 });
            if (Object.keys(run.failed).length > 0) throw new BenchmarkBroken(`${side.name}: calls failed with ${WORKLOADS} in flight: ${JSON.stringify(run.failed)}`);
            (closed[side.name] ??= []).push(run);
            progress(`round ${r + 1}, ${side.name}: ${run.callsPerSecond} calls/s with ${WORKLOADS} in flight, ${run.serverCpuMsPerCall} ms server CPU per call`);
          }
        }
        const open: Record<string, LoadgenReport[]> = {};
        for (let r = 0; r < ROUNDS; r++) {
          for (const side of order(r)) {
            const run = await measure(loadgen.path, side, { mode: 'open', rate: RATE, seconds: LATENCY_SECONDS });
            (open[side.name] ??= []).push(run);
            progress(
              `${side.name} at ${RATE} calls/s: ${run.carried ? '' : 'NOT carried, '}p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, send lag p99 ${run.sendLagP99Ms} ms, failures ${JSON.stringify(run.failed)}`,
            );
          }
        }
        const results = Object.fromEntries(
          sides.map((side) => {
            const runs = open[side.name];
            const latency = { ...medians(runs), carried: runs.every((x) => x.carried === true), failures: failuresOf(runs), rounds: runs.length };
            return [side.name, { throughput: medians(closed[side.name]), latency }];
          }),
        );
        const rate = (name: string) => results[name].throughput.callsPerSecond as number;
        const cpuPerCall = (name: string) => results[name].throughput.serverCpuMsPerCall as number;
        const p99 = (name: string) => {
          const { carried, p99Ms } = results[name].latency as { carried: boolean; p99Ms?: number | null };
          return carried && typeof p99Ms === 'number' ? p99Ms : Infinity;
        };
        // Unrounded for the goal: 0.699 is not 0.7.
        const ratio = rate('ours') / rate('no-op');
        const ratioNoCache = rate('ours-no-cache') / rate('no-op');
        return {
          benchmark: 'scaler',
          redisVersion,
          loadgen: { go: loadgen.goVersion, buildSeconds: loadgen.buildSeconds },
          workloads: WORKLOADS,
          rounds: ROUNDS,
          throughputSeconds: SECONDS,
          latencyRate: RATE,
          latencySeconds: LATENCY_SECONDS,
          sides: results,
          ratios: {
            ours_vs_noop_throughput: round(ratio, 3),
            ours_no_cache_vs_noop_throughput: round(ratioNoCache, 3),
            // The throughput ratio where the server's CPU is what limits: the no-op's CPU per call over ours.
            ours_vs_noop_cpu_per_call: round(cpuPerCall('no-op') / cpuPerCall('ours'), 2),
            ours_no_cache_vs_noop_cpu_per_call: round(cpuPerCall('no-op') / cpuPerCall('ours-no-cache'), 2),
            // What the scaler adds to the tail where the machine's own jitter sets the no-op's: p99 over the no-op's.
            ours_vs_noop_p99: round(p99('ours') / p99('no-op'), 2),
            ours_no_cache_vs_noop_p99: round(p99('ours-no-cache') / p99('no-op'), 2),
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
  const broken = error instanceof Error ? error.message : String(error);
  progress(`broken: ${broken}`);
  // Also in the JSON, so `npm run bench` reports why (Go missing, for one) rather than an exit code.
  process.stdout.write(JSON.stringify({ benchmark: 'scaler', broken }, null, 2) + '\n');
  process.exitCode = 1;
});
