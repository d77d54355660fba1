/** The work of `redis-keda cluster check`, loaded when it runs. */
import { checkCluster } from '../../cluster/check';
import { readCluster } from '../../cluster/node-state';
import { ClusterArgs } from '../cluster';
import { runCommand } from '../common';
import { memberNodes, withNodes } from './cluster-nodes';

export const run = runCommand<ClusterArgs>(async (args, log) => {
  const nodes = await memberNodes(args);
  const report = await withNodes(nodes, args, log, async ({ clients, unreachable }) =>
    checkCluster(nodes, await readCluster(clients, unreachable), { replicasPerMaster: args['replicas-per-master'] }),
  );
  if (report.ok) log.info('cluster ok', { masters: report.masters.length, slots: report.slots.covered });
  else log.warn('cluster not ok', { problems: report.problems.length });
  process.stdout.write(JSON.stringify(report) + '\n');
  return report.ok ? 0 : 1;
});
