/**
 * Cluster rebalance benchmark (issue 14): 200k keys on 3 masters (no replicas: replication is not
 * what either tool does faster), 2 empty masters joined (MEET, every node agreeing and reporting
 * cluster_state:ok), then a rebalance onto them (2/5 of the slots move) by
 *   - `redis-keda cluster rebalance` (ours),
 *   - `redis-cli --cluster rebalance <node> --cluster-use-empty-masters` with its default `--cluster-pipeline 10`,
 *   - the same with `--cluster-pipeline 1000`.
 * Each run on an identical fresh cluster of 5 redis-server processes (test/support's, AOF everysec),
 * in one run; timed from the command's start to its exit (process start-up included for both). Keys
 * per second = keys found on the new masters afterwards / seconds. A concurrent writer INCRs 20
 * counters through a cluster client during each run: the longest gap between two acknowledged writes,
 * and lost acknowledged writes (must be 0). A run whose cluster is not ok after it, or that lost a
 * key, breaks the benchmark.                         goal ours >= 3x default, ours >= best redis-cli
 *
 * Environment: BENCH_CLUSTER_KEYS (200000), BENCH_CLUSTER_ROUNDS (1), BENCH_CLUSTER_LARGE_PIPELINE (1000).
 */
import { spawn } from 'child_process';
import { Cluster } from 'ioredis';
import { performance } from 'perf_hooks';
import { runCli } from '../test/support/cli';
import { startIncrWriter } from '../test/support/cluster-writer';
import { ClusterNodes, startClusterNodes } from '../test/support/redis-cluster';
import { BenchmarkBroken, progress, round, verify, waitUntil } from './support/report';
import { runBenchSession } from './support/session';

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(Number.isInteger(value) && value > 0)) throw new BenchmarkBroken(`${name} must be a positive integer, got '${process.env[name]}'`);
  return value;
};
const KEYS = positive('BENCH_CLUSTER_KEYS', 200_000);
const ROUNDS = positive('BENCH_CLUSTER_ROUNDS', 1);
const LARGE = positive('BENCH_CLUSTER_LARGE_PIPELINE', 1000);
const GOAL_VS_DEFAULT = 3;

type Side = 'ours' | 'redis-cli-pipeline-10' | 'redis-cli-pipeline-large';
const SIDES: readonly Side[] = ['redis-cli-pipeline-10', 'ours', 'redis-cli-pipeline-large'];

interface Run {
  readonly seconds: number;
  readonly keysMoved: number;
  readonly keysPerSecond: number;
  readonly longestWriteGapMs: number;
  readonly writes: number;
  readonly failedWrites: number;
  readonly lostWrites: number;
}

async function prepare(): Promise<ClusterNodes> {
  const cluster = await startClusterNodes({ count: 5, nodeTimeoutMs: 5000 });
  const three = cluster.nodes.slice(0, 3).map((n) => n.address);
  const created = await runCli(['cluster', 'create', '--nodes', three.join(','), '--replicas-per-master', '0'], { timeoutMs: 60_000 });
  verify(created.code === 0, `cluster create failed: ${created.stderr}`);
  const client = new Cluster([{ host: cluster.nodes[0].host, port: cluster.nodes[0].port }], { enableAutoPipelining: true });
  try {
    for (let i = 0; i < KEYS; i += 10_000) await Promise.all(Array.from({ length: Math.min(10_000, KEYS - i) }, (_, j) => client.set(`key:${i + j}`, `value-${i + j}`)));
  } finally {
    client.disconnect();
  }
  const first = cluster.nodes[0].client();
  try {
    for (const n of cluster.nodes.slice(3)) verify((await first.call('CLUSTER', 'MEET', n.host, n.port, n.busPort)) === 'OK', 'CLUSTER MEET');
  } finally {
    first.disconnect();
  }
  await waitUntil(
    async () => {
      const states = await Promise.all(
        cluster.nodes.map(async (n) => {
          const c = n.client();
          try {
            return (await c.call('CLUSTER', 'INFO')) as string;
          } finally {
            c.disconnect();
          }
        }),
      );
      return states.every((s) => /cluster_state:ok/.test(s) && /cluster_known_nodes:5/.test(s));
    },
    'the 5 nodes to agree and report cluster_state:ok',
    30_000,
    100,
  );
  return cluster;
}

function startWriter(cluster: ClusterNodes) {
  const client = new Cluster([{ host: cluster.nodes[0].host, port: cluster.nodes[0].port }], { redisOptions: { maxRetriesPerRequest: 3 } });
  const writer = startIncrWriter(client);
  return async () => {
    const result = await writer.stop();
    client.disconnect();
    return { writes: result.writes, failed: result.failed, longestMs: result.longestGapMs, lost: result.lost.length };
  };
}

function runRedisCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

async function measure(side: Side): Promise<Run> {
  const cluster = await prepare();
  try {
    const stopWriter = startWriter(cluster);
    const start = performance.now();
    if (side === 'ours') {
      const result = await runCli(['cluster', 'rebalance', '--nodes', cluster.addresses, '--replicas-per-master', '0'], { timeoutMs: 600_000 });
      verify(result.code === 0, `redis-keda cluster rebalance failed (${result.code}): ${result.stderr.slice(-2000)}`);
    } else {
      const pipeline = side === 'redis-cli-pipeline-10' ? 10 : LARGE;
      const result = await runRedisCli(['--cluster', 'rebalance', cluster.nodes[0].address, '--cluster-use-empty-masters', '--cluster-pipeline', String(pipeline)]);
      verify(result.code === 0, `redis-cli --cluster rebalance failed (${result.code}): ${result.output.slice(-2000)}`);
    }
    const seconds = (performance.now() - start) / 1000;
    const writer = await stopWriter();
    const check = await runCli(['cluster', 'check', '--nodes', cluster.addresses, '--replicas-per-master', '0'], { timeoutMs: 60_000 });
    verify(check.code === 0, `cluster check after ${side} failed: ${check.stdout}`);
    const sizes = await Promise.all(
      cluster.nodes.map(async (n) => {
        const c = n.client();
        try {
          return await c.dbsize();
        } finally {
          c.disconnect();
        }
      }),
    );
    const counters = 20;
    verify(sizes.reduce((a, b) => a + b, 0) === KEYS + counters, `${side}: ${sizes.reduce((a, b) => a + b, 0)} keys after the rebalance, expected ${KEYS + counters}`);
    verify(writer.lost === 0, `${side}: ${writer.lost} acknowledged writes lost`);
    const keysMoved = sizes[3] + sizes[4];
    const run = {
      seconds: round(seconds, 2),
      keysMoved,
      keysPerSecond: round(keysMoved / seconds),
      longestWriteGapMs: round(writer.longestMs, 1),
      writes: writer.writes,
      failedWrites: writer.failed,
      lostWrites: writer.lost,
    };
    progress(`${side}: ${JSON.stringify(run)}`);
    return run;
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  await runBenchSession('cluster', async ({ redisVersion }) => {
    const runs: Record<Side, Run[]> = { ours: [], 'redis-cli-pipeline-10': [], 'redis-cli-pipeline-large': [] };
    for (let r = 0; r < ROUNDS; r++) for (const side of SIDES) runs[side].push(await measure(side));
    const median = (side: Side) => [...runs[side]].sort((a, b) => a.keysPerSecond - b.keysPerSecond)[Math.floor(runs[side].length / 2)];
    const ours = median('ours');
    const small = median('redis-cli-pipeline-10');
    const large = median('redis-cli-pipeline-large');
    const vsDefault = round(ours.keysPerSecond / small.keysPerSecond, 2);
    const vsLarge = round(ours.keysPerSecond / large.keysPerSecond, 2);
    return {
      benchmark: 'cluster',
      redisVersion,
      keys: KEYS,
      masters: '3 + 2 empty, no replicas',
      rounds: ROUNDS,
      largePipeline: LARGE,
      sides: { ours, 'redis-cli-pipeline-10': small, [`redis-cli-pipeline-${LARGE}`]: large },
      ratios: { ours_vs_redis_cli_default: vsDefault, ours_vs_redis_cli_large: vsLarge },
      goal: { vs_default: GOAL_VS_DEFAULT, vs_best: 1, met: vsDefault >= GOAL_VS_DEFAULT && vsLarge >= 1 },
      runs,
    };
  });
}

main().catch((error: unknown) => {
  progress(`broken: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
