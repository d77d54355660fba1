/**
 * The runtime's TypeScript transpiled to JavaScript once per source state, so the many CLI child
 * processes of the tests start in a fraction of ts-node's time. Transpile only (like ts-node's
 * transpile-only mode): `tsc --noEmit` is what type-checks.
 *
 * Output goes to node_modules/.cache/redis-keda-runtime/<hash of sources> so `require('ioredis')`
 * resolves to the project's node_modules; concurrent jest workers each build into a temp dir and
 * rename it into place, the first rename wins.
 */
import { createHash } from 'crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'fs';
import { dirname, join, relative } from 'path';
import * as ts from 'typescript';

const REPO_ROOT = join(__dirname, '..', '..');
const SOURCE_DIR = join(REPO_ROOT, 'runtime');
/** Generated modules of imports/ the runtime loads (the rest of imports/ is the constructs'). */
const RUNTIME_IMPORTS = [join(REPO_ROOT, 'imports', 'externalscaler.ts')];
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'redis-keda-runtime');
const STALE_MS = 60 * 60 * 1000;

let built: string | undefined;

/** Path of the transpiled `runtime/cli.js`, building it first if the sources changed. */
export function transpiledCli(): string {
  built ??= build();
  return join(built, 'runtime', 'cli.js');
}

function build(): string {
  const sources = [...listTs(SOURCE_DIR), ...RUNTIME_IMPORTS];
  const options = compilerOptions();
  const hash = createHash('sha256').update(ts.version).update(JSON.stringify(options));
  for (const file of sources) hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  const out = join(CACHE_DIR, hash.digest('hex').slice(0, 16));
  if (existsSync(join(out, 'runtime', 'cli.js'))) return out;

  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  for (const file of sources) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file });
    const target = join(tmp, relative(REPO_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another worker was first
  }
  removeStale(out);
  return out;
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), ts.sys.readFile).config as { compilerOptions: object };
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, REPO_ROOT);
  return { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false };
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listTs(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

function removeStale(keep: string): void {
  for (const name of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // raced with another worker's cleanup
    }
  }
}
