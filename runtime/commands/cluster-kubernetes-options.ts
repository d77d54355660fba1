/** The options of `redis-keda cluster` in Kubernetes mode: the StatefulSet whose pods are the nodes, and how to reach the API. */
import type { EnvOption } from '../config';
import { Env } from '../contract';

export const KUBERNETES_OPTIONS = {
  statefulset: {
    env: Env.CLUSTER_STATEFULSET,
    type: 'string',
    describe:
      'Kubernetes mode: the StatefulSet whose pods are the nodes, in ordinal order, instead of --nodes (create reads both: it grows the StatefulSet to the listed nodes first and holds its partition)',
  },
  namespace: {
    env: Env.CLUSTER_NAMESPACE,
    type: 'string',
    describe: "Kubernetes mode: the StatefulSet's namespace (default: the kubeconfig context's, or the pod's own)",
  },
  kubeconfig: {
    env: Env.KUBECONFIG,
    type: 'string',
    describe: "Kubernetes mode: a kubeconfig file (its current context); without it, the pod's service account",
  },
  'node-addressing': {
    env: Env.CLUSTER_NODE_ADDRESSING,
    type: 'string',
    choices: ['dns', 'pod-ip'],
    default: 'dns',
    describe: 'Kubernetes mode: reach each pod by its DNS name under the headless Service, or by its pod IP',
  },
} satisfies Record<string, EnvOption>;
