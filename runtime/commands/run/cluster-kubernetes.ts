/**
 * Kubernetes mode of the cluster subcommands: the StatefulSet named by `--statefulset`, reached through
 * `--kubeconfig` or the pod's service account. `scale` and `upgrade` take the set this returns as their
 * ScalableNodeSet / RestartableNodeSet; the others its members (`memberNodes` in ./cluster-nodes).
 */
import { inClusterAccess, KubernetesApi, kubeconfigAccess } from '../../cluster/kubernetes/api-client';
import { NodeAddressing, StatefulSetNodes } from '../../cluster/kubernetes/stateful-set-nodes';
import { UsageError } from '../../config';
import { DEFAULT_CLUSTER_TIMEOUT_SECONDS, Env } from '../../contract';
import type { ClusterArgs, CreateArgs } from '../cluster';
import { nodeConnectionOptions } from './cluster-connection';

/** The flags Kubernetes mode reads; `--timeout` only where the subcommand waits (check and exec read members only). */
export type KubernetesArgs = ClusterArgs & Partial<Pick<CreateArgs, 'timeout'>>;

/** The StatefulSet's nodes, or undefined in address mode (no `--statefulset`). */
export function statefulSetNodes(args: KubernetesArgs, env: NodeJS.ProcessEnv = process.env): StatefulSetNodes | undefined {
  if (args.statefulset === undefined || args.statefulset.trim() === '') return undefined;
  const access = args.kubeconfig ? kubeconfigAccess(args.kubeconfig) : inClusterAccess(env);
  const namespace = args.namespace ?? access.namespace;
  if (!namespace) throw new UsageError(`--namespace (or env ${Env.CLUSTER_NAMESPACE}) must name the StatefulSet's namespace: the kubeconfig's context names none`);
  return new StatefulSetNodes(new KubernetesApi(access), {
    namespace,
    name: args.statefulset,
    timeoutMs: (args.timeout ?? DEFAULT_CLUSTER_TIMEOUT_SECONDS) * 1000,
    addressing: args['node-addressing'] as NodeAddressing,
    connection: nodeConnectionOptions(args, env),
  });
}
