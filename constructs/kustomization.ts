import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, Yaml, YamlOutputType } from 'cdk8s';
import { RestrictedNamespace } from './restricted-namespace';

/**
 * Writes a `kustomization.yaml` beside each chart's files, so `kubectl apply -k dist/<chart>`
 * and Argo CD / Flux can consume the folder as it is. Call after `app.synth()` with the
 * app's `YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE` output; `GitOpsApp` does both.
 */
export function writeKustomizations(app: App): string[] {
  const written: string[] = [];
  for (const chart of app.charts) {
    const dir = path.join(app.outdir, chart.node.id);
    if (!fs.existsSync(dir)) continue;
    const resources = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort();
    const file = path.join(dir, 'kustomization.yaml');
    fs.writeFileSync(file, Yaml.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }));
    written.push(file);
  }
  return written;
}

/** Props of a GitOpsApp: an App's props, with the output type fixed. */
export interface GitOpsAppProps extends Omit<AppProps, 'yamlOutputType'> {
  /**
   * Add a `RestrictedNamespace` (Pod Security "restricted" labels) to every chart that has a
   * namespace and holds none yet, so `kubectl apply -k` and GitOps tools need no namespace made by hand.
   * @default false
   */
  readonly namespaces?: boolean;
}

/**
 * An App that synthesizes in the layout GitOps tools consume: one folder per chart under `outdir`,
 * one YAML file per object and a `kustomization.yaml` listing them (`kubectl apply -k <outdir>/<chart>`,
 * an Argo CD Application's `source.path`, a Flux Kustomization's `path`).
 */
export class GitOpsApp extends App {
  /** Whether `synth()` adds a RestrictedNamespace to each chart with a namespace. */
  public readonly namespaces: boolean;
  /** The `kustomization.yaml` files the last `synth()` wrote. */
  public kustomizations: string[] = [];

  public constructor(props: GitOpsAppProps = {}) {
    const { namespaces, ...appProps } = props;
    super({ ...appProps, yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE });
    this.namespaces = namespaces ?? false;
  }

  /** Writes every chart's folder with its `kustomization.yaml`. */
  public synth(): void {
    if (this.namespaces) {
      for (const chart of this.charts) {
        const has = chart.node.findAll().some((c) => c instanceof RestrictedNamespace);
        if (chart.namespace && !has) new RestrictedNamespace(chart, 'namespace');
      }
    }
    super.synth();
    this.kustomizations = writeKustomizations(this);
  }
}
