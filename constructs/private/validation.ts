import { Duration } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * Errors at synth name the construct path, the prop and the value, and say what would be valid,
 * in the cdk8s-plus manner: `'maxReplicas' (0) must be at least 1`.
 */
/** Celery's (kombu's) keys of one queue lie in different slots: its programs refuse a Redis Cluster, and so do their constructs. */
export function refuseCluster(scope: Construct, connection: { readonly clusterNodes?: readonly string[] }): void {
  if (connection.clusterNodes) {
    throw propError(
      scope,
      'connection',
      connection.clusterNodes.join(','),
      "must be a single Redis server, not a Redis Cluster: Celery's (kombu's) keys of one queue lie in different slots",
    );
  }
}

export function propError(scope: Construct, prop: string, value: unknown, expectation: string): Error {
  return new Error(`${scope.node.path}: '${prop}' (${show(value)}) ${expectation}`);
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Throws unless `value` is an integer of at least `min`. Undefined passes (the default applies). */
export function checkInteger(scope: Construct, prop: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value)) throw propError(scope, prop, value, 'must be an integer');
  if (value < min) throw propError(scope, prop, value, `must be at least ${min}`);
}

/** A Kubernetes object name (DNS-1123 subdomain, at most 63 characters so it fits a label too). */
export function checkName(scope: Construct, prop: string, value: string | undefined): void {
  if (value === undefined) return;
  if (value.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
    throw propError(scope, prop, value, 'must be a DNS-1123 label: lower-case letters, digits and -, at most 63 characters');
  }
}

/**
 * `metadata` for an optional name: the key is left out when there is none, because cdk8s copies an
 * explicit `name: undefined` over the name it generates and the object would be written unnamed.
 */
export function nameMetadata(name: string | undefined): { readonly name?: string } {
  return name === undefined ? {} : { name };
}

/** Image references must carry a tag or a digest: `:latest` or none makes rollouts unreproducible. */
export function checkImage(scope: Construct, prop: string, image: string): void {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const digest = image.includes('@sha256:');
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : undefined;
  if (!digest && (!tag || tag === 'latest')) {
    throw propError(scope, prop, image, 'must name a pinned tag or digest, e.g. "repo/name:1.2.3"');
  }
}

/** Kubernetes and KEDA take these durations as whole seconds. */
export function checkWholeSeconds(scope: Construct, prop: string, value: Duration, min: number = 1): void {
  const ms = value.toMilliseconds();
  if (ms < min * 1000 || ms % 1000 !== 0) throw propError(scope, prop, `${ms / 1000}s`, `must be a whole number of seconds, at least ${min}`);
}

/**
 * The replica range of a KEDA scaler, with KEDA's defaults (0..100), checked once for ScaledJob
 * and ScaledObject alike; also requires at least one trigger.
 */
export function checkScaler(scope: Construct, props: { minReplicas?: number; maxReplicas?: number; triggers?: unknown[] }): { min: number; max: number } {
  if (!props.triggers?.length) throw propError(scope, 'triggers', '[]', 'must hold at least one trigger');
  checkInteger(scope, 'minReplicas', props.minReplicas, 0);
  checkInteger(scope, 'maxReplicas', props.maxReplicas, 1);
  const min = props.minReplicas ?? 0;
  const max = props.maxReplicas ?? 100;
  if (min > max) throw propError(scope, 'minReplicas', min, `must be at most 'maxReplicas' (${max})`);
  return { min, max };
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes object labels: keys `[prefix/]name` (name at most 63 characters), values at most 63 characters of the same alphabet. */
export function checkLabels(scope: Construct, prop: string, labels: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = key.slice(slash + 1);
    if ((prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) || name.length > 63 || !LABEL_NAME.test(name)) {
      throw propError(scope, prop, key, 'must be label keys of the form [prefix/]name: a name of at most 63 letters, digits, -, _ and ., and an optional DNS-subdomain prefix');
    }
    if (typeof value !== 'string' || value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
      throw propError(scope, `${prop}.${key}`, value, 'must be a label value: at most 63 letters, digits, -, _ and ., beginning and ending with a letter or digit');
    }
  }
}
