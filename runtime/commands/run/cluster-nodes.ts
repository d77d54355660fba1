/** What the cluster subcommands share: a connection to every listed node, with the password from the environment. */
import { NodeAddress } from '../../cluster/addresses';
import { connectNodes, NodeClients, NodeConnectionOptions } from '../../cluster/node-client';
import type { Logger } from '../../log';
import type { CheckReport } from '../../cluster/check';
import { ClusterArgs, CreateArgs, listedNodes } from '../cluster';
import { credentialOptions, runCommand } from '../common';

export function nodeConnectionOptions(args: ClusterArgs, env: NodeJS.ProcessEnv = process.env): NodeConnectionOptions {
  return { ...credentialOptions(args, env), connectionName: 'redis-keda-cluster' };
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
 * The body of a command that repairs (fix, reconcile): runs `repair` on every listed node, prints its result,
 * exit 1 when the check after it is not ok.
 */
export function repairCommand<A extends CreateArgs>(
  name: string,
  repair: (nodes: readonly NodeAddress[], clients: NodeClients, args: A, log: Logger) => Promise<{ readonly actions: readonly unknown[]; readonly report: CheckReport }>,
) {
  return runCommand<A>(async (args, log) => {
    const nodes = listedNodes(args);
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
