/**
 * Names and references over a set of synthesized objects: every object carries `metadata.name`, and every
 * reference one object makes to another resolves to an object of the right kind (and namespace) in the set:
 * - pod templates: ConfigMap and Secret volumes, `configMapKeyRef` / `secretKeyRef` / `envFrom`, image pull
 *   Secrets, the service account, volume mounts to volumes (or StatefulSet claim templates), in-cluster hosts
 *   in `*_HOST` env (`<service>[.<namespace>].svc[.cluster.local]` or a bare name) to Services;
 * - StatefulSet `serviceName`, Service selectors and PodMonitor selectors to the pods of a workload in the set
 *   (and a PodMonitor's endpoint port to a named container port of those pods);
 * - KEDA: `scaleTargetRef` to the workload, `authenticationRef` to a TriggerAuthentication, a trigger's in-cluster
 *   `address` / `host` / `scalerAddress` (external) to a Service with that port, a TriggerAuthentication's `secretTargetRef` to a Secret.
 * Secrets are never synthesized (no secrets in dist/): the Secret names a set expects to find in the cluster are
 * given as `externalSecrets`. Pure functions over plain objects, used by the jest suites and `scripts/pack-check`.
 */
import type { KubeObject as Doc } from './load-dist';
import { podTemplatesOf } from './house-rules';

export interface ReferenceOptions {
  /**
   * Secrets that exist in the cluster rather than in the set; `'any'` accepts every Secret name.
   * A Secret in the set always resolves.
   */
  readonly externalSecrets?: readonly string[] | 'any';
}

/** `metadata.name` missing or empty, one line per object. */
export function unnamedObjects(docs: readonly Doc[]): string[] {
  return docs.flatMap((d, i) =>
    typeof d.metadata?.name === 'string' && d.metadata.name !== ''
      ? []
      : [`${String(d.kind)} #${i} (namespace ${JSON.stringify(d.metadata?.namespace ?? null)}): metadata.name is missing`],
  );
}

/** Every reference that does not resolve, one line each; empty when all do. Unnamed objects are reported too. */
export function referenceViolations(docs: readonly Doc[], options: ReferenceOptions = {}): string[] {
  const v: string[] = [...unnamedObjects(docs)];
  const find = (kind: string, name: unknown, namespace: string, group?: string) =>
    docs.find((d) => d.kind === kind && d.metadata?.name === name && namespaceOf(d) === namespace && (group === undefined || groupOf(d.apiVersion) === group));
  const secretKnown = (name: unknown, namespace: string) => {
    if (find('Secret', name, namespace, '')) return true;
    const external = options.externalSecrets ?? [];
    return typeof name === 'string' && name !== '' && (external === 'any' || external.includes(name));
  };
  const workloads = docs.flatMap((d) => podTemplatesOf(d).map((t) => ({ doc: d, ...t, labels: podLabels(d, t.path) })));

  for (const w of workloads) {
    const at = `${describe(w.doc)} ${w.path}`;
    const ns = namespaceOf(w.doc);
    const spec = record(w.podSpec);
    const volumes = list(spec.volumes).map(record);
    const volumeNames = new Set(volumes.map((vol) => vol.name));
    if (w.doc.kind === 'StatefulSet') {
      for (const t of list(record(w.doc.spec).volumeClaimTemplates)) volumeNames.add(record(record(t).metadata).name);
    }
    for (const vol of volumes) {
      const cm = record(vol.configMap);
      if (vol.configMap && !cm.optional && !find('ConfigMap', cm.name, ns, ''))
        v.push(`${at}: volume "${String(vol.name)}" names ConfigMap/${String(cm.name)}, which is not in the output`);
      const secret = record(vol.secret);
      if (vol.secret && !secret.optional && !secretKnown(secret.secretName, ns))
        v.push(`${at}: volume "${String(vol.name)}" names Secret/${String(secret.secretName)}, which is not in the output nor expected`);
    }
    for (const s of list(spec.imagePullSecrets)) {
      if (!secretKnown(record(s).name, ns)) v.push(`${at}: imagePullSecrets names Secret/${String(record(s).name)}, which is not in the output nor expected`);
    }
    const account = spec.serviceAccountName;
    if (account !== undefined && account !== 'default' && !find('ServiceAccount', account, ns, '')) {
      v.push(`${at}: serviceAccountName names ServiceAccount/${String(account)}, which is not in the output`);
    }
    for (const c of [...list(spec.containers), ...list(spec.initContainers)].map(record)) {
      const cat = `${at} container "${String(c.name)}"`;
      for (const m of list(c.volumeMounts).map(record)) {
        if (!volumeNames.has(m.name)) v.push(`${cat}: volumeMount "${String(m.name)}" names no volume of the pod`);
      }
      for (const e of list(c.env).map(record)) {
        const from = record(e.valueFrom);
        const cmRef = record(from.configMapKeyRef);
        if (from.configMapKeyRef && !cmRef.optional && !find('ConfigMap', cmRef.name, ns, ''))
          v.push(`${cat}: env ${String(e.name)} names ConfigMap/${String(cmRef.name)}, which is not in the output`);
        const secretRef = record(from.secretKeyRef);
        if (from.secretKeyRef && !secretRef.optional && !secretKnown(secretRef.name, ns))
          v.push(`${cat}: env ${String(e.name)} names Secret/${String(secretRef.name)}, which is not in the output nor expected`);
        if (typeof e.name === 'string' && e.name.endsWith('_HOST') && typeof e.value === 'string') {
          const svc = inClusterService(e.value, ns);
          if (svc && !find('Service', svc.name, svc.namespace, ''))
            v.push(`${cat}: env ${e.name} "${e.value}" names Service/${svc.name} in namespace "${svc.namespace}", which is not in the output`);
        }
      }
      for (const e of list(c.envFrom).map(record)) {
        const cmRef = record(e.configMapRef);
        if (e.configMapRef && !cmRef.optional && !find('ConfigMap', cmRef.name, ns, ''))
          v.push(`${cat}: envFrom names ConfigMap/${String(cmRef.name)}, which is not in the output`);
        const secretRef = record(e.secretRef);
        if (e.secretRef && !secretRef.optional && !secretKnown(secretRef.name, ns))
          v.push(`${cat}: envFrom names Secret/${String(secretRef.name)}, which is not in the output nor expected`);
      }
    }
  }

  const podsSelected = (selector: Record<string, unknown>, ns: string) =>
    workloads.filter((w) => namespaceOf(w.doc) === ns && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, val]) => w.labels[k] === val));

  for (const d of docs) {
    const ns = namespaceOf(d);
    const spec = record(d.spec);
    if (d.kind === 'StatefulSet' && spec.serviceName !== undefined && !find('Service', spec.serviceName, ns, '')) {
      v.push(`${describe(d)}: spec.serviceName names Service/${String(spec.serviceName)}, which is not in the output`);
    }
    if (d.kind === 'Service' && groupOf(d.apiVersion) === '' && spec.selector !== undefined && podsSelected(record(spec.selector), ns).length === 0) {
      v.push(`${describe(d)}: spec.selector ${JSON.stringify(spec.selector)} selects the pods of no workload in the output`);
    }
    if (d.kind === 'PodMonitor' && groupOf(d.apiVersion) === 'monitoring.coreos.com') {
      const selected = podsSelected(record(record(spec.selector).matchLabels), ns);
      if (selected.length === 0)
        v.push(`${describe(d)}: spec.selector.matchLabels ${JSON.stringify(record(spec.selector).matchLabels)} selects the pods of no workload in the output`);
      for (const ep of list(spec.podMetricsEndpoints).map(record)) {
        if (ep.port === undefined) continue;
        const missing = selected.filter((w) => !list(record(w.podSpec).containers).some((c) => list(record(c).ports).some((p) => record(p).name === ep.port)));
        for (const w of missing) v.push(`${describe(d)}: endpoint port "${String(ep.port)}" is no named container port of ${describe(w.doc)}`);
      }
    }
    if (groupOf(d.apiVersion) !== 'keda.sh') continue;
    if (d.kind === 'ScaledObject') {
      const ref = record(spec.scaleTargetRef);
      const kind = typeof ref.kind === 'string' ? ref.kind : 'Deployment';
      const group = groupOf(typeof ref.apiVersion === 'string' ? ref.apiVersion : 'apps/v1');
      if (!find(kind, ref.name, ns, group)) v.push(`${describe(d)}: spec.scaleTargetRef names ${kind}/${String(ref.name)}, which is not in the output`);
    }
    if (d.kind === 'ScaledObject' || d.kind === 'ScaledJob') {
      list(spec.triggers)
        .map(record)
        .forEach((t, i) => {
          const auth = record(t.authenticationRef);
          const authKind = typeof auth.kind === 'string' ? auth.kind : 'TriggerAuthentication';
          // ClusterTriggerAuthentications are cluster-wide and usually managed apart from an app.
          if (t.authenticationRef && authKind === 'TriggerAuthentication' && !find('TriggerAuthentication', auth.name, ns, 'keda.sh')) {
            v.push(`${describe(d)}: triggers[${i}].authenticationRef names TriggerAuthentication/${String(auth.name)}, which is not in the output`);
          }
          const meta = record(t.metadata);
          const given = typeof meta.address === 'string' ? meta.address : typeof meta.scalerAddress === 'string' ? meta.scalerAddress : undefined;
          const address = given !== undefined ? splitAddress(given) : typeof meta.host === 'string' ? { host: meta.host, port: Number(meta.port) } : undefined;
          const svc = address && inClusterService(address.host, ns);
          if (!svc) return;
          const service = find('Service', svc.name, svc.namespace, '');
          if (!service) v.push(`${describe(d)}: triggers[${i}] address "${address.host}" names Service/${svc.name} in namespace "${svc.namespace}", which is not in the output`);
          else if (!list(record(service.spec).ports).some((p) => record(p).port === address.port))
            v.push(`${describe(d)}: triggers[${i}] port ${address.port} is no port of ${describe(service)}`);
        });
    }
    if (d.kind === 'TriggerAuthentication') {
      for (const r of list(spec.secretTargetRef).map(record)) {
        if (!secretKnown(r.name, ns)) v.push(`${describe(d)}: secretTargetRef "${String(r.parameter)}" names Secret/${String(r.name)}, which is not in the output nor expected`);
      }
    }
  }
  return v;
}

/**
 * The Service an in-cluster host names: `<service>.<namespace>.svc[.cluster.local]`, or a bare `<service>` in the
 * referrer's namespace; undefined for anything else (an external host, an IP, `localhost`).
 */
export function inClusterService(host: string, namespace: string): { name: string; namespace: string } | undefined {
  const qualified = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host);
  if (qualified) return { name: qualified[1], namespace: qualified[2] };
  if (/^[a-z0-9-]+$/.test(host) && host !== 'localhost') return { name: host, namespace };
  return undefined;
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return i < 0 ? { host: address, port: NaN } : { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Labels of the pods a workload makes: the pod template's (or, for a Pod, its own). */
function podLabels(doc: Doc, podSpecPath: string): Record<string, unknown> {
  const segments = podSpecPath.split('.').slice(0, -1);
  let cur: unknown = doc;
  for (const s of segments) cur = record(cur)[s];
  return record(record(record(cur).metadata).labels);
}

function describe(d: Doc): string {
  return `${String(d.kind)}/${String(d.metadata?.name)}`;
}

function namespaceOf(d: Doc): string {
  return typeof d.metadata?.namespace === 'string' ? d.metadata.namespace : '';
}

function groupOf(apiVersion: unknown): string {
  return typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

function record(v: unknown): Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, any>) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
