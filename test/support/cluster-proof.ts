/**
 * The frame of the cluster proofs: six redis-server processes joined by `redis-keda cluster create`
 * (3 masters + 3 replicas), the consistency checker running beside them as a child process (as its pod
 * runs it), and what the checker counted during each step, written to `.test-results/cluster-proof.json`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { ConsistencySummary } from '../../runtime/cluster/consistency';
import { REPO_ROOT, runCli, RunningProcess, startCli, waitFor } from './cli';
import { ClusterNodes, ClusterNodesOptions, startClusterNodes } from './redis-cluster';

export type CheckerLine = ConsistencySummary & { readonly time: string; readonly summary?: true };

export interface ProofCluster {
  readonly cluster: ClusterNodes;
  readonly checker: RunningProcess;
  /** `redis-keda cluster <args>` on the nodes' current addresses. */
  cli(args: readonly string[], env?: Record<string, string>): ReturnType<typeof runCli>;
  /** The checker's report lines so far. */
  lines(): CheckerLine[];
  /** Waits for the checker's next report line and returns it. */
  nextLine(): Promise<CheckerLine>;
  stop(): Promise<void>;
}

/** What the checker counted between two of its lines: counter deltas and the longest write gap in between. */
export interface StepCounts {
  readonly writes: number;
  readonly failedWrites: number;
  readonly failedReads: number;
  readonly lostWrites: number;
  readonly notAcknowledgedWrites: number;
  readonly longestWriteGapMs: number;
}

export function countsBetween(lines: readonly CheckerLine[], from: CheckerLine, to: CheckerLine): StepCounts {
  const inside = lines.filter((l) => l.elapsedMs > from.elapsedMs && l.elapsedMs <= to.elapsedMs);
  return {
    writes: to.writes - from.writes,
    failedWrites: to.failedWrites - from.failedWrites,
    failedReads: to.failedReads - from.failedReads,
    lostWrites: to.lostWrites - from.lostWrites,
    notAcknowledgedWrites: to.notAcknowledgedWrites - from.notAcknowledgedWrites,
    longestWriteGapMs: Math.max(0, ...inside.map((l) => l.gapSinceLastTickMs)),
  };
}

const RESULTS = join(REPO_ROOT, '.test-results', 'cluster-proof.json');

/** Adds one step's measurements to the results file (git-ignored), for the report and docs. */
export function recordStep(step: string, measured: Record<string, unknown>): void {
  mkdirSync(join(REPO_ROOT, '.test-results'), { recursive: true });
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // first step
  }
  all[step] = { ...measured, at: new Date().toISOString() };
  writeFileSync(RESULTS, JSON.stringify(all, null, 2) + '\n');
  process.stdout.write(`cluster proof ${step}: ${JSON.stringify(measured)}\n`);
}

export async function startProofCluster(options: Partial<ClusterNodesOptions> & { readonly checkerSeeds?: (cluster: ClusterNodes) => string } = {}): Promise<ProofCluster> {
  const cluster = await startClusterNodes({ count: 6, ...options });
  let checker: RunningProcess | undefined;
  try {
    const cli = (args: readonly string[], env: Record<string, string> = {}) =>
      runCli(['cluster', ...args], { env: { CLUSTER_NODES: cluster.addresses, REDIS_CONNECT_TIMEOUT: '2', ...env }, timeoutMs: 100_000 });
    const created = await cli(['create', '--timeout', '30']);
    if (created.code !== 0) throw new Error(`cluster create failed (${created.code}): ${created.stderr}`);
    checker = startCli(['cluster', 'consistency-check', '--metrics-port', '0', '--keys', '200', '--rate', '400'], {
      env: { CLUSTER_NODES: options.checkerSeeds?.(cluster) ?? cluster.addresses, LOG_FORMAT: 'json' },
    });
    const running = checker;
    const lines = () =>
      running
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as CheckerLine);
    const nextLine = async () => {
      const seen = lines().length;
      await waitFor(() => lines().length > seen, "the consistency checker's next line", 5_000);
      return lines()[seen];
    };
    // Writing before the first step counts.
    await waitFor(() => lines().some((l) => l.writes > 0), 'the consistency checker to write', 15_000);
    return {
      cluster,
      checker: running,
      cli,
      lines,
      nextLine,
      stop: async () => {
        if (running.child.exitCode === null) running.child.kill('SIGKILL');
        await running.done.catch(() => undefined);
        await cluster.stop();
      },
    };
  } catch (error) {
    checker?.child.kill('SIGKILL');
    await cluster.stop();
    throw error;
  }
}

/** SIGTERM to the checker; its final summary line. */
export async function stopChecker(proof: ProofCluster): Promise<{ code: number | null; summary: CheckerLine }> {
  proof.checker.child.kill('SIGTERM');
  const result = await proof.checker.done;
  const summary = proof.lines().find((l) => l.summary);
  if (!summary) throw new Error(`the checker printed no summary line; stderr:\n${result.stderr}`);
  return { code: result.code, summary };
}
