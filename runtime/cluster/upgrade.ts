/**
 * The upgrade procedure: restart every outdated member of a {@link RestartableNodeSet} one at a time, in the
 * order the set gives (highest ordinal first), losing no acknowledged write. Before a master restarts, its
 * replica takes over with CLUSTER FAILOVER (without FORCE: the replica first catches up with the master's
 * replication offset, and the master stops taking writes meanwhile), and the step waits until the two have
 * swapped roles. After each restart it waits until the node answers with its old node id, is a member every
 * node reaches, its replication link is up and `check` passes on every member. Each step starts from what the
 * set and the nodes say now, so a rerun after a crash continues where the last one stopped.
 */
import { errorMessage, Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport } from './check';
import { connectNodes, NodeClient, NodeClients, NodeConnectionOptions } from './node-client';
import type { RestartableNodeSet } from './node-set';
import { NodeState, readCluster } from './node-state';
import { waitUntil } from './wait';

export interface UpgradeOptions {
  readonly replicasPerMaster: number;
  /** How each member is reached (password, TLS, timeouts). */
  readonly connection: NodeConnectionOptions;
  /** How long each wait (healthy cluster, failover, the node back) may take. */
  readonly timeoutMs: number;
}

export interface UpgradeStep {
  readonly node: string;
  readonly id: string;
  /** The replica that took over before the restart, when the node was a master serving slots. */
  readonly failedOverTo?: string;
  /** The address it answered at after the restart (the same one unless the set moves nodes). */
  readonly restartedAt: string;
  readonly ms: number;
}

export interface UpgradeResult {
  readonly steps: readonly UpgradeStep[];
  /** `cluster check` after the last step. */
  readonly report: CheckReport;
}

/** Runs `body` with a client of every member as the set lists them now. */
async function withMembers<T>(
  set: RestartableNodeSet,
  options: UpgradeOptions,
  log: Logger,
  body: (members: readonly NodeAddress[], nodes: NodeClients) => Promise<T>,
): Promise<T> {
  const members = await set.members();
  const nodes = await connectNodes(members, options.connection, log);
  try {
    return await body(members, nodes);
  } finally {
    await nodes.close();
  }
}

/** Waits until `check` passes on every member (and `extra` holds), returning the last report. */
async function waitHealthy(
  what: string,
  members: readonly NodeAddress[],
  nodes: NodeClients,
  options: UpgradeOptions,
  log: Logger,
  extra: (states: readonly NodeState[]) => string | undefined = () => undefined,
): Promise<{ report: CheckReport; states: readonly NodeState[] }> {
  let result: { report: CheckReport; states: readonly NodeState[] } | undefined;
  await waitUntil(
    what,
    options.timeoutMs,
    async () => {
      const cluster = await readCluster(nodes.clients, nodes.unreachable);
      const report = checkCluster(members, cluster, { replicasPerMaster: options.replicasPerMaster });
      result = { report, states: cluster.states };
      const missing = [...report.problems.map((p) => p.message), extra(cluster.states)].filter((m): m is string => m !== undefined);
      return { done: missing.length === 0, detail: missing.join('; ') };
    },
    log,
  );
  return result as { report: CheckReport; states: readonly NodeState[] };
}

/** CLUSTER FAILOVER on `replica`, then waits until it is the master and `master` its replica. */
async function failOver(master: NodeState, replica: NodeState, client: NodeClient, members: readonly NodeAddress[], nodes: NodeClients, options: UpgradeOptions, log: Logger) {
  log.info('failover', { node: master.node.address, to: replica.node.address });
  await client.ok('CLUSTER FAILOVER', 'CLUSTER', 'FAILOVER');
  await waitHealthy(`${replica.node.address} to take over from ${master.node.address}`, members, nodes, options, log, (states) => {
    const r = states.find((s) => s.id === replica.id);
    const m = states.find((s) => s.id === master.id);
    if (r?.myself.role !== 'master') return `${replica.node.address} is not a master yet`;
    if (m?.myself.role !== 'replica' || m.myself.masterId !== replica.id) return `${master.node.address} is not a replica of ${replica.node.address} yet`;
    return undefined;
  });
}

export async function upgradeCluster(set: RestartableNodeSet, options: UpgradeOptions, log: Logger): Promise<UpgradeResult> {
  const steps: UpgradeStep[] = [];
  const total = (await set.outdated()).length;
  log.info('upgrade', { set: set.description, outdated: total });
  for (;;) {
    const [next] = await set.outdated();
    if (!next) break;
    const start = Date.now();
    const step = await withMembers(set, options, log, async (members, nodes) => {
      // Never take a node down while the cluster is short of anything: a second failure could lose a shard.
      const { states } = await waitHealthy(`the cluster to be ok before restarting ${next.address}`, members, nodes, options, log);
      const node = states.find((s) => s.node.address === next.address);
      if (!node) throw new Error(`${next.address} is not among the members that answered`);
      let failedOverTo: string | undefined;
      if (node.myself.role === 'master' && node.myself.slots.length > 0) {
        const replicas = states.filter((s) => s.myself.role === 'replica' && s.myself.masterId === node.id && s.link?.up);
        const [replica] = replicas;
        if (!replica) {
          log.warn('master has no replica in sync: its slots are unavailable while it restarts', { node: node.node.address });
        } else {
          await failOver(node, replica, nodes.clients.find((c) => c.address === replica.node.address) as NodeClient, members, nodes, options, log);
          failedOverTo = replica.node.address;
        }
      }
      return { node, failedOverTo };
    });
    log.info('restart', { node: next.address, step: steps.length + 1, of: total });
    const restartedAt = await set.restart(next, log);
    await withMembers(set, options, log, async (members, nodes) => {
      await waitHealthy(`${restartedAt.address} to be back with node id ${step.node.id}`, members, nodes, options, log, (states) => {
        const back = states.find((s) => s.node.address === restartedAt.address);
        if (!back) return `${restartedAt.address} does not answer`;
        if (back.id !== step.node.id) throw new Error(`${restartedAt.address} came back with node id ${back.id}, not ${step.node.id}: its nodes.conf was lost`);
        return undefined;
      });
    });
    if ((await set.outdated()).some((n) => n.address === restartedAt.address)) throw new Error(`${restartedAt.address} is still outdated after its restart`);
    const done: UpgradeStep = {
      node: next.address,
      id: step.node.id,
      ...(step.failedOverTo ? { failedOverTo: step.failedOverTo } : {}),
      restartedAt: restartedAt.address,
      ms: Date.now() - start,
    };
    steps.push(done);
    log.info('restarted', { ...done });
  }
  const report = await withMembers(
    set,
    options,
    log,
    async (members, nodes) => (await waitHealthy('the cluster to be ok after the upgrade', members, nodes, options, log)).report,
  ).catch((error: unknown) => {
    throw new Error(`upgrade: ${errorMessage(error)}`);
  });
  log.info('upgrade done', { restarted: steps.length });
  return { steps, report };
}
