/** How the cluster subcommands connect to a node: the credentials of the flags and env, under the tool's connection name. */
import { NodeConnectionOptions } from '../../cluster/node-client';
import type { ClusterArgs } from '../cluster';
import { credentialOptions } from '../common';

export function nodeConnectionOptions(args: ClusterArgs, env: NodeJS.ProcessEnv = process.env): NodeConnectionOptions {
  return { ...credentialOptions(args, env), connectionName: 'redis-keda-cluster' };
}
