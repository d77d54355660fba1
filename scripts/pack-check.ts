/**
 * The package proven as a user meets it: `npm pack` (the prepack build), a fresh cdk8s app with the settings of
 * cdk8s' own TypeScript app template (its tsconfig.json, read from cdk8s-cli's templates: CommonJS, classic node
 * resolution, full type checking by ts-node), the tarball installed beside cdk8s, cdk8s-plus-27, cdk8s-plus-33,
 * constructs and typescript from the npm cache `npm ci` filled (versions pinned to package-lock.json), then:
 * - the tarball lists the compiled library, the runtime API and the CLI, LICENSE and CHANGELOG, and no sources;
 * - the app type-checks with every file of examples/ and a file importing the runtime API and package.json;
 * - `cdk8s synth` of every example, each output checked as dist/ is (test/manifests/check-output.ts: layout,
 *   upstream schemas, Pod Security "restricted", our rules, every object named and every reference resolved);
 * - `kubectl kustomize` of every chart folder, when a kubectl is on the PATH (said so when not);
 * - the installed `redis-keda --version` prints package.json's version.
 * Its own time limit (PACK_CHECK_TIMEOUT_SECONDS, default 900); the work happens in a world-readable temp dir,
 * removed at the end (kept with PACK_CHECK_KEEP=1). Exit code 0 only when every check passed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkOutput } from '../test/manifests/check-output';

const ROOT = path.join(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
/** The Secrets the examples expect in the cluster (each example's header says which). */
const EXAMPLE_SECRETS = ['redis-auth', 'redis-ca'];
/** What the app installs beside the tarball, at the versions package-lock.json has. */
const APP_PACKAGES = ['cdk8s', 'cdk8s-plus-27', 'cdk8s-plus-33', 'constructs', 'typescript', 'ts-node', '@types/node'];
/** Files the tarball must hold. */
const PACKED = [
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'lib/constructs/index.js',
  'lib/constructs/index.d.ts',
  'lib/runtime/index.js',
  'lib/runtime/index.d.ts',
  'lib/runtime/cli.js',
  'lib/runtime/contract/version.js',
  'lib/imports/keda.sh.js',
];

const deadline = Date.now() + Number(process.env.PACK_CHECK_TIMEOUT_SECONDS ?? 900) * 1000;
const failures: string[] = [];

function log(message: string): void {
  process.stderr.write(`pack-check: ${message}\n`);
}

/** Runs a program to completion within what is left of the time limit; its output is returned, or shown on failure. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const timeout = deadline - Date.now();
  if (timeout <= 0) throw new Error(`time limit reached before: ${cmd} ${args.join(' ')}`);
  try {
    return execFileSync(cmd, args, { cwd, timeout, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'], env });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; signal?: string; message: string };
    const why = err.signal === 'SIGTERM' ? 'time limit reached' : err.message.split('\n')[0];
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}): ${why}\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

function lockedVersion(name: string): string {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const entry = lock.packages?.[`node_modules/${name}`];
  if (!entry?.version) throw new Error(`${name} is not in package-lock.json`);
  return entry.version;
}

function check(what: string, problems: string[]): void {
  if (problems.length === 0) {
    log(`ok: ${what}`);
    return;
  }
  failures.push(...problems.map((p) => `${what}: ${p}`));
  log(`FAILED: ${what}\n  ${problems.join('\n  ')}`);
}

function main(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-pack-'));
  fs.chmodSync(tmp, 0o755);
  try {
    checkPackage(tmp);
  } finally {
    if (process.env.PACK_CHECK_KEEP === '1') log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function checkPackage(tmp: string): void {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
  log('npm pack (prepack builds lib/)');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed.files.map((f) => f.path);
  check(`tarball ${packed.filename} holds the compiled library and CLI`, [
    ...PACKED.filter((f) => !files.includes(f)).map((f) => `${f} is missing`),
    ...files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')).map((f) => `${f}: a source file was packed`),
    ...files.filter((f) => /^(test|examples|scripts|dist|bench)\//.test(f)).map((f) => `${f} does not belong in the package`),
  ]);

  const app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'examples'), { recursive: true });
  const template = path.join(ROOT, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');
  fs.copyFileSync(path.join(template, 'tsconfig.json'), path.join(app, 'tsconfig.json'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'pack-check-app', version: '1.0.0', private: true, license: 'Apache-2.0' }, null, 2));
  fs.writeFileSync(path.join(app, 'cdk8s.yaml'), 'language: typescript\napp: npx ts-node main.ts\n');
  const examples = fs
    .readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  for (const f of examples) fs.copyFileSync(path.join(EXAMPLES, f), path.join(app, 'examples', f));
  // The runtime API and package.json, as a handler module in a user's repository imports them.
  fs.writeFileSync(
    path.join(app, 'runtime-api.ts'),
    [
      "import { defineTask, TaskError } from 'cdk8s-redis-keda/runtime';",
      "import { DEFAULT_RUNTIME_IMAGE } from 'cdk8s-redis-keda';",
      "import pkg = require('cdk8s-redis-keda/package.json');",
      "export const tasks = [defineTask('demo.fail', ['why'], async (why: unknown) => { throw new TaskError('ValueError', [String(why)]); })];",
      'export const image: string = DEFAULT_RUNTIME_IMAGE;',
      'export const version: string = pkg.version;',
      '',
    ].join('\n'),
  );

  const specs = APP_PACKAGES.map((name) => `${name}@${lockedVersion(name)}`);
  log(`npm install --prefer-offline ${packed.filename} ${specs.join(' ')}`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-exact', path.join(tmp, packed.filename), ...specs], app);

  log('tsc --noEmit with the template tsconfig (examples and the runtime API)');
  run(path.join(app, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], app);
  check('the app type-checks with the template settings', []);

  const cli = run(path.join(app, 'node_modules', '.bin', 'redis-keda'), ['--version'], app).trim();
  check('the installed redis-keda CLI runs', cli === version ? [] : [`--version printed ${JSON.stringify(cli)}, expected ${version}`]);
  const entry = run(
    'node',
    [
      '-e',
      "const p = require('cdk8s-redis-keda/package.json'); const r = require('cdk8s-redis-keda/runtime'); const l = require('cdk8s-redis-keda'); process.stdout.write(JSON.stringify([p.version, typeof r.defineTask, typeof l.GitOpsApp, l.DEFAULT_RUNTIME_IMAGE]))",
    ],
    app,
  );
  check(
    'the exports map resolves the library, the runtime API and package.json',
    entry === JSON.stringify([version, 'function', 'function', `ghcr.io/cdk8s-redis-keda/redis-keda:${version}`]) ? [] : [`got ${entry}`],
  );

  const kubectl = findOnPath('kubectl');
  const cdk8s = path.join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
  // The examples' output with the default image, as dist/ is synthesized.
  const synthEnv: NodeJS.ProcessEnv = { ...process.env, CDK8S_CHECK_UPGRADE: 'false' };
  delete synthEnv.REDIS_KEDA_IMAGE;
  for (const f of examples) {
    const name = path.basename(f, '.ts');
    const out = path.join(tmp, 'out', name);
    log(`cdk8s synth examples/${f}`);
    // ts-node without --transpile-only, as the template runs it: a type error fails the synth.
    run(process.execPath, [cdk8s, 'synth', '--app', `npx ts-node examples/${f}`, '--output', out, '--check-upgrade', 'false'], app, synthEnv);
    const result = checkOutput(out, { externalSecrets: EXAMPLE_SECRETS });
    const empty = result.charts.length === 0 ? ['no chart folder written'] : [];
    check(`examples/${f}: ${result.charts.map((c) => `${c} (${result.objects[c]} objects)`).join(', ')}`, [...empty, ...result.problems]);
    if (kubectl) {
      for (const chart of result.charts) {
        try {
          run(kubectl, ['kustomize', path.join(out, chart)], app);
          check(`kubectl kustomize ${name}/${chart}`, []);
        } catch (e) {
          check(`kubectl kustomize ${name}/${chart}`, [(e as Error).message]);
        }
      }
    }
  }
  if (!kubectl) log("kubectl not on the PATH: 'kubectl kustomize' NOT run (the layout check above still reads each kustomization.yaml)");
}

function findOnPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

try {
  main();
} catch (e) {
  failures.push((e as Error).message);
  log(`FAILED: ${(e as Error).message}`);
}
if (failures.length > 0) {
  log(`${failures.length} problem(s)`);
  process.exitCode = 1;
} else {
  log('every check passed');
}
