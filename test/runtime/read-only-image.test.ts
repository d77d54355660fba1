/**
 * The promise runtime/Dockerfile makes: the compiled CLI runs from a read-only tree as the
 * numeric non-root user, configured only by env, writing nothing but the ready file in the
 * emptyDir. Built like the image (tsc to lib/, the production dependencies copied next to it),
 * the runtime only to keep it quick. Everything the user runs lies in a temp dir of its own,
 * whatever the permissions of the directories above the checkout.
 */
import { execFileSync, spawnSync } from 'child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative, sep } from 'path';
import Redis from 'ioredis';
import { RUNTIME_GID, RUNTIME_UID } from '../../runtime/contract';
import { ProcessResult, REPO_ROOT, spawnProcess } from '../support/cli';
import { EMPTY_QUEUE, queueState } from '../support/queue-state';
import { RedisServer, startRedis } from '../support/redis-server';

const SETPRIV = '/usr/bin/setpriv';
/** As root we switch to the image's user; otherwise the current user is already unprivileged. */
const SWITCH_USER = process.getuid?.() === 0 && existsSync(SETPRIV);

let server: RedisServer;
let redis: Redis;
let base: string;
let app: string;
let claimDir: string;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { protocol: 2 });
  // mkdtemp makes a 0700 dir: open it so the unprivileged user can reach the app inside.
  base = mkdtempSync(join(tmpdir(), 'redis-keda-image-'));
  chmodSync(base, 0o755);
  app = join(base, 'app');
  writeFileSync(
    join(base, 'tsconfig.json'),
    JSON.stringify({
      extends: join(REPO_ROOT, 'tsconfig.json'),
      compilerOptions: {
        rootDir: REPO_ROOT,
        outDir: join(app, 'lib'),
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
        declaration: false,
        sourceMap: false,
      },
      include: [join(REPO_ROOT, 'runtime', '**', '*.ts')],
    }),
  );
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(base, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`tsc failed:\n${String((error as { stdout?: Buffer }).stdout ?? error)}`);
  }
  // The image has production node_modules next to lib/: copies, not a link (the user may not be able to enter the checkout).
  for (const dir of productionPackages()) cpSync(join(REPO_ROOT, dir), join(app, dir), { recursive: true, dereference: true });
  execFileSync('chmod', ['-R', 'a+rX,a-w', app]);
  if (SWITCH_USER) checkReachable();
  // The emptyDir standing in for CLAIM_DIR: the only writable place.
  claimDir = join(base, 'claim');
  mkdirSync(claimDir, { mode: 0o700 });
  if (SWITCH_USER) chownSync(claimDir, RUNTIME_UID, RUNTIME_GID);
}, 60_000);

afterAll(async () => {
  await redis.quit();
  await server.stop();
  execFileSync('chmod', ['-R', 'u+w', app]);
  rmSync(base, { recursive: true, force: true });
});

/** The top-level node_modules folders of the package's production dependencies, with theirs (nested ones come with their parent). */
function productionPackages(): string[] {
  const found = new Set<string>();
  const resolvePackage = (name: string, from: string): string | undefined => {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dirname(dir) === dir) return undefined;
    }
  };
  const visit = (pkgDir: string) => {
    const path = relative(REPO_ROOT, pkgDir);
    if (found.has(path)) return;
    found.add(path);
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const dir = resolvePackage(dep, pkgDir);
      if (dir) visit(dir);
    }
  };
  visit(REPO_ROOT);
  found.delete('');
  return [...found].filter((p) => p.split(sep).filter((part) => part === 'node_modules').length === 1);
}

/** Fails saying what is wrong when the image's user cannot load the app (a closed directory above it, a file it cannot read). */
function checkReachable(): void {
  for (let dir = app; dirname(dir) !== dir; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) throw new Error(`uid ${RUNTIME_UID} cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}), so it cannot reach the app copied to ${app}`);
  }
  const probe = `for (const m of ['yargs', 'ioredis', 'prom-client']) require.resolve(m, { paths: [${JSON.stringify(join(app, 'lib', 'runtime'))}] })`;
  const result = spawnSync(SETPRIV, ['--reuid', String(RUNTIME_UID), '--regid', String(RUNTIME_GID), '--clear-groups', process.execPath, '-e', probe], {
    cwd: app,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`uid ${RUNTIME_UID} cannot load the runtime's dependencies from ${join(app, 'node_modules')}: ${result.stderr || result.error}`);
}

/** Runs a command as the image would: its user, NODE_ENV=production, no HOME, cwd in the read-only tree. */
function runAsImage(args: readonly string[], env: Record<string, string>): Promise<ProcessResult> {
  const command = [process.execPath, join(app, 'lib', 'runtime', 'cli.js'), ...args];
  const switched = SWITCH_USER ? [SETPRIV, '--reuid', String(RUNTIME_UID), '--regid', String(RUNTIME_GID), '--clear-groups', ...command] : command;
  return spawnProcess(switched[0], switched.slice(1), { cwd: app, env: { NODE_ENV: 'production', HOME: '/nonexistent', ...env } }).done;
}

/** Every path under `dir` with what would show a write, not following symlinks. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((path) => {
      const stat = lstatSync(join(dir, path));
      return `${path} ${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs}`;
    })
    .sort();
}

test('the compiled CLI publishes and consumes from a read-only tree as uid 1000, writing only the ready file', async () => {
  // GIVEN
  expect(existsSync(join(app, 'lib', 'runtime', 'cli.js'))).toBe(true);
  const before = snapshot(app);
  const list = 'read-only';
  const env = { REDIS_URL: server.url, LIST_NAME: list };
  if (SWITCH_USER) {
    // The setup holds: the user of the image cannot write into the app.
    expect(() =>
      execFileSync(SETPRIV, ['--reuid', String(RUNTIME_UID), '--regid', String(RUNTIME_GID), '--clear-groups', 'touch', join(app, 'probe')], { stdio: 'pipe' }),
    ).toThrow();
  }

  // WHEN
  const published = await runAsImage(['publish'], { ...env, PUBLISH_COUNT: '2', PUBLISH_INTERVAL: '0', WAIT_MIN: '0', WAIT_MAX: '0' });
  const consumed = [];
  for (let i = 0; i < 2; i++) consumed.push(await runAsImage(['consume', '--once'], { ...env, READY_FILE: join(claimDir, 'claimed'), SLEEP_SCALE: '0', LOG_LEVEL: 'debug' }));

  // THEN both succeeded
  expect(published).toMatchObject({ code: 0, stderr: expect.stringContaining('publish done') });
  for (const result of consumed) {
    expect(result.code).toBe(0);
    expect(result.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['ready file written', 'event processed']));
    expect(result.logs.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
  }
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  // AND wrote nothing: the tree is unchanged, the ready file is gone, no HOME appeared
  expect(snapshot(app)).toEqual(before);
  expect(readdirSync(claimDir)).toEqual([]);
  expect(readdirSync(base).sort()).toEqual(['app', 'claim', 'tsconfig.json']);
  expect(existsSync('/nonexistent')).toBe(false);
});
