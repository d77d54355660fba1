/** What the cluster subcommands share: a connection to every listed node, with the password from the environment. */
import { NodeAddress } from '../../cluster/addresses';
import { connectNodes, NodeClients, NodeConnectionOptions } from '../../cluster/node-client';
import type { Logger } from '../../log';
import type { ClusterArgs } from '../cluster';
import { credentialOptions } from '../common';

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
