/** The work of `redis-keda cluster fix`, loaded when it runs. */
import { fixCluster } from '../../cluster/fix';
import { FixArgs, migrateOptions } from '../cluster';
import { repairCommand, repairOptions } from './cluster-nodes';

export const run = repairCommand<FixArgs>('fix', (nodes, { clients, unreachable }, args, log) =>
  fixCluster(nodes, clients, unreachable, { ...repairOptions(args), migrate: migrateOptions(args) }, log),
);
