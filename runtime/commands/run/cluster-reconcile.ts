/** The work of `redis-keda cluster reconcile`, loaded when it runs. */
import { reconcileCluster } from '../../cluster/reconcile';
import { repairCommand } from './cluster-nodes';

export const run = repairCommand('reconcile', (nodes, { clients, unreachable }, options, log) => reconcileCluster(nodes, clients, unreachable, options, log));
