/**
 * What the cluster subcommands share: the nodes they work on (the listed ones, or a StatefulSet's pods), a
 * connection to each, with the password from the environment.
 */
import { NodeAddress } from '../../cluster/addresses';
import { connectNodes, NodeClients } from '../../cluster/node-client';
import type { Logger } from '../../log';
import type { CheckReport } from '../../cluster/check';
import { ClusterArgs, CreateArgs, listedNodes } from '../cluster';
import { runCommand } from '../common';
import { nodeConnectionOptions } from './cluster-connection';
import { KubernetesArgs, statefulSetNodes } from './cluster-kubernetes';

export { nodeConnectionOptions } from './cluster-connection';

/**
 * The nodes a command works on, in order: in Kubernetes mode the StatefulSet's pods of ordinals 0 .. replicas-1
 * (so an index is a pod's ordinal; `--nodes` is not read), else `--nodes` as listed.
 */
export async function memberNodes(args: KubernetesArgs, env: NodeJS.ProcessEnv = process.env): Promise<readonly NodeAddress[]> {
  const set = statefulSetNodes(args, env);
  return set ? set.members() : listedNodes(args);
}

/** Runs `body` with a client of every listed node, closing them after. */
export async function withNodes<T>(nodes: readonly NodeAddress[], args: ClusterArgs, log: Logger, body: (clients: NodeClients) => Promise<T>): Promise<T> {
  const clients = await connectNodes(nodes, nodeConnectionOptions(args), log);
  try {
    return await body(clients);
  } finally {
    await clients.close();
  }
}

/**
 * The body of a command that repairs (fix, reconcile): runs `repair` on every member node (listed, or the
 * StatefulSet's pods), prints its result, exit 1 when the check after it is not ok.
 */
export function repairCommand<A extends CreateArgs>(
  name: string,
  repair: (nodes: readonly NodeAddress[], clients: NodeClients, args: A, log: Logger) => Promise<{ readonly actions: readonly unknown[]; readonly report: CheckReport }>,
) {
  return runCommand<A>(async (args, log) => {
    const nodes = await memberNodes(args);
    const result = await withNodes(nodes, args, log, (clients) => repair(nodes, clients, args, log));
    if (result.report.ok) log.info('cluster ok', { actions: result.actions.length });
    else log.warn(`cluster not ok after ${name}`, { actions: result.actions.length, problems: result.report.problems.length });
    process.stdout.write(JSON.stringify(result) + '\n');
    return result.report.ok ? 0 : 1;
  });
}

/** The waits of a repair from its flags. */
export function repairOptions(args: CreateArgs) {
  return { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000 };
}
