// Your own Deployment, built with the cdk8s-plus major your cluster's Kubernetes version wants (here
// cdk8s-plus-33), scaled by a KedaScaledObject on a RedisQueue's list. The ScaledObject marks it autoscaled,
// so its YAML carries no `replicas` for GitOps and the HPA to fight over.
// Expects the Secret `redis-auth` (key `password`) in namespace `own`.
import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import { GitOpsApp, KedaScaledObject, RedisQueue } from 'cdk8s-redis-keda';

const app = new GitOpsApp({ namespaces: true });
const chart = new Chart(app, 'own', { namespace: 'own' });
const queue = new RedisQueue(chart, 'queue', {
  password: { secret: kplus.Secret.fromSecretName(chart, 'auth', 'redis-auth'), key: 'password' },
});
const worker = new kplus.Deployment(chart, 'worker', {
  securityContext: { user: 1000, group: 1000, ensureNonRoot: true },
  automountServiceAccountToken: false,
  containers: [
    {
      name: 'worker',
      image: 'registry.example.com/my-worker:1.4.2',
      envVariables: queue.envVariables(), // REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, LIST_NAME
      resources: { cpu: { request: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) } },
      // What the Pod Security "restricted" profile asks of every container.
      securityContext: {
        user: 1000,
        group: 1000,
        ensureNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
    },
  ],
});
new KedaScaledObject(chart, 'worker-scaler', {
  target: worker,
  // KEDA reads host and port from the worker's own env, which must define them (checked at synth).
  triggers: [queue.listTrigger({ listLength: 10, addressFromEnv: true })],
  maxReplicas: 10,
});
app.synth();
