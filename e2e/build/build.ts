/**
 * `npm run e2e:build`: builds (or reuses from the cache) every binary of the live control plane with
 * `CGO_ENABLED=0 go build` in our go.mod modules, at low CPU priority (nice 15) so that other work on
 * the machine keeps its share. A component is built into a temp folder renamed into place when
 * complete, so an interrupted build is never mistaken for a finished one. Prints one JSON line per
 * component: { component, dir, reused, seconds }.
 */
import { spawn } from 'child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { COMPLETE_MARKER, COMPONENTS, Component, MODULES_DIR, cacheRoot, componentDir, isBuilt, ldflags } from './components';

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
      // -mod=readonly: the committed go.mod and go.sum decide every version; nothing is resolved anew.
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${signal ?? code}`))));
  });
}

/** go's name for a main package's binary: its last path element, or the one before a /vN suffix. */
function goBinaryName(pkg: string): string {
  const parts = pkg.split('/');
  const last = parts[parts.length - 1];
  return /^v\d+$/.test(last) ? parts[parts.length - 2] : last;
}

async function build(component: Component): Promise<void> {
  const started = Date.now();
  const dir = componentDir(component);
  const reused = isBuilt(component);
  if (!reused) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    try {
      const packages = Object.values(component.binaries);
      await run('nice', ['-n', '15', 'go', 'build', '-trimpath', `-ldflags=${ldflags(component)}`, '-o', `${partial}/`, ...packages], join(MODULES_DIR, component.module));
      // go names each binary after its package's last element: rename to the harness's names.
      for (const [name, pkg] of Object.entries(component.binaries)) {
        const built = join(partial, goBinaryName(pkg));
        if (built !== join(partial, name)) renameSync(built, join(partial, name));
      }
      writeFileSync(join(partial, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      throw error;
    }
  }
  console.log(JSON.stringify({ component: component.module, dir, reused, seconds: Math.round((Date.now() - started) / 1000) }));
}

async function main(): Promise<void> {
  mkdirSync(cacheRoot(), { recursive: true });
  const only = process.argv.slice(2);
  for (const component of COMPONENTS) if (only.length === 0 || only.includes(component.module)) await build(component);
}

main().catch((error: unknown) => {
  console.error(`e2e:build: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
