/**
 * Queue benchmark: the publisher, the loop-mode consumer and end-to-end latency, each against a
 * reference measured in the same run on the same redis-server (ratios, not absolute times).
 *
 *   publish  our publisher (runtime/queue/publisher.ts, in process, batches of 250) vs
 *            `redis-benchmark -t lpush -P 64` on the same server                    goal ours/ref >= 0.5
 *   process  N pre-published events, no-op handler, concurrency 100: `redis-keda consume` as a
 *            child process vs a BullMQ Worker (removeOnComplete)                    goal ours/BullMQ >= 3
 *   latency  1,000 events/s for 10 s into a running consumer (concurrency 50): p50 / p99 / max of
 *            enqueuedAt -> handler start, and the worker's peak RSS                 goal RSS <= 100 MB
 *            (BullMQ's latency under the same load as a reference)
 *
 * One JSON object on stdout, progress on stderr. Exit 0 when the benchmark ran (goals missed or
 * not: they are reported), 1 when it broke (e.g. not every event processed).
 *
 * Environment (all optional): BENCH_PROCESS_EVENTS (300000; raised once if our consumer needs
 * less than 5 s), BENCH_LATENCY_SECONDS (10), BENCH_CPU_PROF=<dir> (the process phase's consumer
 * runs with `node --cpu-prof` writing there), BENCH_KEEP=1 (keep the temp dir with the logs).
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { promisify } from 'util';
import type Redis from 'ioredis';
import { Metrics, queueKeys, QueueEvent } from '../runtime/contract';
import { createEvent } from '../runtime/queue/event';
import { PUBLISH_DEFAULTS, publishEvents } from '../runtime/queue/publisher';
import { Queue } from '../runtime/queue/queue';
import { closeRedis, connectRedis } from '../runtime/redis/connection';
import { BullMQ, loadBullMQ } from './support/bullmq';
import { cpuSnapshot, othersCores } from './support/machine';
import { cpuSecondsOf, LogLine, logVolume, MeasuredChild, memoryOf, sampleMemory, startCli } from './support/child';
import { ServerWork, startCounting, workSince } from './support/redis';
import { BenchmarkBroken, progress, quantile, round, sleepMs, verify, waitUntil } from './support/report';
import { BenchSession, runBenchSession } from './support/session';

const PUBLISH = { events: 200_000, warmup: 20_000, batch: 250, goal: 0.5 };
const REDIS_BENCHMARK_ARGS = ['-t', 'lpush', '-P', '64', '-n', '1000000', '-q', '--csv'];
const PROCESS = {
  events: Number(process.env.BENCH_PROCESS_EVENTS ?? 300_000),
  concurrency: 100,
  /** Our run must last at least this long to count; a shorter one is repeated once with more events. */
  minSeconds: 5,
  /** Bounds the whole run (BullMQ's addBulk alone takes ~30 µs a job here). */
  maxEvents: 600_000,
  goal: 3,
};
const LATENCY = { rate: 1000, batch: 10, seconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 10), concurrency: 50, rssGoalMb: 100 };
/** Commands the benchmark itself sent while measuring (its polling), subtracted from Redis's counts. */
const own: Record<string, number> = {};
function countOwn(command: string, calls = 1): void {
  own[command] = (own[command] ?? 0) + calls;
}
function resetOwn(): void {
  for (const command of Object.keys(own)) delete own[command];
}

const NOOP_HANDLER = 'bench/handlers/noop.js';
const LATENCY_HANDLER = 'bench/handlers/latency.js';

interface Env extends BenchSession {
  readonly bull: BullMQ;
}

async function main(): Promise<void> {
  const bull = loadBullMQ();
  await runBenchSession('queue', async (session) => {
    const env: Env = { ...session, bull };
    progress(`redis-server ${session.redisVersion} on 127.0.0.1:${session.server.port}, BullMQ ${bull.version}, node ${process.version}, temp dir ${session.dir}`);
    const publish = await benchPublish(env);
    const processing = await benchProcess(env);
    const latency = await benchLatency(env);
    return { benchmark: 'queue', redis: session.redisVersion, bullmq: bull.version, node: process.version, publish, process: processing, latency };
  });
}

// ---------------------------------------------------------------------------------------------
// 1. publish

async function benchPublish(env: Env) {
  const list = 'bench:publish';
  const publisher = await connectRedis({ host: '127.0.0.1', port: env.server.port, connectionName: 'bench-publisher' });
  try {
    progress(`publish: warm-up, ${PUBLISH.warmup} events`);
    await publishEvents({ redis: publisher, list, count: PUBLISH.warmup, batch: PUBLISH.batch, intervalSeconds: 0 });
    await env.redis.del(list);

    progress(`publish: ours, ${PUBLISH.events} events in batches of ${PUBLISH.batch} (publishEvents, interval 0)`);
    const cpu = process.cpuUsage();
    const machineAt = cpuSnapshot();
    const started = performance.now();
    const published = await publishEvents({ redis: publisher, list, count: PUBLISH.events, batch: PUBLISH.batch, intervalSeconds: 0 });
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const others = othersCores(machineAt, cpuSnapshot());
    verify(published === PUBLISH.events, `publishEvents returned ${published}, expected ${PUBLISH.events}`);
    const length = await env.redis.llen(list);
    verify(length === PUBLISH.events, `the list holds ${length} events after publishing ${PUBLISH.events}`);
    const eventBytes = (await env.redis.lrange(list, 0, 999)).reduce((sum, raw) => sum + Buffer.byteLength(raw), 0) / Math.min(1000, length);
    await env.redis.del(list);
    const ours = PUBLISH.events / seconds;

    progress(`publish: redis-benchmark ${REDIS_BENCHMARK_ARGS.join(' ')}`);
    const referenceAt = cpuSnapshot();
    const reference = await redisBenchmarkLpush(env.server.port);
    const referenceOthers = othersCores(referenceAt, cpuSnapshot());
    await env.redis.del('mylist'); // redis-benchmark's key
    const ratio = ours / reference;
    progress(`publish: ours ${round(ours)} events/s, redis-benchmark ${round(reference)} LPUSH/s, ratio ${round(ratio, 3)}`);
    return {
      ours_events_per_s: round(ours),
      redis_benchmark_lpush_per_s: round(reference),
      batch: PUBLISH.batch,
      ratio: round(ratio, 3),
      goal: PUBLISH.goal,
      met: ratio >= PUBLISH.goal,
      events: PUBLISH.events,
      seconds: round(seconds, 2),
      event_bytes: round(eventBytes),
      publisher_cpu_utilisation: round((used.user + used.system) / 1e6 / seconds, 2),
      other_processes_cpu_cores: { ours: round(others, 2), redis_benchmark: round(referenceOthers, 2) },
      how:
        `ours: publishEvents() of runtime/queue/publisher.ts in this process, one connection, ${PUBLISH.events} events, ` +
        `${PUBLISH.batch} per LPUSH, interval 0, after a ${PUBLISH.warmup}-event warm-up; ` +
        `reference: redis-benchmark -h 127.0.0.1 -p PORT ${REDIS_BENCHMARK_ARGS.join(' ')} (50 clients, 3-byte elements, requests/s = elements/s)`,
    };
  } finally {
    await closeRedis(publisher);
  }
}

async function redisBenchmarkLpush(port: number): Promise<number> {
  const { stdout } = await promisify(execFile)('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), ...REDIS_BENCHMARK_ARGS], { timeout: 120_000 });
  // "test","rps",... then "LPUSH","1234567.89",...
  const row = stdout.split('\n').find((line) => line.startsWith('"LPUSH"'));
  const rps = Number(row?.split(',')[1]?.replace(/"/g, ''));
  verify(Number.isFinite(rps) && rps > 0, `could not read requests/s from redis-benchmark's output:\n${stdout}`);
  return rps;
}

// ---------------------------------------------------------------------------------------------
// 2. process: loop-mode no-op processing with acks, concurrency 100

async function benchProcess(env: Env) {
  let events = PROCESS.events;
  let ours = await processOurs(env, events);
  if (ours.seconds < PROCESS.minSeconds && events < PROCESS.maxEvents) {
    const more = Math.min(PROCESS.maxEvents, Math.ceil((events * PROCESS.minSeconds * 1.3) / ours.seconds / 10_000) * 10_000);
    progress(`process: ours took ${round(ours.seconds, 2)} s < ${PROCESS.minSeconds} s; again with ${more} events`);
    events = more;
    ours = await processOurs(env, events);
  }
  const bull = await processBullMQ(env, events);
  const ratio = ours.perSecond / bull.perSecond;
  progress(`process: ours ${round(ours.perSecond)} events/s, BullMQ ${round(bull.perSecond)} jobs/s, ratio ${round(ratio, 3)}`);
  return {
    events,
    concurrency: PROCESS.concurrency,
    ours_events_per_s: round(ours.perSecond),
    bullmq_jobs_per_s: round(bull.perSecond),
    ratio: round(ratio, 3),
    goal: PROCESS.goal,
    met: ratio >= PROCESS.goal,
    ours: {
      seconds: round(ours.seconds, 2),
      how:
        `redis-keda consume --concurrency ${PROCESS.concurrency} --handler ${NOOP_HANDLER} as a child process (node --enable-source-maps, ` +
        `NODE_ENV=production, log level info, stderr to a file); events pre-published to another key and RENAMEd onto the list ` +
        `once the consumer logged 'consumer started'; timed from the RENAME (pickup_ms of idle polling included) until the list, <list>:inflight and <list>:delayed are empty`,
      ...ours.diagnostics,
    },
    bullmq: {
      seconds: round(bull.seconds, 2),
      how:
        `Queue.addBulk of ${events} jobs {removeOnComplete: true} (not timed), then Worker(concurrency ${PROCESS.concurrency}, ` +
        `async no-op, autorun false) in this process; timed from worker.run() to the ${events}th 'completed'`,
      ...bull.diagnostics,
    },
  };
}

interface Timed {
  readonly seconds: number;
  readonly perSecond: number;
  readonly diagnostics: Record<string, unknown>;
}

async function processOurs(env: Env, events: number): Promise<Timed> {
  const list = 'bench:process';
  const keys = queueKeys(list);
  const staging = 'bench:process-staging';
  await env.redis.del(staging, ...Object.values(keys));
  progress(`process: ours, pre-publishing ${events} events`);
  await prePublish(env, staging, events);

  const profileDir = process.env.BENCH_CPU_PROF;
  const logFile = join(env.dir, `consume-process-${events}.log`);
  const child = startCli(
    ['consume', '--concurrency', String(PROCESS.concurrency), '--handler', NOOP_HANDLER, '--list', list, '--redis', env.server.url, '--metrics-port', '0'],
    logFile,
    { nodeArgs: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] },
  );
  try {
    const metricsPort = await healthPort(child);
    await child.waitForLog((line) => line.msg === 'consumer started');
    const idle = memoryOf(child.pid);
    const memory = sampleMemory(child.pid);
    const cpuBaseline = await startCounting(env.redis);
    resetOwn();
    const childCpu = cpuSecondsOf(child.pid);

    progress(`process: ours, consumer pid ${child.pid} started; handing it ${events} events`);
    const machineAt = cpuSnapshot();
    const started = performance.now();
    await env.redis.rename(staging, list);
    countOwn('rename');
    // How long the idle consumer took to notice (it polls an empty list with backoff): part of the time.
    for (;;) {
      countOwn('llen');
      if ((await env.redis.llen(list)) < events || performance.now() - started > 5000) break;
      await sleepMs(1);
    }
    const pickupMs = performance.now() - started;
    await waitUntil(async () => (await unfinished(env.redis, list)) === 0, `our consumer to finish ${events} events`, 180_000, 10);
    const seconds = (performance.now() - started) / 1000;

    const cpuSeconds = cpuSecondsOf(child.pid) - childCpu;
    const others = othersCores(machineAt, cpuSnapshot());
    const work = await workSince(env.redis, cpuBaseline, own);
    const rss = memory.stop();
    const processed = await waitForCounter(metricsPort, Metrics.PROCESSED, events);
    verify(processed === events, `our consumer counts ${processed} events processed (${Metrics.PROCESSED}), expected ${events}`);
    const dead = await env.redis.llen(keys.dead);
    verify(dead === 0, `${dead} events were dead-lettered`);
    const stopped = await child.stop();
    const volume = logVolume(logFile);
    progress(`process: ours, ${events} events in ${round(seconds, 2)} s; consumer exited ${stopped.code}${stopped.killed ? ' (killed after 10 s)' : ''}`);
    await env.redis.del(...Object.values(keys));
    return {
      seconds,
      perSecond: events / seconds,
      diagnostics: {
        ...workPerEvent(work, events, 'evalsha', 'eval'),
        worker_cpu_ms_per_event: round((cpuSeconds * 1000) / events, 4),
        worker_cpu_utilisation: round(cpuSeconds / seconds, 2),
        other_processes_cpu_cores: round(others, 2),
        pickup_ms: round(pickupMs, 1),
        worker_idle_rss_mb: round(idle?.rssMb ?? NaN, 1),
        worker_peak_rss_mb: round(rss.peakMb, 1),
        log_lines_per_event: round(volume.lines / events, 2),
        log_bytes_per_event: round(volume.bytes / events),
        log_messages: volume.byMessage,
        exit: { code: stopped.code, killed_after_grace: stopped.killed },
        ...(profileDir ? { cpu_profile_dir: profileDir } : {}),
      },
    };
  } finally {
    await child.stop(3000);
  }
}

async function processBullMQ(env: Env, events: number): Promise<Timed> {
  const { Queue: BullQueue, Worker } = env.bull;
  const connection = { host: '127.0.0.1', port: env.server.port, maxRetriesPerRequest: null } as const;
  const prefix = 'bench-bullmq';
  const name = 'process';
  const queue = new BullQueue<QueueEvent>(name, { connection, prefix });
  let worker: ReturnType<typeof newWorker> | undefined;
  const newWorker = () => new Worker<QueueEvent>(name, async () => undefined, { connection, prefix, concurrency: PROCESS.concurrency, autorun: false });
  try {
    progress(`process: BullMQ, addBulk of ${events} jobs`);
    await queue.waitUntilReady();
    for (let added = 0; added < events;) {
      const size = Math.min(1000, events - added);
      const now = Date.now();
      await queue.addBulk(
        Array.from({ length: size }, () => ({ name: 'event', data: createEvent(PUBLISH_DEFAULTS.waitMin, PUBLISH_DEFAULTS.waitMax, now), opts: { removeOnComplete: true } })),
      );
      added += size;
    }
    const waiting = (await queue.getJobCounts('waiting')).waiting;
    verify(waiting === events, `BullMQ holds ${waiting} waiting jobs after adding ${events}`);

    let completed = 0;
    let failed = 0;
    let errors = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    worker = newWorker();
    worker.on('completed', () => {
      if (++completed === events) allDone();
    });
    worker.on('failed', () => failed++);
    worker.on('error', (error) => {
      errors++;
      progress(`process: BullMQ worker error: ${error.message}`);
    });
    await worker.waitUntilReady();
    const cpuBaseline = await startCounting(env.redis);
    resetOwn();
    const cpu = process.cpuUsage();

    progress(`process: BullMQ, Worker running`);
    const machineAt = cpuSnapshot();
    const started = performance.now();
    const running = worker.run();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BenchmarkBroken(`BullMQ completed ${completed} of ${events} jobs within 180 s`)), 180_000))),
    ]);
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const others = othersCores(machineAt, cpuSnapshot());
    const work = await workSince(env.redis, cpuBaseline, own);

    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    verify(failed === 0 && counts.failed === 0, `BullMQ failed ${failed} jobs`);
    verify(counts.waiting === 0 && counts.active === 0 && counts.delayed === 0, `BullMQ left jobs behind: ${JSON.stringify(counts)}`);
    await worker.close();
    await running;
    progress(`process: BullMQ, ${events} jobs in ${round(seconds, 2)} s`);
    return {
      seconds,
      perSecond: events / seconds,
      diagnostics: {
        ...workPerEvent(work, events, 'evalsha', 'eval'),
        worker_cpu_ms_per_event: round((used.user + used.system) / 1000 / events, 4),
        worker_cpu_utilisation: round((used.user + used.system) / 1e6 / seconds, 2),
        other_processes_cpu_cores: round(others, 2),
        worker_errors: errors,
      },
    };
  } finally {
    await worker?.close(true).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}

/** Events onto `list` the way the publisher writes them (not timed). */
async function prePublish(env: Env, list: string, events: number): Promise<void> {
  const publisher = await connectRedis({ host: '127.0.0.1', port: env.server.port });
  try {
    await publishEvents({ redis: publisher, list, count: events, batch: 1000, intervalSeconds: 0 });
  } finally {
    await closeRedis(publisher);
  }
  const length = await env.redis.llen(list);
  verify(length === events, `${list} holds ${length} events, expected ${events}`);
}

/** Events not finished yet: ready, in flight, or waiting for a retry. */
async function unfinished(redis: Redis, list: string): Promise<number> {
  const keys = queueKeys(list);
  const replies = await redis.pipeline().llen(keys.ready).zcard(keys.inflight).zcard(keys.delayed).exec();
  countOwn('llen');
  countOwn('zcard', 2);
  if (!replies) throw new BenchmarkBroken('pipeline aborted');
  return replies.reduce((sum, [error, value]) => {
    if (error) throw error;
    return sum + Number(value);
  }, 0);
}

/** What Redis did per event: round trips (script calls), all commands (script-internal ones included), CPU. */
function workPerEvent(work: ServerWork, events: number, ...scriptCommands: string[]) {
  const calls = Object.entries(work.calls);
  const perEvent = Object.fromEntries(calls.sort(([, a], [, b]) => b - a).map(([command, count]) => [command, round(count / events, 3)]));
  const total = calls.reduce((sum, [, count]) => sum + count, 0);
  const scripts = calls.filter(([command]) => scriptCommands.includes(command)).reduce((sum, [, count]) => sum + count, 0);
  return {
    redis_script_calls_per_event: round(scripts / events, 3),
    redis_commands_per_event: round(total / events, 3),
    redis_calls_per_event: perEvent,
    redis_cpu_ms_per_event: round((work.cpuSeconds * 1000) / events, 4),
  };
}

// ---------------------------------------------------------------------------------------------
// 3. latency at a steady 1,000 events/s

async function benchLatency(env: Env) {
  const ours = await latencyOurs(env);
  const bull = await latencyBullMQ(env);
  return { ...ours, bullmq: bull };
}

async function latencyOurs(env: Env) {
  const list = 'bench:latency';
  const keys = queueKeys(list);
  const samplesKey = 'bench:latency-ms';
  await env.redis.del(samplesKey, ...Object.values(keys));
  const logFile = join(env.dir, 'consume-latency.log');
  const child = startCli(
    ['consume', '--concurrency', String(LATENCY.concurrency), '--handler', LATENCY_HANDLER, '--list', list, '--redis', env.server.url, '--metrics-port', '0'],
    logFile,
    { env: { REDIS_URL: env.server.url, BENCH_LATENCY_KEY: samplesKey } },
  );
  const publisher = await connectRedis({ host: '127.0.0.1', port: env.server.port, connectionName: 'bench-publisher' });
  try {
    const metricsPort = await healthPort(child);
    await child.waitForLog((line) => line.msg === 'consumer started');
    const idle = memoryOf(child.pid);
    const memory = sampleMemory(child.pid);
    const queue = new Queue(publisher, list);
    progress(`latency: ours, ${LATENCY.rate} events/s for ${LATENCY.seconds} s into consumer pid ${child.pid} (concurrency ${LATENCY.concurrency})`);
    const machineAt = cpuSnapshot();
    const sent = await paced(async (size) => {
      const now = Date.now();
      await queue.publish(Array.from({ length: size }, () => JSON.stringify(createEvent(PUBLISH_DEFAULTS.waitMin, PUBLISH_DEFAULTS.waitMax, now))));
    });
    await waitUntil(
      async () => (await env.redis.llen(samplesKey)) >= sent.events && (await unfinished(env.redis, list)) === 0,
      `our consumer to handle ${sent.events} events`,
      30_000,
    );
    const others = othersCores(machineAt, cpuSnapshot());
    const rss = memory.stop();
    const samples = (await env.redis.lrange(samplesKey, 0, -1)).map(Number);
    verify(samples.length === sent.events, `the latency handler recorded ${samples.length} events, ${sent.events} were published`);
    const processed = await waitForCounter(metricsPort, Metrics.PROCESSED, sent.events);
    verify(processed === sent.events, `our consumer counts ${processed} events processed, expected ${sent.events}`);
    const dead = await env.redis.llen(keys.dead);
    verify(dead === 0, `${dead} events were dead-lettered`);
    const stopped = await child.stop();
    await env.redis.del(samplesKey, ...Object.values(keys));
    const stats = latencyStats(samples);
    progress(`latency: ours p50 ${stats.p50_ms} ms, p99 ${stats.p99_ms} ms, max ${stats.max_ms} ms, peak RSS ${round(rss.peakMb, 1)} MB`);
    return {
      ...stats,
      rate: round(sent.rate),
      events: sent.events,
      seconds: round(sent.seconds, 2),
      concurrency: LATENCY.concurrency,
      worker_rss_mb: round(Math.max(rss.peakMb, rss.sampledMaxMb), 1),
      worker_rss_sampled_max_mb: round(rss.sampledMaxMb, 1),
      worker_idle_rss_mb: round(idle?.rssMb ?? NaN, 1),
      rss_goal_mb: LATENCY.rssGoalMb,
      met: Math.max(rss.peakMb, rss.sampledMaxMb) <= LATENCY.rssGoalMb,
      publisher_max_late_ms: round(sent.maxLateMs, 1),
      other_processes_cpu_cores: round(others, 2),
      how:
        `batches of ${LATENCY.batch} events (enqueuedAt = Date.now()) every ${(LATENCY.batch * 1000) / LATENCY.rate} ms on absolute deadlines by Queue.publish in this process; ` +
        `redis-keda consume --concurrency ${LATENCY.concurrency} --handler ${LATENCY_HANDLER} as a child process, the handler RPUSHes Date.now() - enqueuedAt ` +
        `(1 ms resolution) as it starts; worker_rss_mb: the child's VmHWM (peak, start-up included), VmRSS also sampled every 100 ms; idle: VmRSS once it logged 'consumer started'`,
      exit: { code: stopped.code, killed_after_grace: stopped.killed },
    };
  } finally {
    await closeRedis(publisher);
    await child.stop(3000);
  }
}

async function latencyBullMQ(env: Env) {
  const { Queue: BullQueue, Worker } = env.bull;
  const connection = { host: '127.0.0.1', port: env.server.port, maxRetriesPerRequest: null } as const;
  const prefix = 'bench-bullmq';
  const name = 'latency';
  const queue = new BullQueue<QueueEvent>(name, { connection, prefix });
  const samples: number[] = [];
  const worker = new Worker<QueueEvent>(
    name,
    async (job) => {
      samples.push(Date.now() - (job.data.enqueuedAt ?? job.timestamp));
    },
    { connection, prefix, concurrency: LATENCY.concurrency },
  );
  let failed = 0;
  worker.on('failed', () => failed++);
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    await sleepMs(200);
    progress(`latency: BullMQ, ${LATENCY.rate} jobs/s for ${LATENCY.seconds} s into a Worker (concurrency ${LATENCY.concurrency}) in this process`);
    const machineAt = cpuSnapshot();
    const sent = await paced(async (size) => {
      const now = Date.now();
      await queue.addBulk(
        Array.from({ length: size }, () => ({ name: 'event', data: createEvent(PUBLISH_DEFAULTS.waitMin, PUBLISH_DEFAULTS.waitMax, now), opts: { removeOnComplete: true } })),
      );
    });
    await waitUntil(() => samples.length >= sent.events, `BullMQ to process ${sent.events} jobs`, 30_000);
    const others = othersCores(machineAt, cpuSnapshot());
    verify(samples.length === sent.events && failed === 0, `BullMQ processed ${samples.length} jobs (${failed} failed), ${sent.events} were added`);
    const stats = latencyStats(samples);
    progress(`latency: BullMQ p50 ${stats.p50_ms} ms, p99 ${stats.p99_ms} ms, max ${stats.max_ms} ms`);
    return {
      ...stats,
      rate: round(sent.rate),
      events: sent.events,
      other_processes_cpu_cores: round(others, 2),
      how: `the same pacing with Queue.addBulk (removeOnComplete); Worker(concurrency ${LATENCY.concurrency}) in this process records Date.now() - enqueuedAt as it starts a job`,
    };
  } finally {
    await worker.close(true).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}

/** Sends a batch of LATENCY.batch every batch/rate seconds on absolute deadlines (a late batch goes at once, so the mean rate holds). */
async function paced(send: (size: number) => Promise<void>): Promise<{ events: number; seconds: number; rate: number; maxLateMs: number }> {
  const intervalMs = (LATENCY.batch * 1000) / LATENCY.rate;
  const batches = Math.round((LATENCY.rate * LATENCY.seconds) / LATENCY.batch);
  const started = performance.now();
  let maxLateMs = 0;
  for (let k = 0; k < batches; k++) {
    const due = started + k * intervalMs;
    let wait = due - performance.now();
    while (wait > 0) {
      await sleepMs(Math.ceil(wait));
      wait = due - performance.now();
    }
    maxLateMs = Math.max(maxLateMs, -wait);
    await send(LATENCY.batch);
  }
  const seconds = (performance.now() - started) / 1000;
  const events = batches * LATENCY.batch;
  // The last batch goes at (batches - 1) intervals; the rate is over the span the batches cover.
  return { events, seconds, rate: events / (((batches - 1) * intervalMs) / 1000 + intervalMs / 1000), maxLateMs };
}

function latencyStats(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50_ms: quantile(sorted, 0.5),
    p99_ms: quantile(sorted, 0.99),
    max_ms: sorted[sorted.length - 1],
    mean_ms: round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length, 2),
  };
}

// ---------------------------------------------------------------------------------------------
// the consumer's /metrics

async function healthPort(child: MeasuredChild): Promise<number> {
  const line: LogLine = await child.waitForLog((l) => l.msg === 'health server listening');
  const port = Number(line.port);
  verify(Number.isInteger(port) && port > 0, `no port in the consumer's 'health server listening' line: ${JSON.stringify(line)}`);
  return port;
}

/** A counter's value on the consumer's /metrics (127.0.0.1), waiting up to 2 s for it to reach `expected`. */
async function waitForCounter(port: number, name: string, expected: number): Promise<number> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    if (value >= expected || Date.now() > deadline) return value;
    await sleepMs(50);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      progress(`BROKEN: ${error instanceof Error ? (error instanceof BenchmarkBroken ? error.message : error.stack) : String(error)}`);
      process.exit(1);
    },
  );
}
