/**
 * `npm run validate:strict` and `npm run import` without the reference CRDs (a clone without
 * ../shared): they say what is missing, where it comes from and how to point at it, exit 2, and
 * leave imports/ alone.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MissingReferenceError, referenceCrdFiles } from '../../scripts/reference-dir';
import { REPO_ROOT } from '../support/cli';

let empty: string;
beforeAll(() => (empty = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-no-reference-'))));
afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));

const importsSnapshot = () => fs.readdirSync(path.join(REPO_ROOT, 'imports')).map((f) => [f, fs.statSync(path.join(REPO_ROOT, 'imports', f)).mtimeMs]);

test.each([['validate:strict'], ['import']])('npm run %s without the reference folder says what it needs and where it comes from', (script) => {
  const before = importsSnapshot();
  const run = spawnSync('npm', ['run', '-s', script], { cwd: REPO_ROOT, env: { ...process.env, SHARED_REFERENCE: empty }, encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(2);
  expect(run.stderr).toContain(`the upstream CRD files are missing: ${path.join(empty, 'keda')} does not exist; ${path.join(empty, 'prometheus-operator')} does not exist.`);
  expect(run.stderr).toContain('KEDA v2.20.2 CRDs, from https://raw.githubusercontent.com/kedacore/keda/v2.20.2/config/crd/bases/');
  expect(run.stderr).toContain('monitoring.coreos.com_podmonitors.yaml');
  expect(run.stderr).toContain('SHARED_REFERENCE=$PWD/ref npm run validate:strict');
  expect(run.stderr).not.toContain('cannot load CRDs');
  expect(importsSnapshot()).toEqual(before);
});

test('a folder with one subfolder empty is named as such; a complete one lists its YAML files', () => {
  fs.mkdirSync(path.join(empty, 'keda'));
  fs.writeFileSync(path.join(empty, 'keda', 'keda.sh_scaledjobs.yaml'), 'kind: CustomResourceDefinition\n');
  fs.mkdirSync(path.join(empty, 'prometheus-operator'));
  expect(() => referenceCrdFiles(empty)).toThrow(MissingReferenceError);
  expect(() => referenceCrdFiles(empty)).toThrow(`the upstream CRD files are missing: ${path.join(empty, 'prometheus-operator')} holds no CRD YAML files.`);
  fs.writeFileSync(path.join(empty, 'prometheus-operator', 'monitoring.coreos.com_podmonitors.yaml'), 'kind: CustomResourceDefinition\n');
  expect(referenceCrdFiles(empty)).toEqual([
    path.join(empty, 'keda', 'keda.sh_scaledjobs.yaml'),
    path.join(empty, 'prometheus-operator', 'monitoring.coreos.com_podmonitors.yaml'),
  ]);
});
