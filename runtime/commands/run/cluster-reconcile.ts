/** The work of `redis-keda cluster reconcile`, loaded when it runs. */
import { reconcileCluster } from '../../cluster/reconcile';
import { listedNodes, ReconcileArgs } from '../cluster';
import { runCommand } from '../common';
import { withNodes } from './cluster-nodes';

export const run = runCommand<ReconcileArgs>(async (args, log) => {
  const nodes = listedNodes(args);
  const result = await withNodes(nodes, args, log, ({ clients, unreachable }) =>
    reconcileCluster(nodes, clients, unreachable, { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000 }, log),
  );
  if (result.report.ok) log.info('cluster ok', { actions: result.actions.length });
  else log.warn('cluster not ok after reconcile', { actions: result.actions.length, problems: result.report.problems.length });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});
