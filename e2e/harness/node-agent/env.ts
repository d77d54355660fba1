/**
 * A container's environment as the kubelet makes it: `envFrom` sources in order, then `env` in
 * order (later wins), each `value` with `$(VAR)` expanded against what is defined so far;
 * `valueFrom` from Secrets, ConfigMaps, the downward API (fieldRef) and the container's resources
 * (resourceFieldRef, limits defaulting to the Node's allocatable). A missing required reference is
 * a {@link ConfigError} (the kubelet's CreateContainerConfigError); an optional one leaves the
 * variable out.
 */
import { NODE_ALLOCATABLE } from './node-status';

/** What keeps a container from starting: the waiting reason and the kubelet's message. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly reason = 'CreateContainerConfigError',
  ) {
    super(message);
  }
}

/** The address of the Node, and of every pod of the runtime image (a Redis pod has its own: redis-pods.ts). */
export const POD_IP = '127.0.0.1';

export interface KeyedData {
  /** Values by key, decoded. */
  readonly data: Record<string, Buffer>;
}

/** Reads the Secrets and ConfigMaps of the pod's namespace (undefined: not found). */
export interface ObjectSource {
  secret(name: string): Promise<KeyedData | undefined>;
  configMap(name: string): Promise<KeyedData | undefined>;
  /** The host folder of a PersistentVolumeClaim of the pod's namespace (a ConfigError while it is missing). */
  claim?(name: string): Promise<string>;
}

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A resource quantity ("250m", "64Mi", "1e3") as a number. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))$/.exec(quantity.trim());
  if (!match || (match[3] !== undefined && !(match[3] in SUFFIXES))) throw new ConfigError(`invalid quantity "${quantity}"`);
  const base = Number(match[1]);
  return match[2] ? base * 10 ** Number(match[2].slice(1)) : base * SUFFIXES[match[3] ?? ''];
}

/** A downward API field of the pod (fieldRef.fieldPath). */
export function fieldValue(pod: any, fieldPath: string, podIp = POD_IP): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return (pod.metadata[keyed[1]] ?? {})[keyed[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
    case 'metadata.annotations': {
      const map: Record<string, string> = pod.metadata[fieldPath.slice('metadata.'.length)] ?? {};
      return Object.keys(map)
        .sort()
        .map((k) => `${k}=${JSON.stringify(map[k])}`)
        .join('\n');
    }
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIp;
    case 'status.hostIP':
    case 'status.hostIPs':
      return POD_IP;
    default:
      throw new ConfigError(`unsupported fieldPath "${fieldPath}"`);
  }
}

/** resourceFieldRef: the value divided by the divisor, rounded up (a limit not set is the Node's allocatable). */
export function resourceValue(pod: any, defaultContainer: string, ref: { containerName?: string; resource: string; divisor?: string | number }): string {
  const name = ref.containerName || defaultContainer;
  const container = (pod.spec.containers as any[]).find((c) => c.name === name);
  if (!container) throw new ConfigError(`resourceFieldRef: no container "${name}"`);
  const [kind, resource] = ref.resource.split(/\.(.+)/);
  const set = container.resources?.[kind]?.[resource];
  const allocatable = (NODE_ALLOCATABLE as Record<string, string>)[resource];
  const raw = set ?? (kind === 'limits' ? allocatable : '0');
  if (raw === undefined) throw new ConfigError(`unsupported resource "${ref.resource}"`);
  // The API server stores an unset divisor as "0", which means 1.
  const divisor = parseQuantity(ref.divisor ?? '1') || 1;
  // Compared in millis for cpu, as the kubelet does, so "250m" / "1m" is exactly 250.
  const value = resource === 'cpu' ? Math.round(parseQuantity(raw) * 1000) / Math.round(divisor * 1000) : parseQuantity(raw) / divisor;
  return String(Math.ceil(value));
}

/** `$(NAME)` from `lookup`, `$$` to `$`; a reference to an undefined name stays as written. */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole: string, name?: string) => (name === undefined ? '$' : (lookup(name) ?? whole)));
}

export function missing(kind: 'secret' | 'configmap', namespace: string, name: string, key?: string): ConfigError {
  return new ConfigError(key === undefined ? `${kind} "${name}" not found` : `couldn't find key ${key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${namespace}/${name}`);
}

/** The container's environment, resolved. */
export async function resolveEnv(pod: any, container: any, source: ObjectSource, podIp = POD_IP): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const ns = pod.metadata.namespace;
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const kind = from.secretRef ? 'secret' : 'configmap';
    const object = from.secretRef ? await source.secret(ref.name) : await source.configMap(ref.name);
    if (!object) {
      if (ref.optional) continue;
      throw missing(kind, ns, ref.name);
    }
    for (const [key, value] of Object.entries(object.data)) {
      // The kubelet skips keys that are no valid variable names.
      if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(`${from.prefix ?? ''}${key}`)) env[`${from.prefix ?? ''}${key}`] = value.toString('utf8');
    }
  }
  for (const variable of container.env ?? []) {
    const value = await envValue(pod, container, variable, env, source, podIp);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

async function envValue(pod: any, container: any, variable: any, defined: Record<string, string>, source: ObjectSource, podIp: string): Promise<string | undefined> {
  const ns: string = pod.metadata.namespace;
  if (variable.valueFrom === undefined) return expand(variable.value ?? '', (name) => defined[name]);
  const from = variable.valueFrom;
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, podIp);
  if (from.resourceFieldRef) return resourceValue(pod, container.name, from.resourceFieldRef);
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (!ref) throw new ConfigError(`env ${variable.name}: unsupported valueFrom ${JSON.stringify(from)}`);
  const kind = from.secretKeyRef ? 'secret' : 'configmap';
  const object = from.secretKeyRef ? await source.secret(ref.name) : await source.configMap(ref.name);
  if (!object) {
    if (ref.optional) return undefined;
    throw missing(kind, ns, ref.name);
  }
  const value = object.data[ref.key];
  if (value === undefined) {
    if (ref.optional) return undefined;
    throw missing(kind, ns, ref.name, ref.key);
  }
  return value.toString('utf8');
}
