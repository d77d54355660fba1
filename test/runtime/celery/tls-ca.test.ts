/**
 * A managed Redis over TLS, as the demo's: the CA comes as PEM content in env REDIS_TLS_CA (from a
 * Secret key), which alone turns TLS on; celery-worker and celery-send both reach the server
 * with it, and fail to without it.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { connect } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Env } from '../../../runtime/contract';
import { runCli } from '../../support/cli';
import { freePort } from '../../support/redis-server';
import { killWorkers, startWorker, stopWorker } from './helpers';

let dir: string;
let redis: ChildProcess | undefined;
let port: number;
let ca: string;

/** A CA and a server certificate for 127.0.0.1 signed by it. */
function makeCertificates(): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt');
}

async function listening(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`TLS redis-server on ${port} did not listen`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'redis-keda-tls-'));
  makeCertificates();
  ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  port = await freePort();
  redis = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      'server.crt',
      '--tls-key-file',
      'server.key',
      '--tls-ca-cert-file',
      'ca.crt',
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  await listening();
});

afterAll(async () => {
  await killWorkers();
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('REDIS_TLS_CA alone (a plain redis:// target) means TLS verified with that CA: worker and sender work', async () => {
  const env = { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(port), [Env.REDIS_TLS_CA]: ca };
  const worker = await startWorker('', ['--queues', 'tls'], env);
  const sent = await runCli(['celery-send', '--task', 'tasks.add', '--args', '[1, 2]', '--queue', 'tls', '--wait', '--wait-timeout', '10'], { env });
  expect(sent.code).toBe(0);
  expect(JSON.parse(sent.stdout)).toMatchObject({ state: 'SUCCESS', result: 3 });
  expect((await stopWorker(worker)).code).toBe(0);
});

test('without the CA the same target is not reachable (exit 1, the reason logged)', async () => {
  const sent = await runCli(['celery-send', '--task', 'tasks.noop', '--redis-connect-timeout', '1'], { env: { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(port) } });
  expect(sent.code).toBe(1);
  expect(sent.logs.some((l) => l.level === 'error' && /not reachable/.test(l.msg))).toBe(true);
});
