/** Credentials Redis refuses fail a command at once (exit 1, saying so); ioredis' own warnings arrive as log lines. */
import { Env } from '../../../runtime/contract';
import { runCli } from '../../support/cli';
import { RedisServer, startRedis } from '../../support/redis-server';
import Redis from 'ioredis';
import { transpiledCli } from '../../support/runtime-build';

let locked: RedisServer;
let open: RedisServer;

beforeAll(async () => {
  transpiledCli(); // built before the timed runs
  [locked, open] = await Promise.all([startRedis(), startRedis()]);
  const admin = new Redis(locked.url, { protocol: 2 });
  await admin.config('SET', 'requirepass', 'right-password');
  admin.disconnect();
});
afterAll(async () => {
  await Promise.all([locked?.stop(), open?.stop()]);
});

const at = (server: RedisServer) => ({ [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(server.port), [Env.REDIS_CONNECT_TIMEOUT]: '15' });

test.each([
  ['a wrong password', ['queue', 'stats'], { [Env.REDIS_PASSWORD]: 'wrong-password' }, /^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused the credentials: WRONGPASS/],
  ['no password', ['queue', 'stats'], {}, /^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused the credentials: .*NOAUTH/],
  [
    'a wrong password, loop-mode consume (which waits for Redis as long as it takes)',
    ['consume', '--metrics-port', '0'],
    { [Env.REDIS_PASSWORD]: 'wrong-password' },
    /refused the credentials: WRONGPASS/,
  ],
])('%s: exit 1 at once, not after the connect timeout, saying the credentials were refused', async (_what, args, env, message) => {
  const started = Date.now();
  const result = await runCli(args, { env: { ...at(locked), ...env } });
  expect(result.code).toBe(1);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(result.logs.at(-1)).toMatchObject({ level: 'error', msg: expect.stringMatching(message) });
  expect(result.stderr).not.toContain('not reachable');
  expect(result.stderr).not.toContain('wrong-password');
});

test('the right password works', async () => {
  const result = await runCli(['queue', 'stats'], { env: { ...at(locked), [Env.REDIS_PASSWORD]: 'right-password' } });
  expect(result).toMatchObject({ code: 0, stdout: '{"list":"events","ready":0,"inflight":0,"delayed":0,"dead":0}\n' });
});

test("ioredis' own warning (a password for a server that wants none) is a JSON log line like every other line", async () => {
  const result = await runCli(['queue', 'stats'], { env: { ...at(open), [Env.REDIS_PASSWORD]: 'unneeded' } });
  expect(result.code).toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines.length).toBe(result.logs.length);
  expect(result.logs).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('does not require a password') })]));
});
