/**
 * Test charts as a user makes them: a cdk8s App built with the library's public constructs,
 * `app.synth()` into a folder of YAML, and that YAML applied with our kubectl. Plus the Secrets a
 * chart expects to find (a user creates them by hand or with a secrets operator, never in the chart).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import * as yaml from 'js-yaml';
import { RedisConnection } from '../../constructs';
import { ControlPlane } from './control-plane';

/** A Kubernetes object of synth output. */
export interface ChartObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Every YAML document under `dir` (recursively, files in name order), kustomization files left out. */
export function readYamlDir(dir: string): ChartObject[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return readYamlDir(path);
      if (!/\.ya?ml$/.test(entry) || entry === 'kustomization.yaml') return [];
      return yaml.loadAll(readFileSync(path, 'utf8')).filter((doc): doc is ChartObject => doc !== null && typeof doc === 'object');
    });
}

/**
 * Builds an App with `build`, synthesizes it into a new folder under the plane's run folder (kept
 * with the logs when E2E_KEEP is set) and returns the objects, as `cdk8s synth` would write them.
 */
export function synthApp(plane: ControlPlane, build: (app: App) => void): ChartObject[] {
  const outdir = mkdtempSync(join(plane.dir, 'synth-'));
  const app = new App({ outdir });
  build(app);
  app.synth();
  return readYamlDir(outdir);
}

/** Applies synth output (server-side, as a GitOps tool would) and returns what was applied. */
export async function applyObjects(plane: ControlPlane, objects: readonly ChartObject[]): Promise<readonly ChartObject[]> {
  await plane.kubectl.apply(objects, 'e2e-chart');
  return objects;
}

/** Creates (or updates) an Opaque Secret with `data` as its string data. */
export async function createSecret(plane: ControlPlane, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  await plane.kubectl.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', stringData: data }]);
}

/** The objects of one kind (and name, if given) among synth output. */
export function objectsOf(objects: readonly ChartObject[], kind: string, name?: string): ChartObject[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

/** The Secrets a test chart's Redis connection reads: the password (key `password`) and, over TLS, the CA (key `ca.crt`). */
export const REDIS_AUTH_SECRET = 'redis-auth';
export const REDIS_CA_SECRET = 'redis-ca';

/**
 * The connection of a test chart: a real redis-server on 127.0.0.1:`port` (KEDA runs on the host and
 * cannot resolve a Service name), its password from {@link REDIS_AUTH_SECRET}, over TLS with the CA
 * from {@link REDIS_CA_SECRET} when `tls` is set. Without `name`, cdk8s names its objects.
 */
export function loopbackRedis(chart: Chart, port: number, options: { readonly name?: string; readonly tls?: boolean } = {}): RedisConnection {
  return RedisConnection.external(chart, {
    name: options.name,
    host: '127.0.0.1',
    port,
    password: { secret: kplus.Secret.fromSecretName(chart, REDIS_AUTH_SECRET, REDIS_AUTH_SECRET), key: 'password' },
    tlsCa: options.tls ? { secret: kplus.Secret.fromSecretName(chart, REDIS_CA_SECRET, REDIS_CA_SECRET), key: 'ca.crt' } : undefined,
  });
}
