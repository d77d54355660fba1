/**
 * Test charts as a user makes them: a cdk8s App built with the library's public constructs,
 * `app.synth()` into a folder of YAML, and that YAML applied with our kubectl. Plus the Secrets a
 * chart expects to find (a user creates them by hand or with a secrets operator, never in the chart).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import * as yaml from 'js-yaml';
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
