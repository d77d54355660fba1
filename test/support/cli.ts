/**
 * Runs the `redis-keda` CLI as a child process configured only by flags and the env given here
 * (nothing inherited but PATH), from the sources transpiled by ./runtime-build (ts-node's
 * transpile-only mode, cached: a third of the start-up time).
 */
import { ChildProcess, spawn } from 'child_process';
import { resolve } from 'path';
import { transpiledCli } from './runtime-build';

export const REPO_ROOT = resolve(__dirname, '../..');

export interface LogLine {
  readonly time: string;
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** stdout as the bytes written (a command's output need not be UTF-8). */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
  /** stderr lines that parsed as JSON log lines. */
  readonly logs: LogLine[];
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Log lines so far (grows while the process runs). */
  readonly logs: LogLine[];
  /** stdout so far (grows while the process runs). */
  stdout(): string;
  readonly done: Promise<ProcessResult>;
  /** Resolves with the first log line matching, rejects if the process ends or time runs out first. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export interface SpawnOptions {
  /** The whole environment of the child besides PATH. */
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
}

export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdoutChunks: Buffer[] = [];
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => stdoutChunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && 'msg' in parsed) logs.push(parsed as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const wake of waiters) wake();
  });
  const done = new Promise<ProcessResult>((resolveDone, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(stdoutChunks);
      resolveDone({ code, signal, stdout: stdoutBytes.toString(), stdoutBytes, stderr, logs });
      for (const wake of waiters) wake();
    });
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolveWait, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) return finish(() => resolveWait(found));
        if (child.exitCode !== null || child.signalCode !== null) {
          finish(() => reject(new Error(`process ended (${child.exitCode ?? child.signalCode}) before the log line; stderr:\n${stderr}`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no such log line within ${timeoutMs} ms; stderr:\n${stderr}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  return { child, logs, stdout: () => Buffer.concat(stdoutChunks).toString(), done, waitForLog };
}

/** Starts `redis-keda <args>` from the sources. */
export function startCli(args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  return spawnProcess(process.execPath, ['--enable-source-maps', transpiledCli(), ...args], options);
}

/** Runs `redis-keda <args>` to its end; kills it and fails after `timeoutMs`. */
export async function runCli(args: readonly string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<ProcessResult> {
  const running = startCli(args, options);
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      running.child.kill('SIGKILL');
      reject(new Error(`redis-keda ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([running.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
