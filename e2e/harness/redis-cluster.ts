/** What the RedisCluster suites share: the StatefulSet's pods and claims read through the API, pre-bound volumes, a changed template, the claim watch of a shrink. */
import type { KubernetesApi, PersistentVolumeClaim, Pod } from '../../runtime/cluster/kubernetes/api-client';
import { podOrdinal } from '../../runtime/cluster/kubernetes/stateful-set-nodes';
import type { ChartObject } from './charts';

/** The pods of StatefulSet `name` by ordinal. */
export async function statefulSetPods(api: KubernetesApi, namespace: string, name: string): Promise<Map<number, Pod>> {
  const list = (await api.call('GET', `/api/v1/namespaces/${namespace}/pods`)) as { items: Pod[] };
  const result = new Map<number, Pod>();
  for (const pod of list.items) {
    const ordinal = podOrdinal(name, pod.metadata.name);
    if (ordinal !== undefined) result.set(ordinal, pod);
  }
  return result;
}

/** Every claim of the namespace by name. */
export async function claimsOf(api: KubernetesApi, namespace: string): Promise<Map<string, PersistentVolumeClaim>> {
  const list = (await api.call('GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`)) as { items: PersistentVolumeClaim[] };
  return new Map(list.items.map((c) => [c.metadata.name, c]));
}

/** A PersistentVolume pre-bound to each claim (the plane has no provisioner). */
export function preBoundVolumes(namespace: string, claims: readonly string[], storage: string): object[] {
  return claims.map((claim) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pv-${claim}` },
    spec: {
      capacity: { storage },
      accessModes: ['ReadWriteOnce'],
      storageClassName: '',
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/tmp/${claim}` },
      claimRef: { namespace, name: claim },
    },
  }));
}

/** The manifest with a changed pod template (a new revision), as a new synth of a changed app would be. */
export function withTemplateAnnotation(manifest: ChartObject, value: string): ChartObject {
  const spec = manifest.spec as any;
  return { ...manifest, spec: { ...spec, template: { ...spec.template, metadata: { ...spec.template.metadata, annotations: { 'e2e.redis-keda.dev/rev': value } } } } };
}

/**
 * Runs `body` (a shrink) while polling pods and claims every `intervalMs`: each time a pod of `ordinals`
 * exists while its claim is gone or terminating is a violation. Returns the violations and the polls made.
 */
export async function watchClaimsWhilePodsExist(
  api: KubernetesApi,
  namespace: string,
  name: string,
  ordinals: readonly number[],
  intervalMs: number,
  body: () => Promise<void>,
): Promise<{ violations: string[]; polls: number }> {
  const violations: string[] = [];
  let polls = 0;
  let running = true;
  const watcher = (async () => {
    while (running) {
      const [pods, claims] = await Promise.all([statefulSetPods(api, namespace, name), claimsOf(api, namespace)]);
      polls++;
      for (const ordinal of ordinals) {
        const claim = claims.get(`data-${name}-${ordinal}`);
        if (pods.has(ordinal) && (!claim || claim.metadata.deletionTimestamp))
          violations.push(`poll ${polls}: pod ${name}-${ordinal} exists, its claim ${claim ? 'terminating' : 'gone'}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    await body();
  } finally {
    running = false;
    await watcher;
  }
  return { violations, polls };
}
