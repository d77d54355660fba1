/**
 * A managed Redis over TLS, as the demo's: the CA comes as PEM content in env REDIS_TLS_CA (from a
 * Secret key), which alone turns TLS on; celery-worker and celery-send both reach the server
 * with it, and fail to without it.
 */
import { Env } from '../../../runtime/contract';
import { runCli } from '../../support/cli';
import { startTlsRedisServer, TlsRedisServer } from '../../support/tls-redis-server';
import { killWorkers, startWorker, stopWorker } from './helpers';

let server: TlsRedisServer;
let port: number;
let ca: string;

beforeAll(async () => {
  server = await startTlsRedisServer({ serverName: '127.0.0.1' });
  ({ port, ca } = server);
});

afterAll(async () => {
  await killWorkers();
  server?.stop();
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
