/**
 * A redis-server that speaks only TLS, on a free loopback port, with a CA and a server
 * certificate made by openssl for this run: for the tests of `REDIS_TLS_CA` (a managed Redis over TLS).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from './redis-server';

export interface TlsRedisServer {
  readonly port: number;
  /** The PEM of the CA that signed the server's certificate. */
  readonly ca: string;
  stop(): void;
}

export interface TlsRedisOptions {
  /** The name the server's certificate is for: a DNS name, or an IP address. */
  readonly serverName: string;
  /** `requirepass`, when set. */
  readonly password?: string;
}

export async function startTlsRedisServer(options: TlsRedisOptions): Promise<TlsRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-keda-tls-'));
  let server: ChildProcess | undefined;
  try {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=redis-keda test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${options.serverName}`, '-keyout', 'server.key', '-out', 'server.csr');
    const san = /^\d+(\.\d+){3}$/.test(options.serverName) ? `IP:${options.serverName}` : `DNS:${options.serverName}`;
    writeFileSync(join(dir, 'san.ext'), `subjectAltName=${san}\n`);
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt');
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const port = await freePort();
    const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key'];
    args.push('--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir);
    if (options.password !== undefined) args.push('--requirepass', options.password);
    const started = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server = started;
    let log = '';
    started.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    started.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`TLS redis-server on ${port} not ready within 5 s:\n${log}`)), 5_000);
      const check = () => {
        if (!/Ready to accept connections/.test(log)) return;
        clearTimeout(timer);
        resolve();
      };
      started.stdout?.on('data', check);
      started.once('exit', (code) => (clearTimeout(timer), reject(new Error(`TLS redis-server exited (${code}):\n${log}`))));
    });
    return {
      port,
      ca,
      stop: () => {
        started.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
