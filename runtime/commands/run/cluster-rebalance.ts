/** The work of `redis-keda cluster rebalance`, loaded when it runs. */
import { rebalanceCluster } from '../../cluster/rebalance';
import { migrateOptions, parseWeights, RebalanceArgs } from '../cluster';
import { runCommand } from '../common';
import { memberNodes, withNodes } from './cluster-nodes';

export const run = runCommand<RebalanceArgs>(async (args, log) => {
  const nodes = await memberNodes(args);
  const result = await withNodes(nodes, args, log, async ({ clients, unreachable }) => {
    if (unreachable.length > 0) throw new Error(`cluster rebalance needs every member node; not reachable: ${unreachable.map((u) => `${u.node.address} (${u.error})`).join('; ')}`);
    return rebalanceCluster(
      nodes,
      clients,
      {
        replicasPerMaster: args['replicas-per-master'],
        timeoutMs: args.timeout * 1000,
        migrate: migrateOptions(args),
        weights: parseWeights(args.weights),
        useEmptyMasters: args['use-empty-masters'],
      },
      log,
    );
  });
  log.info(result.changed ? 'cluster rebalanced' : 'cluster was balanced already', { slots: result.moves.reduce((n, m) => n + m.count, 0), keys: result.keys });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});
