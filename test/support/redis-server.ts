/**
 * A real redis-server for tests: its own free loopback port and temp dir, no persistence unless
 * asked (`appendonly`: AOF with fsync every second, as RedisQueue configures it). It can be shut
 * down and started again on the same port and dir, to test a Redis restart. Stop it in afterAll.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { createConnection, createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

export interface RedisServerOptions {
  /** AOF on (`appendonly yes`, `appendfsync everysec`): data survives a shutdown and start. @default false */
  readonly appendonly?: boolean;
  /** Listen here (e.g. a port a client already tries). @default - a free port */
  readonly port?: number;
  /** `requirepass`: clients must AUTH with it. @default - no password */
  readonly password?: string;
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The data directory (kept across shutdown and start). */
  readonly dir: string;
  /** SHUTDOWN, as an operator or Kubernetes would (AOF written and synced), and wait for the process to end. */
  shutdown(): Promise<void>;
  /** Starts again on the same port and dir after shutdown(); the AOF, if on, is loaded. */
  start(): Promise<void>;
  /** Stops the server and removes its dir. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 5000;

/** A port that was free a moment ago (the server may still lose it to a race: startRedis retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRedis(options: RedisServerOptions = {}, attempts = 5): Promise<RedisServer> {
  let lastError: unknown;
  for (let i = 0; i < (options.port ? 1 : attempts); i++) {
    const dir = mkdtempSync(join(tmpdir(), 'redis-keda-test-redis-'));
    try {
      return await serverIn(dir, options.port ?? (await freePort()), options);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      lastError = error;
    }
  }
  throw new Error(`redis-server did not start after ${attempts} attempts: ${String(lastError)}`);
}

async function serverIn(dir: string, port: number, options: RedisServerOptions): Promise<RedisServer> {
  const persistence = options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  let child = await launch(args, port, options.password);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    shutdown: async () => {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      await sendCommand(port, 'SHUTDOWN', options.password);
      await exited;
    },
    start: async () => {
      if (child.exitCode === null && child.signalCode === null) throw new Error(`redis-server on port ${port} is still running`);
      child = await launch(args, port, options.password);
    },
    stop: () => stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/** Spawns redis-server with `args` and waits until it answers PING on `port` (else stops it and throws with its output). */
export async function launch(args: string[], port: number, password?: string, host = '127.0.0.1'): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if ((await sendCommand(port, 'PING', password, host)).endsWith('+PONG\r\n')) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  await stopChild(child);
  throw new Error(`redis-server on port ${port} did not answer PING: ${output.trim()}`);
}

/** Sends one inline command (after AUTH, with a password) and resolves with the reply lines, or '' when there are none. */
function sendCommand(port: number, command: string, password?: string, host = '127.0.0.1'): Promise<string> {
  const commands = password === undefined ? [command] : [`AUTH ${password}`, command];
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const done = () => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(1000, done);
    socket.once('error', done);
    socket.once('close', done);
    socket.once('connect', () => socket.write(commands.map((c) => `${c}\r\n`).join('')));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.split('\r\n').length > commands.length) done();
    });
  });
}

/** SIGTERM (SIGKILL after 3 s) and wait for the exit; at once when it has ended. */
export function stopChild(child: ChildProcess, killAfterMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
