import * as fs from 'fs';
import * as path from 'path';
import { App, Yaml } from 'cdk8s';

/**
 * Writes a `kustomization.yaml` beside each chart's files, so `kubectl apply -k dist/<chart>`
 * and Argo CD / Flux can consume the folder as it is. Call after `app.synth()` with the
 * app's `YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE` output.
 */
export function writeKustomizations(app: App): string[] {
  const written: string[] = [];
  for (const chart of app.charts) {
    const dir = path.join(app.outdir, chart.node.id);
    if (!fs.existsSync(dir)) continue;
    const resources = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
    const file = path.join(dir, 'kustomization.yaml');
    fs.writeFileSync(file, Yaml.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }));
    written.push(file);
  }
  return written;
}
