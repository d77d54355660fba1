/** The work of `redis-keda cluster fix`, loaded when it runs. */
import { fixCluster } from '../../cluster/fix';
import { repairCommand } from './cluster-nodes';

export const run = repairCommand('fix', (nodes, { clients, unreachable }, options, log) => fixCluster(nodes, clients, unreachable, options, log));
