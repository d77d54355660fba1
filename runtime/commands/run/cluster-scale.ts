/** The work of `redis-keda cluster scale` in address mode, loaded when it runs. */
import { parseNodeAddresses } from '../../cluster/addresses';
import { connectNodes } from '../../cluster/node-client';
import { NodeSet } from '../../cluster/node-set';
import { scaleCluster } from '../../cluster/scale';
import { Env } from '../../contract';
import { listedNodes, migrateOptions, ScaleArgs } from '../cluster';
import { runCommand } from '../common';
import { nodeConnectionOptions } from './cluster-nodes';

export const run = runCommand<ScaleArgs>(async (args, log) => {
  const nodes = listedNodes(args);
  // Address mode: the desired membership is the list as given.
  const set: NodeSet = { description: `nodes ${nodes.map((n) => n.address).join(',')}`, members: () => Promise.resolve(nodes) };
  const seeds = args.seed?.trim() ? parseNodeAddresses(args.seed, `--seed (or env ${Env.CLUSTER_SEED})`) : [];
  const options = nodeConnectionOptions(args);
  const result = await scaleCluster(
    set,
    seeds,
    (list) => connectNodes(list, options, log),
    { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000, migrate: migrateOptions(args) },
    log,
  );
  log.info(result.changed ? 'cluster scaled' : 'cluster had the listed membership already', {
    joined: result.joined.length,
    removed: result.removed.length,
    masters: result.report.masters.length,
  });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});
