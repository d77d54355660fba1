/**
 * A small typed client of the Kubernetes API over Node's https, with only the calls `redis-keda cluster`
 * needs (a StatefulSet, its scale and partition, its pods, its claims). `@kubernetes/client-node` is
 * ESM-only in its current releases and this CLI is CommonJS; these few calls do not need it.
 */
import { readFileSync } from 'fs';
import { request as httpsRequest } from 'https';
import { URL } from 'url';

/** Where the in-cluster credentials of a pod are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach and authenticate to an API server. */
export interface KubernetesAccess {
  /** `https://host:port`. */
  readonly server: string;
  /** PEM CA bundle the server's certificate is checked against. */
  readonly ca?: string;
  /** A bearer token, read again at every request (projected service account tokens rotate). */
  readonly token?: () => string;
  /** Client certificate and key (PEM). */
  readonly cert?: string;
  readonly key?: string;
  /** The namespace of the credentials' context (a pod's own namespace in-cluster). */
  readonly namespace?: string;
}

/** The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its token, CA and namespace files. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubernetesAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a pod: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)');
  const file = (name: string) => `${dir}/${name}`;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(file('ca.crt'), 'utf8'),
    token: () => readFileSync(file('token'), 'utf8').trim(),
    namespace: readOptional(file('namespace'))?.trim(),
  };
}

/** A kubeconfig file (YAML or JSON): its current context (or `context`), tokens and client certificates; no exec plugins. */
export function kubeconfigAccess(path: string, context?: string): KubernetesAccess {
  const config = (parseKubeconfig(path, readFileSync(path, 'utf8')) ?? {}) as Kubeconfig;
  const named = <T>(list: readonly ({ name?: string } & T)[] | undefined, name: string | undefined, what: string): T => {
    const entry = (list ?? []).find((e) => e?.name === name);
    if (!entry) throw new Error(`kubeconfig ${path} has no ${what} named '${name}'`);
    return entry;
  };
  const contextName = context ?? config['current-context'];
  if (!contextName) throw new Error(`kubeconfig ${path} names no current-context`);
  const ctx = named(config.contexts, contextName, 'context').context ?? {};
  const cluster = named(config.clusters, ctx.cluster, 'cluster').cluster ?? {};
  const user = ctx.user ? (named(config.users, ctx.user, 'user').user ?? {}) : {};
  if (user.exec || user['auth-provider']) throw new Error(`kubeconfig ${path}: user '${ctx.user}' uses an exec or auth-provider plugin, which redis-keda does not run`);
  const relative = (file: string) => (file.startsWith('/') ? file : `${path.replace(/[^/]*$/, '')}${file}`);
  const pemOf = (data: string | undefined, file: string | undefined) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : file ? readFileSync(relative(file), 'utf8') : undefined;
  const { token, tokenFile } = user;
  if (!cluster.server) throw new Error(`kubeconfig ${path}: cluster '${ctx.cluster}' has no server`);
  return {
    server: cluster.server,
    ca: pemOf(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: pemOf(user['client-certificate-data'], user['client-certificate']),
    key: pemOf(user['client-key-data'], user['client-key']),
    token: token ? () => token : tokenFile ? () => readFileSync(relative(tokenFile), 'utf8').trim() : undefined,
    namespace: ctx.namespace,
  };
}

/**
 * JSON as it is; YAML through js-yaml, loaded only then: in-cluster config never needs it, so the image
 * runs without it (it is a devDependency until the package lists it among its dependencies).
 */
function parseKubeconfig(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // not JSON: YAML
  }
  let yaml: { load(text: string): unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    yaml = require('js-yaml');
  } catch {
    throw new Error(`kubeconfig ${path} is YAML, and js-yaml is not installed: give it as JSON (kubectl config view --flatten -o json) or install js-yaml`);
  }
  return yaml.load(text);
}

/** The parts of a kubeconfig read here. */
interface Kubeconfig {
  readonly 'current-context'?: string;
  readonly contexts?: readonly { name?: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
  readonly clusters?: readonly { name?: string; cluster?: { server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
  readonly users?: readonly {
    name?: string;
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }[];
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A refusal or failure of the API server, with its HTTP status and the Status object's reason and message. */
export class KubernetesApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    detail: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${detail}`);
  }
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Record<string, string>;
  readonly deletionTimestamp?: string;
}

export interface StatefulSet {
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly replicas?: number;
    readonly serviceName?: string;
    readonly selector: { readonly matchLabels?: Record<string, string> };
    readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly partition?: number } };
    readonly volumeClaimTemplates?: readonly { readonly metadata: { readonly name: string } }[];
    readonly template: { readonly spec: { readonly containers: readonly { readonly name: string; readonly ports?: readonly { name?: string; containerPort: number }[] }[] } };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly currentRevision?: string;
    readonly updateRevision?: string;
  };
}

export interface Pod {
  readonly metadata: ObjectMeta;
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

export interface PersistentVolumeClaim {
  readonly metadata: ObjectMeta;
  readonly status?: { readonly phase?: string };
}

/** The field manager of every change this client makes: GitOps tools see `redis-keda` owning replicas and partition. */
export const FIELD_MANAGER = 'redis-keda';

/** The label the StatefulSet controller puts on each pod: the controller revision its template came from. */
export const REVISION_LABEL = 'controller-revision-hash';

export class KubernetesApi {
  constructor(readonly access: KubernetesAccess) {}

  getStatefulSet(namespace: string, name: string): Promise<StatefulSet> {
    return this.call('GET', `/apis/apps/v1/namespaces/${enc(namespace)}/statefulsets/${enc(name)}`) as Promise<StatefulSet>;
  }

  /** Sets spec.replicas through the scale subresource (what `kubectl scale` and the HPA use). */
  async scaleStatefulSet(namespace: string, name: string, replicas: number): Promise<void> {
    await this.call('PATCH', `/apis/apps/v1/namespaces/${enc(namespace)}/statefulsets/${enc(name)}/scale?fieldManager=${FIELD_MANAGER}`, { spec: { replicas } }, MERGE_PATCH);
  }

  /** Sets spec.updateStrategy.rollingUpdate.partition (a merge patch: the strategy's type stays). */
  async setPartition(namespace: string, name: string, partition: number): Promise<void> {
    await this.call(
      'PATCH',
      `/apis/apps/v1/namespaces/${enc(namespace)}/statefulsets/${enc(name)}?fieldManager=${FIELD_MANAGER}`,
      { spec: { updateStrategy: { rollingUpdate: { partition } } } },
      MERGE_PATCH,
    );
  }

  async listPods(namespace: string, matchLabels: Record<string, string>): Promise<Pod[]> {
    const selector = Object.entries(matchLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = (await this.call('GET', `/api/v1/namespaces/${enc(namespace)}/pods?labelSelector=${enc(selector)}`)) as { items: Pod[] };
    return list.items;
  }

  /** Deletes a claim; false when there was none (404). */
  async deleteClaim(namespace: string, name: string): Promise<boolean> {
    try {
      await this.call('DELETE', `/api/v1/namespaces/${enc(namespace)}/persistentvolumeclaims/${enc(name)}`);
      return true;
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 404) return false;
      throw error;
    }
  }

  /** One request; a status outside 2xx throws a {@link KubernetesApiError}. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const url = new URL(path, this.access.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.access.token?.();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (payload !== undefined) Object.assign(headers, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) });
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, ca: this.access.ca, cert: this.access.cert, key: this.access.key, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: { reason?: string; message?: string } | undefined;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed);
          else reject(new KubernetesApiError(method, url.pathname, status, String(parsed?.reason ?? res.statusMessage ?? ''), String(parsed?.message ?? text.slice(0, 200))));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer from ${this.access.server} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

const MERGE_PATCH = 'application/merge-patch+json';
const REQUEST_TIMEOUT_MS = 30_000;

function enc(part: string): string {
  return encodeURIComponent(part);
}
