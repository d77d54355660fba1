/**
 * Our own manifest rules on top of the upstream schemas and the Pod Security Standards: where pod templates
 * live in each workload kind, per-container rules (requests, pinned images, no secrets in plain env), and
 * rules across the documents of one chart folder (KEDA targets carry no `replicas`, replica ranges).
 * Pure functions over plain objects, so the negative cases are tested without any dist/.
 */
import { isQualifiedName } from '../../scripts/strict-crd-schema';
import type { KubeObject as Doc } from './load-dist';
import { allContainers } from './pod-security';

export interface PodTemplate {
  /** JSON-ish path of the PodSpec in the document, e.g. `spec.jobTemplate.spec.template.spec`. */
  readonly path: string;
  readonly podSpec: unknown;
}

/** Where each workload kind keeps its PodSpec. Kinds not listed have no pod template. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  'v1/Pod': ['spec'],
  'v1/PodTemplate': ['template', 'spec'],
  'v1/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  'keda.sh/ScaledJob': ['spec', 'jobTargetRef', 'template', 'spec'],
};

function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : 'v1';
}

/** True when the kind is a workload that must carry a pod template. */
export function isWorkload(doc: Doc): boolean {
  return `${groupOf(doc.apiVersion)}/${String(doc.kind)}` in POD_SPEC_PATHS;
}

/**
 * The pod templates of a document: one for the workload kinds above (with `podSpec` undefined when the
 * path is missing, so that callers report it), none for other kinds.
 */
export function podTemplatesOf(doc: Doc): PodTemplate[] {
  const segments = POD_SPEC_PATHS[`${groupOf(doc.apiVersion)}/${String(doc.kind)}`];
  if (!segments) return [];
  let cur: unknown = doc;
  for (const s of segments) cur = isRecord(cur) ? cur[s] : undefined;
  return [{ path: segments.join('.'), podSpec: cur }];
}

/** `image` pinned by tag or digest, and not `:latest`. Returns a problem or undefined. */
export function imageProblem(image: unknown): string | undefined {
  if (typeof image !== 'string' || image.trim() === '') return 'image is missing';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  if (image.includes('@')) return `image "${image}" has a malformed digest (expected @sha256:<64 hex>)`;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return `image "${image}" has no tag or digest (pin a version)`;
  const tag = image.slice(colon + 1);
  if (tag === '') return `image "${image}" has an empty tag`;
  if (tag.toLowerCase() === 'latest') return `image "${image}" uses :latest (pin a version)`;
  return undefined;
}

/**
 * Env var names that look like they carry a secret: PASSWORD/PASSWD/TOKEN/SECRET/CREDENTIAL anywhere in the name;
 * KEY as a `_`-separated word (`API_KEY`, `TLS_KEY`, `KEY`) or glued to API/ACCESS/PRIVATE/SIGNING/ENCRYPTION/AUTH
 * (`APIKEY`), but not inside another word (`KEYSPACE`, `MONKEY`). Names ending in `_FILE`, `_PATH` or `_DIR` carry
 * a location, not the secret itself, and are exempt.
 */
export function looksSecret(name: string): boolean {
  const n = name.toUpperCase();
  if (/_(FILE|PATH|DIR)$/.test(n)) return false;
  if (/PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIAL/.test(n)) return true;
  // A KEY_PREFIX names which Redis keys to use, not a key.
  return (/(^|_)KEY(_|$)/.test(n) && !/(^|_)KEY_PREFIX$/.test(n)) || /(API|ACCESS|PRIVATE|SIGNING|ENCRYPTION|AUTH)_?KEY/.test(n);
}

/** Per-container rules for every container of a PodSpec (init containers included; ephemeral ones have no resources). */
export function containerRuleViolations(podSpec: unknown): string[] {
  const v: string[] = [];
  for (const { label, kind, container } of allContainers(podSpec)) {
    const image = imageProblem(container.image);
    if (image) v.push(`${label}: ${image}`);

    if (kind !== 'ephemeralContainers') {
      const requests = isRecord(container.resources) && isRecord(container.resources.requests) ? container.resources.requests : {};
      for (const r of ['cpu', 'memory']) {
        const q = requests[r];
        if (q === undefined || q === null || q === '') v.push(`${label}: resources.requests.${r} must be set`);
      }
    }

    if (container.env !== undefined && !Array.isArray(container.env)) v.push(`${label}: env must be a list`);
    if (Array.isArray(container.env)) {
      container.env.forEach((e, i) => {
        if (!isRecord(e) || typeof e.name !== 'string') return;
        if (!looksSecret(e.name)) return;
        if (e.value !== undefined && e.value !== '') {
          v.push(`${label}: env[${i}] ${e.name} has a literal value; take it from a Secret (valueFrom.secretKeyRef)`);
        } else if (e.value === undefined) {
          const from = isRecord(e.valueFrom) ? e.valueFrom : {};
          if (!isRecord(from.secretKeyRef)) v.push(`${label}: env[${i}] ${e.name} looks secret but does not come from valueFrom.secretKeyRef`);
        }
      });
    }
  }
  return v;
}

function nameOf(d: Doc): string {
  return String(d.metadata?.name);
}

function sameNamespace(a: Doc, b: Doc): boolean {
  return (a.metadata?.namespace ?? '') === (b.metadata?.namespace ?? '');
}

/**
 * Rules across the documents of one chart folder:
 * - a Deployment/StatefulSet targeted by a ScaledObject (`spec.scaleTargetRef`, kind defaulting to Deployment)
 *   has no `spec.replicas` (GitOps would fight the HPA that KEDA creates);
 * - every ScaledObject target exists in the folder (every other reference: see references.ts);
 * - ScaledObject/ScaledJob minReplicaCount <= maxReplicaCount (the ScaledObject CRD's CEL rule, which the strict
 *   validator cannot evaluate; KEDA defaults: min 0, max 100);
 * - NetworkPolicies admit exactly what they should (see networkPolicyViolations).
 */
export function chartRuleViolations(docs: readonly Doc[]): string[] {
  const v: string[] = [];
  const keda = (d: Doc, kind: string) => groupOf(d.apiVersion) === 'keda.sh' && d.kind === kind;

  for (const so of docs.filter((d) => keda(d, 'ScaledObject'))) {
    const ref = isRecord(so.spec) && isRecord(so.spec.scaleTargetRef) ? so.spec.scaleTargetRef : undefined;
    if (!ref || typeof ref.name !== 'string') {
      v.push(`ScaledObject/${nameOf(so)}: spec.scaleTargetRef.name is missing`);
      continue;
    }
    const kind = typeof ref.kind === 'string' ? ref.kind : 'Deployment';
    const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : 'apps/v1';
    const target = docs.find((d) => d.kind === kind && groupOf(d.apiVersion) === groupOf(apiVersion) && nameOf(d) === ref.name && sameNamespace(d, so));
    if (!target) {
      v.push(`ScaledObject/${nameOf(so)}: target ${kind}/${ref.name} (${apiVersion}) is not in this chart`);
      continue;
    }
    if (isRecord(target.spec) && target.spec.replicas !== undefined) {
      v.push(`${kind}/${ref.name} is scaled by ScaledObject/${nameOf(so)} and must not set spec.replicas (has ${JSON.stringify(target.spec.replicas)})`);
    }
  }

  for (const scaler of docs.filter((d) => keda(d, 'ScaledObject') || keda(d, 'ScaledJob'))) {
    const spec = isRecord(scaler.spec) ? scaler.spec : {};
    const min = spec.minReplicaCount ?? 0;
    const max = spec.maxReplicaCount ?? 100;
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      v.push(`${String(scaler.kind)}/${nameOf(scaler)}: minReplicaCount (${min}) must be at most maxReplicaCount (${max})`);
    }
  }
  v.push(...networkPolicyViolations(docs));
  return v;
}

/** The labels of each workload's pods (the metadata beside its PodSpec). */
function podLabelsOf(doc: Doc): Record<string, string> | undefined {
  const segments = POD_SPEC_PATHS[`${groupOf(doc.apiVersion)}/${String(doc.kind)}`];
  if (!segments) return undefined;
  let cur: unknown = doc;
  for (const s of [...segments.slice(0, -1), 'metadata', 'labels']) cur = isRecord(cur) ? cur[s] : undefined;
  return isRecord(cur) ? (cur as Record<string, string>) : {};
}

function selects(matchLabels: unknown, labels: Record<string, string>): boolean {
  return isRecord(matchLabels) && Object.keys(matchLabels).length > 0 && Object.entries(matchLabels).every(([k, val]) => labels[k] === val);
}

/**
 * NetworkPolicies checked against the pods of the folder:
 * - `spec.podSelector` selects pods of a workload in the folder;
 * - each `from` entry selecting pods of the policy's own namespace (a podSelector without a
 *   namespaceSelector) selects the pods of a workload in the folder;
 * - every workload whose containers connect (env `REDIS_HOST`) to a Service whose pods a policy
 *   covers is let in by a `from` entry of a rule that opens the Service's target port.
 */
export function networkPolicyViolations(docs: readonly Doc[]): string[] {
  const v: string[] = [];
  const workloads = docs.map((d) => ({ doc: d, labels: podLabelsOf(d) })).filter((w): w is { doc: Doc; labels: Record<string, string> } => w.labels !== undefined);
  const describe = (d: Doc) => `${String(d.kind)}/${nameOf(d)}`;
  for (const policy of docs.filter((d) => d.kind === 'NetworkPolicy')) {
    const spec = isRecord(policy.spec) ? policy.spec : {};
    const target = isRecord(spec.podSelector) ? spec.podSelector.matchLabels : undefined;
    const covered = workloads.filter((w) => sameNamespace(w.doc, policy) && selects(target, w.labels));
    if (covered.length === 0) v.push(`NetworkPolicy/${nameOf(policy)}: spec.podSelector selects no pods of this chart`);
    const rules = (Array.isArray(spec.ingress) ? spec.ingress : []).filter(isRecord);
    rules.forEach((rule, i) => {
      (Array.isArray(rule.from) ? rule.from : []).filter(isRecord).forEach((peer, j) => {
        if (!isRecord(peer.podSelector) || peer.namespaceSelector !== undefined) return;
        if (!workloads.some((w) => sameNamespace(w.doc, policy) && selects((peer.podSelector as Record<string, unknown>).matchLabels, w.labels))) {
          v.push(`NetworkPolicy/${nameOf(policy)}: ingress[${i}].from[${j}] selects no pods of this chart (${JSON.stringify(peer.podSelector)})`);
        }
      });
    });
    // Services in front of the covered pods, and who connects to them.
    for (const service of docs.filter((d) => d.kind === 'Service' && sameNamespace(d, policy))) {
      const serviceSpec = isRecord(service.spec) ? service.spec : {};
      if (!covered.some((w) => selects(serviceSpec.selector, w.labels))) continue;
      const ns = String(service.metadata?.namespace ?? '');
      const hosts = new Set([nameOf(service), `${nameOf(service)}.${ns}`, `${nameOf(service)}.${ns}.svc`, `${nameOf(service)}.${ns}.svc.cluster.local`]);
      const ports = (Array.isArray(serviceSpec.ports) ? serviceSpec.ports : []).filter(isRecord).map((p) => p.targetPort ?? p.port);
      for (const client of workloads.filter((w) => sameNamespace(w.doc, policy))) {
        const connects = podTemplatesOf(client.doc).some((t) =>
          allContainers(t.podSpec).some(({ container: c }) =>
            (Array.isArray(c.env) ? c.env : []).some((e: unknown) => isRecord(e) && e.name === 'REDIS_HOST' && hosts.has(String(e.value))),
          ),
        );
        if (!connects) continue;
        const admitted = rules.some(
          (rule) =>
            (Array.isArray(rule.ports) ? rule.ports : []).filter(isRecord).some((p) => ports.includes(p.port)) &&
            (Array.isArray(rule.from) ? rule.from : [])
              .filter(isRecord)
              .some((peer) => peer.namespaceSelector === undefined && isRecord(peer.podSelector) && selects(peer.podSelector.matchLabels, client.labels)),
        );
        if (!admitted) v.push(`NetworkPolicy/${nameOf(policy)}: ${describe(client.doc)} connects to Service/${nameOf(service)} but no ingress rule lets its pods in`);
      }
    }
  }
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Kinds whose names the API server checks with other rules than "DNS-1123 subdomain" (RBAC allows ':' etc.). */
const FREE_NAME_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/**
 * The API server's checks on a top-level ObjectMeta that the kubernetes-models schemas leave out: name present and a
 * DNS-1123 subdomain (Services: DNS-1035 label; CronJobs: at most 52 characters, as Job names get a suffix),
 * namespace a DNS-1123 label, labels and annotations maps of strings with qualified-name keys, label values valid.
 */
export function objectMetaViolations(doc: Doc): string[] {
  const v: string[] = [];
  const meta: unknown = doc.metadata;
  if (!isRecord(meta)) return ['metadata is missing'];
  const name = meta.name;
  const kind = String(doc.kind);
  if (typeof name !== 'string' || name === '') {
    v.push('metadata.name is missing');
  } else if (kind === 'Service') {
    if (name.length > 63 || !DNS1035_LABEL.test(name))
      v.push(`metadata.name "${name}" must be a DNS-1035 label (a Service name: lowercase, starts with a letter, at most 63 characters)`);
  } else if (!FREE_NAME_KINDS.has(kind)) {
    if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) v.push(`metadata.name "${name}" must be a DNS-1123 subdomain`);
    if (kind === 'CronJob' && name.length > 52) v.push(`metadata.name "${name}" is longer than 52 characters (CronJob)`);
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS1123_LABEL.test(meta.namespace))) {
    v.push(`metadata.namespace ${JSON.stringify(meta.namespace)} must be a DNS-1123 label`);
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (map === undefined) continue;
    if (!isRecord(map)) {
      v.push(`metadata.${field} must be a map of strings`);
      continue;
    }
    for (const [k, val] of Object.entries(map)) {
      if (!isQualifiedName(k)) v.push(`metadata.${field} key "${k}" is not a qualified name ([prefix/]name)`);
      if (typeof val !== 'string') v.push(`metadata.${field}["${k}"] must be a string (is ${JSON.stringify(val)})`);
      else if (field === 'labels' && (val.length > 63 || !LABEL_VALUE.test(val))) v.push(`metadata.labels["${k}"] value "${val}" is not a valid label value`);
    }
  }
  return v;
}
