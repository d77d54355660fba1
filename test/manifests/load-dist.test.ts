import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kustomizationProblems, loadDist } from './load-dist';
import { compareTrees, describeTreeDifference, isSameTree, unifiedDiff } from './tree-diff';

const CM = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: b\n`;
const KUST = (...files: string[]) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${files.map((f) => `  - ${f}\n`).join('')}`;

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'load-dist-test-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

describe('loadDist', () => {
  test('a well-formed tree loads without problems', () => {
    write('app/ConfigMap.a.k8s.yaml', CM('a'));
    write('app/ConfigMap.b.k8s.yaml', CM('b'));
    write('app/kustomization.yaml', KUST('ConfigMap.a.k8s.yaml', 'ConfigMap.b.k8s.yaml'));
    const t = loadDist(root);
    expect(t.problems).toEqual([]);
    expect(t.charts.map((c) => [c.name, c.problems, c.docs.length])).toEqual([['app', [], 2]]);
    expect(t.charts[0].docs[0].doc.metadata?.name).toBe('a');
  });

  test('a missing or empty dist is a problem', () => {
    expect(loadDist(path.join(root, 'nope')).problems).toEqual([expect.stringContaining('does not exist')]);
    expect(loadDist(root).problems).toEqual([expect.stringContaining('has no chart folders')]);
  });

  test('YAML at the top level is a problem', () => {
    write('app.k8s.yaml', CM('a'));
    write('app/kustomization.yaml', KUST());
    expect(loadDist(root).problems).toEqual([expect.stringContaining('app.k8s.yaml: YAML file at the top level')]);
  });

  test('a folder without kustomization.yaml is a problem', () => {
    write('app/ConfigMap.a.k8s.yaml', CM('a'));
    expect(loadDist(root).charts[0].problems).toEqual(['app/kustomization.yaml is missing']);
  });

  test('a file the kustomization does not list, and a listed file that does not exist, are problems', () => {
    write('app/ConfigMap.a.k8s.yaml', CM('a'));
    write('app/kustomization.yaml', KUST('ConfigMap.gone.k8s.yaml'));
    expect(loadDist(root).charts[0].problems).toEqual([
      'app/kustomization.yaml: does not list ConfigMap.a.k8s.yaml',
      "app/kustomization.yaml: lists 'ConfigMap.gone.k8s.yaml', which is not a YAML file of this folder",
    ]);
  });

  test('two resources in one file, unparsable YAML, duplicates and stray files are problems', () => {
    write('app/ConfigMap.a.k8s.yaml', `${CM('a')}---\n${CM('a')}`);
    write('app/Broken.k8s.yaml', 'a: [unclosed\n');
    write('app/notes.txt', 'x');
    write('app/sub/x.yaml', CM('x'));
    write('app/kustomization.yaml', KUST('Broken.k8s.yaml', 'ConfigMap.a.k8s.yaml'));
    const problems = loadDist(root).charts[0].problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'app/sub: unexpected sub-folder (a chart folder holds only YAML files)',
        'app/notes.txt: not a YAML file',
        'app/ConfigMap.a.k8s.yaml: holds 2 documents; expected exactly one resource per file',
        expect.stringContaining('app/Broken.k8s.yaml: YAML does not parse'),
        expect.stringContaining('ConfigMap/a is defined twice'),
      ]),
    );
  });

  test('YAML duplicate keys are rejected (the API server rejects them under strict validation)', () => {
    write('app/ConfigMap.a.k8s.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n');
    write('app/kustomization.yaml', KUST('ConfigMap.a.k8s.yaml'));
    expect(loadDist(root).charts[0].problems).toEqual([expect.stringContaining('duplicated mapping key')]);
  });

  test('timestamps stay strings (YAML core schema)', () => {
    write('app/ConfigMap.a.k8s.yaml', `${CM('a')}  when: 2024-01-01\n`);
    write('app/kustomization.yaml', KUST('ConfigMap.a.k8s.yaml'));
    expect((loadDist(root).charts[0].docs[0].doc.data as Record<string, unknown>).when).toBe('2024-01-01');
  });
});

describe('kustomizationProblems', () => {
  test('duplicates, wrong kind and a non-list are reported', () => {
    expect(kustomizationProblems('c', { kind: 'Component', resources: ['a.yaml', 'a.yaml'] }, ['a.yaml'])).toEqual([
      'c/kustomization.yaml: kind is "Component", expected Kustomization',
      "c/kustomization.yaml: 'a.yaml' is listed twice",
    ]);
    expect(kustomizationProblems('c', { resources: 'a.yaml' }, ['a.yaml'])).toEqual(["c/kustomization.yaml: 'resources' must be a list of file names"]);
  });
});

describe('tree comparison', () => {
  test('equal trees compare equal; any difference is named with a unified diff', () => {
    write('a/x/f.yaml', 'one\ntwo\nthree\n');
    write('b/x/f.yaml', 'one\ntwo\nthree\n');
    expect(isSameTree(compareTrees(path.join(root, 'a'), path.join(root, 'b')))).toBe(true);

    write('b/x/f.yaml', 'one\n2\nthree\n');
    write('b/x/new.yaml', '');
    write('a/x/old.yaml', '');
    const c = compareTrees(path.join(root, 'a'), path.join(root, 'b'));
    expect(c).toEqual({ onlyInExpected: ['x/old.yaml'], onlyInActual: ['x/new.yaml'], differing: ['x/f.yaml'] });
    const text = describeTreeDifference(c, path.join(root, 'a'), path.join(root, 'b'), 'dist', 'fresh');
    expect(text).toContain('only in dist: x/old.yaml');
    expect(text).toContain('only in fresh: x/new.yaml');
    expect(text).toContain('--- dist/x/f.yaml\n+++ fresh/x/f.yaml\n@@ -1,4 +1,4 @@\n one\n-two\n+2\n three\n');
  });

  test('unifiedDiff keeps hunks apart and is empty for equal texts', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const b = a.replace('l2', 'L2').replace('l17', 'L17');
    expect(unifiedDiff(a, a, 'a', 'b')).toBe('');
    expect(unifiedDiff(a, b, 'a', 'b').match(/^@@/gm)).toHaveLength(2);
  });
});
