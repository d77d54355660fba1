/**
 * `redis-keda celery-send` as a pod runs it: the envelope Python's apply_async pushes (same keys,
 * same order), priority lists, eta / expires, the demo's fake registrations, --wait.
 */
import type Redis from 'ioredis';
import { celeryPriorityList, DEMO_CELERY_TASK } from '../../../runtime/contract';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { runCli, startCli, waitFor } from '../../support/cli';
import { killWorkers, startWorker, stopWorker } from './helpers';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
beforeEach(() => redis.flushall());
afterEach(() => killWorkers());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

interface Message {
  body: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  [key: string]: unknown;
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('the envelope is apply_async’s: kombu keys in order, protocol 2 headers, base64 body [args, kwargs, embed]', async () => {
  const before = Date.now();
  const result = await runCli([
    'celery-send',
    '--task',
    'tasks.add',
    '--args',
    '[2, 3]',
    '--kwargs',
    '{"z": 1}',
    '--queue',
    'env',
    '--countdown',
    '10',
    '--expires',
    '60',
    '--redis',
    server.url,
  ]);
  expect(result.code).toBe(0);
  const [printed] = lines(result.stdout);
  expect(printed).toEqual({ id: expect.stringMatching(UUID), task: 'tasks.add', queue: 'env' });

  const raws = await redis.lrange('env', 0, -1);
  expect(raws).toHaveLength(1);
  // Python's json.dumps separators, as apply_async writes them.
  expect(raws[0]).toMatch(/^\{"body": "[A-Za-z0-9+/=]+", "content-encoding": "utf-8", "content-type": "application\/json", "headers": \{"lang": "py", "task": "tasks.add"/);
  const message = JSON.parse(raws[0]) as Message;
  const id = printed.id as string;
  expect(Object.keys(message)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
  expect(Object.keys(message.headers)).toEqual([
    'lang',
    'task',
    'id',
    'shadow',
    'eta',
    'expires',
    'group',
    'group_index',
    'retries',
    'timelimit',
    'root_id',
    'parent_id',
    'argsrepr',
    'kwargsrepr',
    'origin',
    'ignore_result',
  ]);
  expect(message.headers).toEqual({
    lang: 'py',
    task: 'tasks.add',
    id,
    shadow: null,
    eta: expect.stringMatching(ISO_UTC),
    expires: expect.stringMatching(ISO_UTC),
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: id,
    parent_id: null,
    argsrepr: '(2, 3)',
    kwargsrepr: "{'z': 1}",
    origin: expect.stringMatching(/^gen\d+@/),
    ignore_result: false,
  });
  const eta = Date.parse(message.headers.eta as string);
  expect(eta).toBeGreaterThanOrEqual(before + 10_000);
  expect(eta).toBeLessThan(Date.now() + 10_000);
  expect(Object.keys(message.properties)).toEqual(['correlation_id', 'reply_to', 'delivery_mode', 'expiration', 'delivery_info', 'priority', 'body_encoding', 'delivery_tag']);
  expect(message.properties).toEqual({
    correlation_id: id,
    reply_to: expect.stringMatching(UUID),
    delivery_mode: 2,
    expiration: expect.stringMatching(/^\d+$/),
    delivery_info: { exchange: '', routing_key: 'env' },
    priority: 0,
    body_encoding: 'base64',
    delivery_tag: expect.stringMatching(UUID),
  });
  expect(JSON.parse(Buffer.from(message.body, 'base64').toString())).toEqual([[2, 3], { z: 1 }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
});

test('--priority puts the message on the list of its kombu step; priority 0 on the bare list', async () => {
  for (const [priority, step] of [
    [0, 0],
    [2, 0],
    [5, 3],
    [7, 6],
    [9, 9],
  ]) {
    const result = await runCli(['celery-send', '--task', 'tasks.noop', '--queue', 'pq', '--priority', String(priority), '--redis', server.url]);
    expect(result.code).toBe(0);
    const list = celeryPriorityList('pq', step);
    const raw = await redis.lpop(list);
    expect(raw).not.toBeNull();
    expect((JSON.parse(raw as string) as Message).properties.priority).toBe(priority);
  }
  const bad = await runCli(['celery-send', '--priority', '10', '--redis', server.url]);
  expect(bad.code).toBe(2);
});

test('the demo task without args: a new fake registration per task, one JSON line each', async () => {
  const result = await runCli(['celery-send', '--count', '3', '--queue', 'demo-send', '--redis', server.url]);
  expect(result.code).toBe(0);
  const printed = lines(result.stdout);
  expect(printed).toHaveLength(3);
  const messages = (await redis.lrange('demo-send', 0, -1)).reverse().map((raw) => JSON.parse(raw) as Message);
  expect(messages.map((m) => m.headers.id)).toEqual(printed.map((p) => p.id));
  for (const m of messages) {
    expect(m.headers.task).toBe(DEMO_CELERY_TASK);
    const [args, kwargs] = JSON.parse(Buffer.from(m.body, 'base64').toString()) as [unknown[], Record<string, string>];
    expect(args).toEqual([]);
    expect(kwargs).toEqual({ name: expect.stringMatching(/\w+ \w+/), email: expect.stringMatching(/^[^@]+@example\.com$/), address: expect.any(String) });
  }
});

test('--wait prints each result and exits 0 on SUCCESS, 1 on FAILURE', async () => {
  const worker = await startWorker(server.url, ['--queues', 'waitq']);
  const ok = await runCli(['celery-send', '--task', 'tasks.add', '--args', '[20, 22]', '--queue', 'waitq', '--wait', '--redis', server.url]);
  expect(ok.code).toBe(0);
  expect(lines(ok.stdout)).toEqual([{ id: expect.stringMatching(UUID), task: 'tasks.add', queue: 'waitq', state: 'SUCCESS', result: 42 }]);

  const failed = await runCli(['celery-send', '--task', 'tasks.fail', '--args', '["nope"]', '--queue', 'waitq', '--wait', '--redis', server.url]);
  expect(failed.code).toBe(1);
  expect(lines(failed.stdout)[0]).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' } });
  await stopWorker(worker);
});

test('bad --args / --kwargs / --eta are usage errors naming the flag', async () => {
  for (const [args, message] of [
    [['--args', '{"a": 1}'], /--args must be a JSON array/],
    [['--kwargs', '[1]'], /--kwargs must be a JSON object/],
    [['--args', 'nope'], /--args must be JSON/],
    [['--eta', 'tomorrow'], /--eta .* must be an ISO 8601 time/],
  ] as const) {
    const result = await runCli(['celery-send', ...args, '--redis', server.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  }
});

test('--forever sends until SIGTERM, then exits 0', async () => {
  const sender = startCli(['celery-send', '--forever', '--interval', '0.05', '--task', 'tasks.noop', '--queue', 'forever', '--metrics-port', '0', '--redis', server.url]);
  await waitFor(async () => (await redis.llen('forever')) >= 3, 'three tasks sent');
  sender.child.kill('SIGTERM');
  const result = await sender.done;
  expect(result.code).toBe(0);
  expect(lines(result.stdout).length).toBe(await redis.llen('forever'));
});
