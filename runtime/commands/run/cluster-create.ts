/** The work of `redis-keda cluster create`, loaded when it runs. */
import { createCluster } from '../../cluster/create';
import { listedNodes, CreateArgs } from '../cluster';
import { runCommand } from '../common';
import { statefulSetNodes } from './cluster-kubernetes';
import { withNodes } from './cluster-nodes';

export const run = runCommand<CreateArgs>(async (args, log) => {
  const nodes = listedNodes(args);
  // Kubernetes mode: the StatefulSet grows to the listed nodes first (partition held at that count), so its manifest names no replicas.
  await statefulSetNodes(args)?.grow(nodes.length, log);
  const result = await withNodes(nodes, args, log, async ({ clients, unreachable }) => {
    if (unreachable.length > 0) throw new Error(`cluster create needs every node; not reachable: ${unreachable.map((u) => `${u.node.address} (${u.error})`).join('; ')}`);
    return createCluster(nodes, clients, { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000 }, log);
  });
  log.info(result.changed ? 'cluster created' : 'cluster was created already', { masters: result.report.masters.length, actions: result.actions.length });
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
});
