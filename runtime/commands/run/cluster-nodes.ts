/** What the cluster subcommands share: a connection to every listed node, with the password from the environment. */
import { NodeAddress } from '../../cluster/addresses';
import { connectNodes, NodeClients, NodeConnectionOptions } from '../../cluster/node-client';
import { Env } from '../../contract';
import type { Logger } from '../../log';
import type { ClusterArgs } from '../cluster';

export function nodeConnectionOptions(args: ClusterArgs, env: NodeJS.ProcessEnv = process.env): NodeConnectionOptions {
  return {
    username: args['redis-username'],
    password: env[Env.REDIS_PASSWORD] || undefined,
    tls: args['redis-tls'],
    tlsCaFile: args['redis-tls-ca-file'],
    tlsCa: env[Env.REDIS_TLS_CA] || undefined,
    connectTimeoutMs: args['redis-connect-timeout'] * 1000,
    connectionName: 'redis-keda-cluster',
  };
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
