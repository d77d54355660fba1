/** The work of `redis-keda cluster reconcile`, loaded when it runs. */
import { reconcileCluster } from '../../cluster/reconcile';
import { repairCommand, repairOptions } from './cluster-nodes';

export const run = repairCommand('reconcile', (nodes, { clients, unreachable }, args, log) => reconcileCluster(nodes, clients, unreachable, repairOptions(args), log));
