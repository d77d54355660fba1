/**
 * What every benchmark does around its measurements: a redis-server of its own, a temp dir for
 * logs, cleanup on every path (SIGINT included), the machine it ran on, and the JSON on stdout.
 */
import { mkdtempSync, rmSync } from 'fs';
import { cpus, loadavg, tmpdir, totalmem } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import type Redis from 'ioredis';
import { killAll } from './child';
import { cpuSnapshot, othersCores } from './machine';
import { client, RedisServer, redisVersion, startRedis } from './redis';
import { progress, round } from './report';

export interface BenchSession {
  readonly server: RedisServer;
  readonly redis: Redis;
  /** Temp dir for logs; kept when the run fails or BENCH_KEEP=1. */
  readonly dir: string;
  readonly redisVersion: string;
}

/**
 * Runs `body` in a session and prints `{...its result, machine, seconds}` as JSON. `stopChildren`
 * kills what the body started besides the CLI children (those are always killed).
 */
export async function runBenchSession(name: string, body: (session: BenchSession) => Promise<Record<string, unknown>>, stopChildren: () => void = () => undefined): Promise<void> {
  const startedAt = performance.now();
  const loadAtStart = loadavg()[0];
  const cpuAtStart = cpuSnapshot();
  const dir = mkdtempSync(join(tmpdir(), `redis-keda-bench-${name}-`));
  const server = await startRedis();
  const redis = client(server);
  let ok = false;
  const interrupted = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping the benchmark's processes and redis-server`);
    killAll();
    stopChildren();
    rmSync(dir, { recursive: true, force: true });
    void server.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const version = await redisVersion(redis);
    const result = await body({ server, redis, dir, redisVersion: version });
    const report = {
      ...result,
      machine: {
        cpus: cpus().length,
        cpu_model: cpus()[0]?.model,
        memory_gb: round(totalmem() / 2 ** 30, 1),
        load_1m_at_start: round(loadAtStart, 2),
        // Cores that processes outside this benchmark kept busy meanwhile: they skew the ratios
        // (the two sides of a comparison do not see the same competition). ~0 on a quiet machine.
        other_processes_cpu_cores: round(othersCores(cpuAtStart, cpuSnapshot()), 2),
      },
      seconds: round((performance.now() - startedAt) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    ok = true;
  } finally {
    killAll();
    stopChildren();
    process.removeListener('SIGINT', interrupted).removeListener('SIGTERM', interrupted);
    await redis.quit().catch(() => redis.disconnect());
    await server.stop();
    if (ok && process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else progress(`logs kept in ${dir}`);
  }
}
