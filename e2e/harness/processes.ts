/**
 * The programs of a harness run as child processes, each logging stdout and stderr to its own file
 * in the run's log folder (printed when a test fails). Stopped in reverse start order with SIGTERM,
 * then SIGKILL after a grace period; a process exit hook and the parent-death signal SIGKILL whatever
 * is still running, so a crashed or interrupted test run leaves nothing behind.
 */
import { ChildProcess, spawn } from 'child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';

const STOP_GRACE_MS = 10_000;

export interface StartedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (with its code or signal). */
  readonly exited: Promise<string>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// A test process killed by a signal runs no 'exit' hook: each program is started through
// `setpriv --pdeathsig KILL` (util-linux), so the kernel kills it when the test process dies.
const SETPRIV = '/usr/bin/setpriv';

export class Processes {
  private readonly started: StartedProcess[] = [];

  constructor(public readonly logDir: string) {}

  /** Starts `command args` with exactly `env` (plus PATH and HOME) logging to <logDir>/<name>.log, in `options.cwd` if given. */
  start(name: string, command: string, args: readonly string[], env: Record<string, string> = {}, options: { readonly cwd?: string } = {}): StartedProcess {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], {
      stdio: ['ignore', fd, fd],
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    });
    closeSync(fd);
    running.add(child);
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        resolve(signal ? `signal ${signal}` : `code ${code}`);
      });
      child.once('error', (error) => {
        running.delete(child);
        resolve(`spawn error: ${error.message}`);
      });
    });
    const started = { name, logFile, child, exited };
    this.started.push(started);
    return started;
  }

  /** Throws with the log's tail when `process` has already exited: used while waiting for readiness. */
  assertRunning(started: StartedProcess): void {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${started.name} exited (${started.child.signalCode ?? started.child.exitCode}); its log ends:\n${tail(started.logFile, 40)}`);
    }
  }

  /** Stops every process, last started first. */
  async stopAll(): Promise<void> {
    for (const started of [...this.started].reverse()) await stop(started);
    this.started.length = 0;
  }

  /** The last lines of every log file in the log folder, for a failing test's output. */
  logTails(lines = 60): string {
    if (!existsSync(this.logDir)) return '';
    return readdirSync(this.logDir)
      .sort()
      .map((file) => `===== ${join(this.logDir, file)} (last ${lines} lines) =====\n${tail(join(this.logDir, file), lines)}`)
      .join('\n');
  }
}

async function stop(started: StartedProcess): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await started.exited;
  clearTimeout(timer);
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch (error) {
    return `(cannot read: ${(error as Error).message})`;
  }
}
