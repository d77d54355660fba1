/** The work of `redis-keda cluster scale`, loaded when it runs: address mode (--nodes) or Kubernetes mode (--statefulset, --masters). */
import { NodeAddress, parseNodeAddresses } from '../../cluster/addresses';
import { connectNodes } from '../../cluster/node-client';
import { NodeSet } from '../../cluster/node-set';
import { scaleCluster, ScaleResult } from '../../cluster/scale';
import { Env } from '../../contract';
import type { Logger } from '../../log';
import { listedNodes, migrateOptions, ScaleArgs } from '../cluster';
import { runCommand } from '../common';
import { nodeConnectionOptions } from './cluster-nodes';
import { statefulSetNodes } from './cluster-kubernetes';

function fixedSet(nodes: readonly NodeAddress[]): NodeSet {
  return { description: `nodes ${nodes.map((n) => n.address).join(',')}`, members: () => Promise.resolve(nodes) };
}

export const run = runCommand<ScaleArgs>(async (args, log) => {
  const options = nodeConnectionOptions(args);
  const scale = (set: NodeSet, seeds: readonly NodeAddress[]) =>
    scaleCluster(
      set,
      seeds,
      (list) => connectNodes(list, options, log),
      { replicasPerMaster: args['replicas-per-master'], timeoutMs: args.timeout * 1000, migrate: migrateOptions(args) },
      log,
    );
  const statefulSet = statefulSetNodes(args);
  const result = statefulSet ? await scaleStatefulSet(statefulSet, (args.masters as number) * (args['replicas-per-master'] + 1), scale, log) : await scaleListed(args, scale);
  log.info(result.changed ? 'cluster scaled' : 'cluster had the membership already', {
    joined: result.joined.length,
    removed: result.removed.length,
    masters: result.report.masters.length,
  });
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.report.ok ? 0 : 1;
});

type Scale = (set: NodeSet, seeds: readonly NodeAddress[]) => Promise<ScaleResult>;

/** Address mode: the desired membership is the list as given. */
function scaleListed(args: ScaleArgs, scale: Scale): Promise<ScaleResult> {
  const seeds = args.seed?.trim() ? parseNodeAddresses(args.seed, `--seed (or env ${Env.CLUSTER_SEED})`) : [];
  return scale(fixedSet(listedNodes(args)), seeds);
}

/**
 * Kubernetes mode. Growing: the pods first, then the new ones join. Shrinking: the leaving ordinals are drained
 * and forgotten while their pods still run, and only then does the StatefulSet shrink (and their claims go).
 * A rerun after a crash converges: the Redis side is idempotent, and so are grow and shrink.
 */
async function scaleStatefulSet(set: NonNullable<ReturnType<typeof statefulSetNodes>>, pods: number, scale: Scale, log: Logger): Promise<ScaleResult> {
  const current = await set.members();
  if (pods >= current.length) {
    const members = pods > current.length ? await set.grow(pods, log) : current;
    return scale(fixedSet(members), []);
  }
  const result = await scale(fixedSet(current.slice(0, pods)), current);
  if (result.report.ok) await set.shrink(pods, log);
  else log.warn('the StatefulSet keeps its pods: the cluster is not ok after the drain', { problems: result.report.problems.length });
  return result;
}
