/**
 * Go programs of the benchmarks (a go.mod of ours with its main package, e.g. bench/scaler/loadgen), built at run
 * time as e2e/build builds the control plane: `CGO_ENABLED=0 go build -trimpath` with `-mod=readonly` (the
 * committed go.mod and go.sum decide every version), into `.bench/<name>/` (git-ignored). Go's own build cache makes
 * a rebuild of unchanged sources take about a second. Without Go the benchmark is broken, saying so; never skipped.
 */
import { execFileSync, spawn } from 'child_process';
import { mkdirSync } from 'fs';
import { basename, join } from 'path';
import { REPO_ROOT } from './child';
import { BenchmarkBroken } from './report';

export interface GoProgram {
  readonly path: string;
  /** `go env GOVERSION` of the toolchain that built it. */
  readonly goVersion: string;
  readonly buildSeconds: number;
}

/** The installed Go's version; BenchmarkBroken naming `what` needs it when `go` is not on the PATH (of `env`). */
export function goVersion(what: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BenchmarkBroken(
      missing
        ? `Go is not installed (no \`go\` on the PATH): ${what} is a Go program built at run time; install Go (>= 1.26, with the Go module proxy reachable)`
        : `\`go env GOVERSION\` failed: ${String(error)}`,
    );
  }
}

/** Builds the main package at the root of `moduleDir` into `.bench/<name>/<name>`; returns its path. */
export async function buildGoProgram(moduleDir: string, name = basename(moduleDir)): Promise<GoProgram> {
  const version = goVersion(`${name} (${moduleDir})`);
  const outDir = join(REPO_ROOT, '.bench', name);
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, name);
  const started = Date.now();
  const stderr: Buffer[] = [];
  const code = await new Promise<number | string>((resolve, reject) => {
    const child = spawn('go', ['build', '-trimpath', '-o', path, '.'], {
      cwd: moduleDir,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown'));
  });
  if (code !== 0) throw new BenchmarkBroken(`go build of ${name} (in ${moduleDir}) exited with ${code}:\n${Buffer.concat(stderr).toString().trim()}`);
  return { path, goVersion: version, buildSeconds: Math.round((Date.now() - started) / 100) / 10 };
}
