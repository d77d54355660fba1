import * as fs from 'fs';
import * as path from 'path';

/** The dependency rule of ARCHITECTURE.md, checked on the import statements of every source file. */
const root = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

function resolveImport(file: string, spec: string): string {
  return spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec;
}

/** The one file of constructs/ that touches the file system: it writes each chart folder's kustomization.yaml. */
const WRITES_FILES = path.join('constructs', 'kustomization.ts');
const CONTRACT = path.join('runtime', 'contract');
/** The one folder of constructs/ that builds Grafana dashboards, with the Grafana Foundation SDK (a dependency of the package). */
const DASHBOARD_BUILDERS = path.join('constructs', 'private', 'dashboards');
const GRAFANA_SDK = '@grafana/grafana-foundation-sdk/';

describe('dependency rule', () => {
  test.each(sources('constructs'))('%s imports only cdk8s, constructs, imports/ and the contract', (file) => {
    for (const spec of importsOf(file)) {
      const target = resolveImport(file, spec);
      const allowed =
        ['cdk8s', 'cdk8s-plus-27', 'constructs'].includes(target) ||
        (file === WRITES_FILES && ['fs', 'path'].includes(target)) ||
        (path.dirname(file) === DASHBOARD_BUILDERS && target.startsWith(GRAFANA_SDK)) ||
        target.startsWith(`constructs${path.sep}`) ||
        target.startsWith(`imports${path.sep}`) ||
        target === CONTRACT ||
        target.startsWith(`${CONTRACT}${path.sep}`);
      expect({ file, spec, allowed }).toEqual({ file, spec, allowed: true });
    }
  });

  test.each(sources('runtime'))('%s never imports constructs/', (file) => {
    for (const spec of importsOf(file)) {
      expect(resolveImport(file, spec).startsWith('constructs')).toBe(false);
    }
  });

  test.each(sources(CONTRACT))('%s is dependency-free: it imports only files of the contract folder', (file) => {
    for (const spec of importsOf(file)) {
      const target = resolveImport(file, spec);
      expect({ file, spec, inFolder: spec.startsWith('./') && path.dirname(target) === CONTRACT }).toEqual({ file, spec, inFolder: true });
    }
  });

  test('the library entry exports nothing of constructs/private/', () => {
    expect(importsOf(path.join('constructs', 'index.ts')).filter((spec) => spec.includes('private'))).toEqual([]);
  });

  test('only the dashboard builders import the Grafana Foundation SDK, and they do', () => {
    const importers = sources('constructs').filter((file) => importsOf(file).some((spec) => spec.startsWith(GRAFANA_SDK)));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => path.dirname(file) !== DASHBOARD_BUILDERS)).toEqual([]);
  });

  test('the generated version module imports nothing', () => {
    expect(importsOf(path.join(CONTRACT, 'version.ts'))).toEqual([]);
  });

  test('main.ts imports only the library and cdk8s', () => {
    for (const spec of importsOf('main.ts')) expect(['./constructs', 'cdk8s', 'cdk8s-plus-27', 'constructs']).toContain(spec);
  });
});
