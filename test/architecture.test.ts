import * as fs from 'fs';
import * as path from 'path';

/** The dependency rule of DESIGN.md, checked on the import statements of every source file. */
const root = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

function resolveImport(file: string, spec: string): string {
  return spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec;
}

const NODE_BUILTINS = new Set(['fs', 'path', 'os', 'crypto']);

describe('dependency rule', () => {
  test.each(sources('constructs'))('%s imports only cdk8s, constructs, imports/ and the contract', (file) => {
    for (const spec of importsOf(file)) {
      const target = resolveImport(file, spec);
      const allowed = ['cdk8s', 'cdk8s-plus-27', 'constructs'].includes(target) || NODE_BUILTINS.has(target)
        || target.startsWith('constructs/') || target.startsWith('imports/') || target === 'runtime/contract';
      expect({ file, spec, allowed }).toEqual({ file, spec, allowed: true });
    }
  });

  test.each(sources('runtime'))('%s never imports constructs/', (file) => {
    for (const spec of importsOf(file)) {
      expect(resolveImport(file, spec).startsWith('constructs')).toBe(false);
    }
  });

  test('the contract module is dependency-free (its one import, the generated version module, has none)', () => {
    expect(importsOf('runtime/contract.ts')).toEqual(['./version', './version']);
    expect(importsOf('runtime/version.ts')).toEqual([]);
  });

  test('main.ts imports only the library and cdk8s', () => {
    for (const spec of importsOf('main.ts')) expect(['./constructs', 'cdk8s', 'cdk8s-plus-27', 'constructs']).toContain(spec);
  });
});
