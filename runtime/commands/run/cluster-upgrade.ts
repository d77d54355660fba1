/** The work of `redis-keda cluster upgrade` (Kubernetes mode), loaded when it runs. */
import { upgradeCluster } from '../../cluster/upgrade';
import { CreateArgs } from '../cluster';
import { runCommand } from '../common';
import { nodeConnectionOptions } from './cluster-nodes';
import { statefulSetNodes } from './cluster-kubernetes';

export const run = runCommand<CreateArgs>(async (args, log) => {
  const set = statefulSetNodes(args);
  if (!set) throw new Error('cluster upgrade needs --statefulset');
  const result = await upgradeCluster(set, { replicasPerMaster: args['replicas-per-master'], connection: nodeConnectionOptions(args), timeoutMs: args.timeout * 1000 }, log);
  log.info(result.steps.length > 0 ? 'cluster upgraded' : 'every pod is on the update revision already', { steps: result.steps.length, ok: result.report.ok });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});
