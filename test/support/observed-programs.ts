/**
 * The programs of a chart as its pods run them, observed by a real Prometheus: a redis-server, `redis-keda
 * publish --rate N --forever`, loop-mode `redis-keda consume` workers, `redis-keda celery-worker` fed by `redis-keda
 * celery-send --forever`, `redis-keda queue exporter`, and Debian's `prometheus-redis-exporter` against the Redis.
 * Each is a child process configured by env and flags, on its own free loopback port, and every one is scraped
 * every second with the target labels a PodMonitor scrape attaches (`namespace`, `pod`, `job`), the pod named as
 * its workload's pods are (`<deployment>-<hash>-<suffix>`, `<statefulset>-0`), so the selectors of the dashboards and
 * rules (constructs/private/promql.ts) match. Stop everything with `stop()` in afterAll.
 */
import { randomBytes } from 'crypto';
import { join } from 'path';
import Redis from 'ioredis';
import { Commands, Env, Options, QueueCommands } from '../../runtime/contract';
import { LogLine, ProcessResult, REPO_ROOT, RunningProcess, spawnProcess, startCli } from './cli';
import { PrometheusServer, ScrapeTarget, startPrometheus } from './prometheus-server';
import { freePort, RedisServer, startRedis, stopChild } from './redis-server';

/** Debian's redis_exporter (package prometheus-redis-exporter), or the binary $REDIS_EXPORTER_BINARY names. */
export const REDIS_EXPORTER_BINARY = process.env.REDIS_EXPORTER_BINARY ?? 'prometheus-redis-exporter';

/** The loop consumers' handler: sleeps PROOF_SLEEP_MS, counts each event it finished in PROOF_KEY, throws for `"fail": true`. */
export const PROOF_HANDLER = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'proof-handler.js');

/** The names of the workloads the programs stand for (what a chart names its Deployments and StatefulSet). */
export interface ObservedWorkloads {
  /** @default 'observed' */
  readonly namespace: string;
  /** The Publisher's Deployment. @default 'publisher' */
  readonly publisher: string;
  /** The QueueWorker's Deployment. @default 'worker' */
  readonly worker: string;
  /** The CeleryWorker's Deployment. @default 'celery-worker' */
  readonly celeryWorker: string;
  /** The Celery producer's Deployment (`celery-send --forever`). @default 'celery-producer' */
  readonly celeryProducer: string;
  /** The QueueExporter's Deployment. @default 'queue-exporter' */
  readonly queueExporter: string;
  /** The RedisQueue's StatefulSet: redis_exporter runs as a sidecar in its pod `<name>-0`. @default 'redis' */
  readonly redis: string;
}

export interface ObservedProgramsOptions {
  readonly workloads?: Partial<ObservedWorkloads>;
  /** The list the publisher fills and the workers consume. @default 'events' */
  readonly list?: string;
  /** More lists the queue exporter serves (no consumer runs on them). @default [] */
  readonly extraLists?: readonly string[];
  /** Events per second of the publisher. */
  readonly rate: number;
  /** Events per LPUSH of the publisher. @default 1 */
  readonly batch?: number;
  /** Loop consumers (pods of `worker`). @default 2 */
  readonly consumers?: number;
  /** Events one consumer handles at the same time. @default 4 */
  readonly concurrency?: number;
  /** Milliseconds the handler takes per event. @default 3 */
  readonly handlerSleepMs?: number;
  /** Handler failures before an event is dead-lettered. @default 2 */
  readonly maxAttempts?: number;
  /** Seconds before a failed event's retry (also the longest). @default 1 */
  readonly backoffSeconds?: number;
  /** Seconds between the Celery producer's tasks (users.register). @default 0.1 */
  readonly celeryIntervalSeconds?: number;
  /** The Celery queue. @default 'celery' */
  readonly celeryQueue?: string;
  /** Redis' maxmemory in bytes (redis_exporter serves it as redis_memory_max_bytes). @default 64 MiB */
  readonly maxMemoryBytes?: number;
  /** Prometheus' scrape interval. @default 1 */
  readonly scrapeIntervalSeconds?: number;
}

/** One program as a pod of a workload. */
export interface ObservedProcess {
  /** The role in the harness (`publisher`, `worker-0`, ...). */
  readonly role: string;
  /** The workload it stands for. */
  readonly workload: string;
  /** The pod name Prometheus labels its series with. */
  readonly pod: string;
  /** 127.0.0.1:<port> of its /metrics. */
  readonly address: string;
  readonly process: RunningProcess;
}

export interface ObservedPrograms {
  readonly workloads: ObservedWorkloads;
  readonly list: string;
  readonly lists: readonly string[];
  readonly celeryQueue: string;
  readonly redis: RedisServer;
  /** A client of the test's own, for reading and feeding Redis. */
  readonly client: Redis;
  readonly prometheus: PrometheusServer;
  /** Every scraped program, by role. */
  readonly programs: ReadonlyMap<string, ObservedProcess>;
  /** The hash the consumers count finished events in (event id -> times). */
  readonly proofKey: string;
  /** The scrape targets as Prometheus got them. */
  readonly targets: readonly ScrapeTarget[];
  /** SIGTERM to one program, waiting for its exit (SIGKILL after `timeoutMs`). */
  stopProgram(role: string, timeoutMs?: number): Promise<ProcessResult>;
  /** Stops every process still running, Prometheus and Redis. */
  stop(): Promise<void>;
}

const DEFAULT_WORKLOADS: ObservedWorkloads = {
  namespace: 'observed',
  publisher: 'publisher',
  worker: 'worker',
  celeryWorker: 'celery-worker',
  celeryProducer: 'celery-producer',
  queueExporter: 'queue-exporter',
  redis: 'redis',
};

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** A name like a ReplicaSet's pod: `<deployment>-<5 chars>-<5 chars>`, lowercase alphanumerics. */
export function deploymentPodName(deployment: string, replicaSetHash = randomBytes(3).toString('hex').slice(0, 5)): string {
  return `${deployment}-${replicaSetHash}-${randomBytes(3).toString('hex').slice(0, 5)}`;
}

/** Starts everything; on a failure part-way, stops what was started and rethrows. */
export async function startObservedPrograms(options: ObservedProgramsOptions): Promise<ObservedPrograms> {
  const workloads: ObservedWorkloads = { ...DEFAULT_WORKLOADS, ...options.workloads };
  const list = options.list ?? 'events';
  const lists = [list, ...(options.extraLists ?? [])];
  const celeryQueue = options.celeryQueue ?? 'celery';
  const proofKey = `${list}:proof`;
  const programs = new Map<string, ObservedProcess>();
  /** Every process spawned, whether or not it got as far as being scraped. */
  const spawned: RunningProcess[] = [];
  let redis: RedisServer | undefined;
  let client: Redis | undefined;
  let prometheus: PrometheusServer | undefined;

  const stopProcess = async (running: RunningProcess, timeoutMs = STOP_TIMEOUT_MS): Promise<ProcessResult> => {
    await stopChild(running.child, timeoutMs);
    return running.done;
  };

  const stopAll = async () => {
    await Promise.all(spawned.map((p) => stopProcess(p).catch(() => undefined)));
    await prometheus?.stop();
    await client?.quit().catch(() => undefined);
    await redis?.stop();
  };

  try {
    redis = await startRedis();
    client = new Redis(redis.url, { protocol: 2 });
    await client.config('SET', 'maxmemory', String(options.maxMemoryBytes ?? 64 * 1024 * 1024));
    const redisUrl = redis.url;
    const cliEnv = (pod: string, extra: Record<string, string> = {}) => ({ [Env.REDIS_URL]: redisUrl, [Env.METRICS_PORT]: '0', [Env.POD_NAME]: pod, ...extra });

    /** Starts `redis-keda <args>` as a pod of `workload` and learns its metrics port from its log. */
    const startPod = async (role: string, workload: string, pod: string, args: string[], env: Record<string, string>, readyLog?: (line: LogLine) => boolean) => {
      const running = startCli(args, { env: cliEnv(pod, env) });
      spawned.push(running);
      const listening = await running.waitForLog((line) => line.msg === 'health server listening', START_TIMEOUT_MS);
      const entry: ObservedProcess = { role, workload, pod, address: `127.0.0.1:${String(listening.port)}`, process: running };
      programs.set(role, entry);
      if (readyLog) await running.waitForLog(readyLog, START_TIMEOUT_MS);
      return entry;
    };

    const workerHash = randomBytes(3).toString('hex').slice(0, 5);
    const consumerEnv = {
      [Env.LIST_NAME]: list,
      [Env.HANDLER]: PROOF_HANDLER,
      PROOF_KEY: proofKey,
      PROOF_SLEEP_MS: String(options.handlerSleepMs ?? 3),
      [Env.CONSUME_CONCURRENCY]: String(options.concurrency ?? 4),
      [Env.MAX_ATTEMPTS]: String(options.maxAttempts ?? 2),
      [Env.BACKOFF_SECONDS]: String(options.backoffSeconds ?? 1),
      [Env.BACKOFF_MAX_SECONDS]: String(options.backoffSeconds ?? 1),
      [Env.GRACE_SECONDS]: '5',
    };
    // Started side by side: each waits for its own log line; two cores start them in about the time of one.
    await Promise.all([
      startPod('queue-exporter', workloads.queueExporter, deploymentPodName(workloads.queueExporter), [Commands.QUEUE, QueueCommands.EXPORTER], {
        [Env.EXPORTER_LISTS]: lists.join(','),
      }),
      ...Array.from({ length: options.consumers ?? 2 }, (_, i) =>
        startPod(`worker-${i}`, workloads.worker, deploymentPodName(workloads.worker, workerHash), [Commands.CONSUME], consumerEnv),
      ),
      startPod(
        'celery-worker',
        workloads.celeryWorker,
        deploymentPodName(workloads.celeryWorker),
        [Commands.CELERY_WORKER],
        { [Env.CELERY_QUEUES]: celeryQueue, [Env.GRACE_SECONDS]: '5' },
        (line) => line.msg === 'celery worker started',
      ),
      startRedisExporter(redisUrl, spawned).then((exporter) => {
        programs.set('redis-exporter', { role: 'redis-exporter', workload: workloads.redis, pod: `${workloads.redis}-0`, ...exporter });
      }),
    ]);
    // The producers last, so every consumer is there when the first event or task lands.
    await Promise.all([
      startPod('publisher', workloads.publisher, deploymentPodName(workloads.publisher), [Commands.PUBLISH, `--${Options.FOREVER}`], {
        [Env.LIST_NAME]: list,
        [Env.PUBLISH_RATE]: String(options.rate),
        [Env.PUBLISH_BATCH]: String(options.batch ?? 1),
      }),
      startPod('celery-producer', workloads.celeryProducer, deploymentPodName(workloads.celeryProducer), [Commands.CELERY_SEND, `--${Options.FOREVER}`], {
        [Env.CELERY_QUEUE]: celeryQueue,
        [Env.CELERY_SEND_INTERVAL]: String(options.celeryIntervalSeconds ?? 0.1),
      }),
    ]);

    const targets: ScrapeTarget[] = [...programs.values()].map((p) => ({
      job: `${workloads.namespace}/${p.workload}`,
      address: p.address,
      labels: { namespace: workloads.namespace, pod: p.pod },
    }));
    prometheus = await startPrometheus({ targets, scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1 });
    await prometheus.waitForTargetsUp(START_TIMEOUT_MS);

    const started = { redis, client, prometheus };
    return {
      workloads,
      list,
      lists,
      celeryQueue,
      ...started,
      programs,
      proofKey,
      targets,
      stopProgram: async (role, timeoutMs) => {
        const program = programs.get(role);
        if (!program) throw new Error(`no program '${role}'; there are ${[...programs.keys()].join(', ')}`);
        return stopProcess(program.process, timeoutMs);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Debian's redis_exporter on a free port, once it answers /metrics (a port lost to a race: another one). */
async function startRedisExporter(redisUrl: string, spawned: RunningProcess[], attempts = 3): Promise<{ address: string; process: RunningProcess }> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    const address = `127.0.0.1:${await freePort()}`;
    const running = spawnProcess(REDIS_EXPORTER_BINARY, [`--redis.addr=${redisUrl}`, `--web.listen-address=${address}`]);
    spawned.push(running);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && running.child.exitCode === null && running.child.signalCode === null) {
      try {
        const response = await fetch(`http://${address}/metrics`);
        if (response.ok && (await response.text()).includes('redis_up 1')) return { address, process: running };
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    running.child.kill('SIGKILL');
    const result = await running.done.catch((error: Error) => ({ stderr: error.message }));
    last = result.stderr;
  }
  throw new Error(`${REDIS_EXPORTER_BINARY} did not serve redis_up 1 after ${attempts} attempts: ${last}`);
}
