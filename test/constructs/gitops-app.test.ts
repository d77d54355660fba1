import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { GitOpsApp, POD_SECURITY_LABELS, RedisQueue, RestrictedNamespace } from '../../constructs';
import { loadDist } from '../manifests/load-dist';
import { objectMetaViolations } from '../manifests/house-rules';
import { referenceViolations } from '../manifests/references';
import { upstreamErrors } from '../manifests/upstream-models';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function outdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gitops-app-'));
  dirs.push(d);
  return d;
}

describe('GitOpsApp', () => {
  test('writes one folder per chart with a kustomization.yaml listing exactly its files', () => {
    const app = new GitOpsApp({ outdir: outdir() });
    new RedisQueue(new Chart(app, 'one', { namespace: 'one' }), 'queue');
    new RedisQueue(new Chart(app, 'two', { namespace: 'two' }), 'queue');
    app.synth();
    const tree = loadDist(app.outdir);
    expect(tree.problems).toEqual([]);
    expect(tree.charts.map((c) => [c.name, c.problems, c.docs.map((d) => d.doc.kind).sort()])).toEqual([
      ['one', [], ['ConfigMap', 'Service', 'StatefulSet']],
      ['two', [], ['ConfigMap', 'Service', 'StatefulSet']],
    ]);
    expect(app.kustomizations).toEqual([path.join(app.outdir, 'one', 'kustomization.yaml'), path.join(app.outdir, 'two', 'kustomization.yaml')]);
  });

  test("with namespaces: each namespaced chart gets a Namespace with the 'restricted' labels, cluster-scoped", () => {
    const app = new GitOpsApp({ outdir: outdir(), namespaces: true });
    new RedisQueue(new Chart(app, 'jobs', { namespace: 'jobs' }), 'queue');
    new Chart(app, 'none');
    const own = new Chart(app, 'own', { namespace: 'own' });
    new RestrictedNamespace(own, 'ns');
    app.synth();
    const tree = loadDist(app.outdir);
    const namespaces = tree.charts.flatMap((c) => c.docs.filter((d) => d.doc.kind === 'Namespace').map((d) => [c.name, d.doc]));
    expect(namespaces).toEqual([
      ['jobs', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'jobs', labels: POD_SECURITY_LABELS }, spec: {} }],
      ['own', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'own', labels: POD_SECURITY_LABELS }, spec: {} }],
    ]);
    for (const [, doc] of namespaces) expect([...upstreamErrors(doc as any), ...objectMetaViolations(doc as any)]).toEqual([]);
    const jobs = tree.charts.find((c) => c.name === 'jobs')!;
    expect(jobs.problems).toEqual([]);
    expect(referenceViolations(jobs.docs.map((d) => d.doc))).toEqual([]);
  });
});

describe('RestrictedNamespace', () => {
  test('takes a name of its own', () => {
    const chart = new Chart(Testing.app(), 'c');
    expect(new RestrictedNamespace(chart, 'ns', { name: 'team-a' }).name).toBe('team-a');
    expect(Testing.synth(chart)).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: POD_SECURITY_LABELS }, spec: {} }]);
  });

  test('needs a name when the chart has no namespace', () => {
    expect(() => new RestrictedNamespace(new Chart(Testing.app(), 'c'), 'ns')).toThrow("c/ns: 'name' (undefined) must be set when the chart has no 'namespace'");
  });

  test('rejects a name Kubernetes would', () => {
    expect(() => new RestrictedNamespace(new Chart(Testing.app(), 'c'), 'ns', { name: 'Team_A' })).toThrow('c/ns: \'name\' ("Team_A") must be a DNS-1123 label');
  });
});
