/** The work of `redis-keda cluster fix`, loaded when it runs. */
import { fixCluster } from '../../cluster/fix';
import { FixArgs, listedNodes, migrateOptions } from '../cluster';
import { runCommand } from '../common';
import { withNodes } from './cluster-nodes';

export const run = runCommand<FixArgs>(async (args, log) => {
  const nodes = listedNodes(args);
  const result = await withNodes(nodes, args, log, ({ clients, unreachable }) =>
    fixCluster(nodes, clients, unreachable, { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000, migrate: migrateOptions(args) }, log),
  );
  if (result.report.ok) log.info('cluster ok', { actions: result.actions.length });
  else log.warn('cluster not ok after fix', { actions: result.actions.length, problems: result.report.problems.length });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});
