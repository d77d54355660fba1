/**
 * `redis-keda celery-worker` as a pod runs it, against a real redis-server: results as Celery's
 * Redis backend stores them, kombu's ack bookkeeping, priorities and fairness, eta / expires,
 * malformed input, unknown tasks, user task modules.
 */
import { join } from 'path';
import type Redis from 'ioredis';
import { randomUUID } from 'crypto';
import { CeleryKeys, CeleryMetrics, celeryPriorityList, DeadLetter } from '../../../runtime/contract';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { runCli, waitFor } from '../../support/cli';
import { envelope, FIXTURES, killWorkers, resultOf, send, startWorker, stopWorker, TASKS_MODULE, unackedState } from './helpers';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
beforeEach(() => redis.flushall());
afterEach(() => killWorkers());

const DATE_DONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/;

describe('results', () => {
  test('SUCCESS is stored with exactly Celery’s fields, its expiry, and PUBLISHed on the same channel', async () => {
    // GIVEN a worker with result_expires 600 and a subscriber on the result channel
    const worker = await startWorker(server.url, ['--queues', 'res', '--result-expires', '600']);
    const subscriber = redis.duplicate();
    const published: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => published.push(message));
    const id = randomUUID();
    await subscriber.subscribe(CeleryKeys.taskMeta(id));

    // WHEN tasks.add(2, 3) is sent
    await send(redis, { task: 'tasks.add', args: [2, 3], queue: 'res', id });
    const stored = await resultOf(redis, id);

    // THEN the meta has Celery's keys in Celery's order, a naive UTC date, and a TTL of 600 s
    const raw = (await redis.get(CeleryKeys.taskMeta(id))) as string;
    expect(Object.keys(stored)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(stored).toEqual({ status: 'SUCCESS', result: 5, traceback: null, children: [], date_done: expect.stringMatching(DATE_DONE), task_id: id });
    expect(Math.abs(Date.parse(`${stored.date_done}Z`) - Date.now())).toBeLessThan(60_000);
    expect(await redis.ttl(CeleryKeys.taskMeta(id))).toBeGreaterThan(500);
    await waitFor(() => published.length > 0, 'the PUBLISH');
    expect(published).toEqual([raw]);
    await subscriber.quit();

    // AND the message is acknowledged: nothing left in unacked / unacked_index
    expect(await unackedState(redis)).toEqual({ unacked: {}, index: [] });
    expect((await stopWorker(worker)).code).toBe(0);
  });

  test('failures carry the Python exception: ValueError, TypeError for bad arguments, a type of the task’s own choosing', async () => {
    const worker = await startWorker(server.url, ['--queues', 'fail', '--tasks', TASKS_MODULE]);
    const fail = await send(redis, { task: 'tasks.fail', args: ['bad input'], queue: 'fail' });
    const missing = await send(redis, { task: 'tasks.sleep', queue: 'fail' });
    const extra = await send(redis, { task: 'test.record', args: [1, 2], queue: 'fail' });
    const unexpected = await send(redis, { task: 'test.record', kwargs: { label: 1, colour: 'red' }, queue: 'fail' });
    const twice = await send(redis, { task: 'test.record', args: [1], kwargs: { label: 2 }, queue: 'fail' });
    const custom = await send(redis, { task: 'test.custom_error', queue: 'fail' });

    const failed = await resultOf(redis, fail.id);
    expect(failed).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['bad input'], exc_module: 'builtins' }, children: [], task_id: fail.id });
    expect(failed.traceback).toEqual(expect.stringContaining('ValueError: bad input'));
    const typeError = (message: string) => ({ status: 'FAILURE', result: { exc_type: 'TypeError', exc_message: [message], exc_module: 'builtins' } });
    expect(await resultOf(redis, missing.id)).toMatchObject(typeError("sleep() missing 1 required positional argument: 'seconds'"));
    expect(await resultOf(redis, extra.id)).toMatchObject(typeError('record() takes 1 positional argument but 2 were given'));
    expect(await resultOf(redis, unexpected.id)).toMatchObject(typeError("record() got an unexpected keyword argument 'colour'"));
    expect(await resultOf(redis, twice.id)).toMatchObject(typeError("record() got multiple values for argument 'label'"));
    expect(await resultOf(redis, custom.id)).toMatchObject({ status: 'FAILURE', result: { exc_type: 'KeyError', exc_message: ['quota'], exc_module: 'builtins' } });
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
    await stopWorker(worker);
  });

  test('a stored SUCCESS is never overwritten', async () => {
    // GIVEN a SUCCESS already stored for a task id
    const id = randomUUID();
    const earlier = JSON.stringify({ status: 'SUCCESS', result: 'first', traceback: null, children: [], date_done: '2024-01-01T00:00:00', task_id: id });
    await redis.set(CeleryKeys.taskMeta(id), earlier);
    const worker = await startWorker(server.url, ['--queues', 'keep']);

    // WHEN the same id runs again and fails, followed by a marker task
    await send(redis, { task: 'tasks.fail', args: ['again'], queue: 'keep', id });
    const marker = await send(redis, { task: 'tasks.noop', queue: 'keep' });
    await resultOf(redis, marker.id);
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');

    // THEN the first SUCCESS stands
    expect(await redis.get(CeleryKeys.taskMeta(id))).toBe(earlier);
    await stopWorker(worker);
  });

  test('ignore_result: the task runs and is acknowledged, no result is stored', async () => {
    const worker = await startWorker(server.url, ['--queues', 'ign', '--tasks', TASKS_MODULE], { RECORD_KEY: 'ign:recorded' });
    const quiet = await send(redis, { task: 'test.record', args: ['quiet'], queue: 'ign', ignoreResult: true });
    await waitFor(async () => (await redis.llen('ign:recorded')) === 1, 'the task ran');
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    expect(await redis.exists(CeleryKeys.taskMeta(quiet.id))).toBe(0);
    await stopWorker(worker);
  });
});

describe('claiming', () => {
  test('while a task runs, kombu’s unacked entry is [message, exchange, routing_key] byte for byte and indexed by time; both go once it is done', async () => {
    const worker = await startWorker(server.url, ['--queues', 'book']);
    const before = Date.now() / 1000;
    const message = await send(redis, { task: 'tasks.sleep', args: [1.5], queue: 'book' });
    const tag = (JSON.parse(message.raw) as { properties: { delivery_tag: string } }).properties.delivery_tag;

    await waitFor(async () => (await redis.hexists(CeleryKeys.UNACKED, tag)) === 1, 'the unacked entry');
    expect(await redis.hget(CeleryKeys.UNACKED, tag)).toBe(`[${message.raw}, "", "book"]`);
    const score = Number(await redis.zscore(CeleryKeys.UNACKED_INDEX, tag));
    expect(score).toBeGreaterThanOrEqual(Math.floor(before));
    expect(score).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(await redis.llen('book')).toBe(0);

    expect(await resultOf(redis, message.id)).toMatchObject({ status: 'SUCCESS', result: 1.5 });
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
    await stopWorker(worker);
  });

  test('a message without a delivery_tag gets one for its unacked entry, and is acknowledged under it', async () => {
    const worker = await startWorker(server.url, ['--queues', 'notag']);
    const id = randomUUID();
    const raw = JSON.stringify({
      body: Buffer.from(JSON.stringify([[0.5], {}, {}])).toString('base64'),
      'content-type': 'application/json',
      headers: { task: 'tasks.sleep', id },
      properties: { body_encoding: 'base64' },
    });
    await redis.lpush('notag', raw);
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 1, 'the unacked entry');
    const [tag] = await redis.hkeys(CeleryKeys.UNACKED);
    expect(tag).toMatch(/\S+/);
    expect(await redis.hget(CeleryKeys.UNACKED, tag)).toBe(`[${raw}, "", "notag"]`);
    expect(await resultOf(redis, id)).toMatchObject({ status: 'SUCCESS', result: 0.5 });
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
    await stopWorker(worker);
  });

  test('priority 0 first, then the priority lists in kombu’s order', async () => {
    // GIVEN messages on every priority step, pushed before the worker starts
    for (const [priority, label] of [
      [9, 'p9'],
      [6, 'p6'],
      [3, 'p3'],
      [0, 'p0-a'],
      [0, 'p0-b'],
    ] as const) {
      await send(redis, { task: 'test.record', args: [label], queue: 'prio', priority });
    }
    expect(await redis.llen(celeryPriorityList('prio', 3))).toBe(1);

    // WHEN one worker with one slot drains them
    const worker = await startWorker(server.url, ['--queues', 'prio', '--concurrency', '1', '--tasks', TASKS_MODULE], { RECORD_KEY: 'prio:order' });
    await waitFor(async () => (await redis.llen('prio:order')) === 5, 'all five ran');

    // THEN they ran by priority, FIFO within one
    expect(await redis.lrange('prio:order', 0, -1)).toEqual(['p0-a', 'p0-b', 'p3', 'p6', 'p9']);
    await stopWorker(worker);
  });

  test('several queues are served in turn (kombu’s round-robin), also within one batch', async () => {
    for (let i = 1; i <= 4; i++) {
      await send(redis, { task: 'test.record', args: [`a${i}`], queue: 'fair-a' });
      await send(redis, { task: 'test.record', args: [`b${i}`], queue: 'fair-b' });
    }
    await send(redis, { task: 'test.record', args: ['a5'], queue: 'fair-a' });
    await send(redis, { task: 'test.record', args: ['a6'], queue: 'fair-a' });
    // One slot: the record order is the claim order.
    const worker = await startWorker(server.url, ['--queues', 'fair-a,fair-b', '--concurrency', '1', '--tasks', TASKS_MODULE], { RECORD_KEY: 'fair:order' });
    await waitFor(async () => (await redis.llen('fair:order')) === 10, 'all ten ran');
    expect(await redis.lrange('fair:order', 0, -1)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4', 'a5', 'a6']);
    await stopWorker(worker);
  });

  test('a batch of many messages runs each task once, all acknowledged', async () => {
    const worker = await startWorker(server.url, ['--queues', 'many', '--concurrency', '50', '--tasks', TASKS_MODULE], { RECORD_KEY: 'many:order', RUNS_KEY: 'many:runs' });
    const messages = [];
    for (let i = 0; i < 300; i++) messages.push(await send(redis, { task: 'test.record', args: [i], queue: 'many' }));
    await waitFor(async () => (await redis.hlen('many:runs')) === 300, 'all 300 ran', 20_000);
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
    expect(new Set(Object.values(await redis.hgetall('many:runs')))).toEqual(new Set(['1']));
    for (const m of messages.slice(0, 5)) expect((await resultOf(redis, m.id)).status).toBe('SUCCESS');
    expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
    await stopWorker(worker);
  });
});

describe('malformed input', () => {
  test('is dead-lettered with the original bytes and a reason; a caller with a task id gets a FAILURE; the worker goes on', async () => {
    const worker = await startWorker(server.url, ['--queues', 'bad']);
    const pickleId = randomUUID();
    const badBase64Id = randomUUID();
    const argsId = randomUUID();
    const inputs = [
      'not json at all',
      '[1, 2, 3]',
      envelope('x', { task: 'tasks.add', id: pickleId }, {}, 'application/x-python-serialize'),
      JSON.stringify({
        body: '!!!not base64',
        'content-type': 'application/json',
        headers: { task: 'tasks.add', id: badBase64Id },
        properties: { body_encoding: 'base64', delivery_tag: 't-b64' },
      }),
      envelope([{ a: 1 }, {}, {}], { task: 'tasks.add', id: argsId }),
      envelope({ args: [1, 2] }),
    ];
    for (const raw of inputs) await redis.lpush('bad', raw);
    const good = await send(redis, { task: 'tasks.add', args: [1, 1], queue: 'bad' });

    // THEN the good task still runs
    expect(await resultOf(redis, good.id)).toMatchObject({ status: 'SUCCESS', result: 2 });
    await waitFor(async () => (await redis.llen(CeleryKeys.dead('bad'))) === inputs.length, 'every bad message dead-lettered');
    const dead = (await redis.lrange(CeleryKeys.dead('bad'), 0, -1)).map((e) => JSON.parse(e) as DeadLetter);
    expect(dead.map((d) => d.event).sort()).toEqual([...inputs].sort());
    for (const d of dead) expect(d).toMatchObject({ reason: 'malformed', attempts: 1, error: expect.any(String), failedAt: expect.any(Number) });
    expect(dead.find((d) => d.event.includes('x-python-serialize'))?.error).toMatch(/content-type 'application\/x-python-serialize'/);

    // AND callers of the three messages with an id get a FAILURE instead of waiting forever
    for (const id of [pickleId, badBase64Id, argsId]) expect(await resultOf(redis, id)).toMatchObject({ status: 'FAILURE', task_id: id });
    expect(await unackedState(redis)).toEqual({ unacked: {}, index: [] });
    expect((await stopWorker(worker)).code).toBe(0);
  });

  test('protocol 1 messages (gocelery’s) run, with args and kwargs in the body', async () => {
    const worker = await startWorker(server.url, ['--queues', 'p1']);
    const id = randomUUID();
    const kwId = randomUUID();
    await redis.lpush('p1', envelope({ task: 'tasks.add', id, args: [40, 2], kwargs: {}, retries: 0, eta: null, expires: null }));
    await redis.lpush('p1', envelope({ task: 'tasks.add', id: kwId, args: [], kwargs: { a: 1, b: 2 } }));
    expect(await resultOf(redis, id)).toMatchObject({ status: 'SUCCESS', result: 42, task_id: id });
    expect(await resultOf(redis, kwId)).toMatchObject({ status: 'SUCCESS', result: 3 });
    await stopWorker(worker);
  });
});

describe('eta and expires', () => {
  test('an eta task is held, unacknowledged and without a slot, until its time; others run meanwhile', async () => {
    const worker = await startWorker(server.url, ['--queues', 'eta', '--concurrency', '1']);
    const eta = Date.now() + 2500;
    const later = await send(redis, { task: 'tasks.add', args: [1, 1], queue: 'eta', eta });
    const tag = (JSON.parse(later.raw) as { properties: { delivery_tag: string } }).properties.delivery_tag;
    await worker.waitForLog((l) => l.msg === 'task received, waiting for its eta' && l.taskId === later.id);

    // WHILE it waits: it is in unacked, has no result, and the single slot runs another task
    const now = await send(redis, { task: 'tasks.noop', queue: 'eta' });
    expect(await resultOf(redis, now.id)).toMatchObject({ status: 'SUCCESS' });
    expect(await redis.exists(CeleryKeys.taskMeta(later.id))).toBe(0);
    expect(await redis.hexists(CeleryKeys.UNACKED, tag)).toBe(1);

    // THEN it runs, not before its eta
    const result = await resultOf(redis, later.id);
    expect(result.status).toBe('SUCCESS');
    expect(Date.parse(`${result.date_done}Z`)).toBeGreaterThanOrEqual(eta);
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    await stopWorker(worker);
  });

  test('an expired task is not run: REVOKED with TaskRevokedError("expired"), acknowledged', async () => {
    const worker = await startWorker(server.url, ['--queues', 'exp', '--tasks', TASKS_MODULE], { RECORD_KEY: 'exp:ran' });
    const expired = await send(redis, { task: 'test.record', args: ['should not run'], queue: 'exp', expires: Date.now() - 1000 });
    const result = await resultOf(redis, expired.id);
    expect(result).toMatchObject({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' }, traceback: null });
    expect(await redis.llen('exp:ran')).toBe(0);
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    await stopWorker(worker);
  });
});

describe('time limits (headers.timelimit)', () => {
  test('past the soft limit the task’s signal aborts and it fails with SoftTimeLimitExceeded; past the hard one with TimeLimitExceeded', async () => {
    const worker = await startWorker(server.url, ['--queues', 'limits', '--tasks', TASKS_MODULE], { RUNS_KEY: 'limits:runs' });
    const soft = await send(redis, { task: 'tasks.sleep', args: [30], queue: 'limits', timeLimit: { soft: 0.3 } });
    // test.slow ignores its signal: only the hard limit ends it.
    const hard = await send(redis, { task: 'test.slow', args: [30_000], queue: 'limits', timeLimit: { hard: 0.5, soft: 0.2 } });
    const within = await send(redis, { task: 'tasks.sleep', args: [0.1], queue: 'limits', timeLimit: { hard: 5, soft: 4 } });

    expect(await resultOf(redis, soft.id)).toMatchObject({ status: 'FAILURE', result: { exc_type: 'SoftTimeLimitExceeded', exc_message: [], exc_module: 'billiard.exceptions' } });
    expect(await resultOf(redis, hard.id)).toMatchObject({ status: 'FAILURE', result: { exc_type: 'TimeLimitExceeded', exc_message: [0.5], exc_module: 'billiard.exceptions' } });
    expect(await resultOf(redis, within.id)).toMatchObject({ status: 'SUCCESS', result: 0.1 });
    // All three acknowledged, though the hard-limited handler still runs (and keeps its slot).
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    worker.child.kill('SIGKILL');
  });
});

describe('revoke (Celery remote control on the pidbox channel)', () => {
  /** What `app.control.revoke(ids, terminate=...)` PUBLISHes (kombu fanout on /<db>.celery.pidbox). */
  function revoke(ids: string[], options: { terminate?: boolean; destination?: string[] } = {}): Promise<number> {
    const body = {
      method: 'revoke',
      arguments: { task_id: ids, terminate: options.terminate ?? false, signal: null },
      destination: options.destination ?? null,
      pattern: null,
      matcher: null,
    };
    const message = envelope(body, { clock: 1, expires: Date.now() / 1000 + 60 }, { delivery_info: { exchange: 'celery.pidbox', routing_key: '' } });
    return redis.publish('/0.celery.pidbox', message);
  }

  test('a held eta task, a task still to come, and (with terminate) a running one are REVOKED and not run', async () => {
    const worker = await startWorker(server.url, ['--queues', 'rev', '--tasks', TASKS_MODULE], { RECORD_KEY: 'rev:ran', RUNS_KEY: 'rev:runs' });
    const held = await send(redis, { task: 'test.record', args: ['eta'], queue: 'rev', eta: Date.now() + 600_000 });
    await worker.waitForLog((l) => l.msg === 'task received, waiting for its eta');
    const running = await send(redis, { task: 'test.slow', args: [60_000], queue: 'rev' });
    await waitFor(async () => (await redis.hget('rev:runs', running.id)) === '1', 'the slow task running');
    const future = randomUUID();

    // A revoke for another worker changes nothing
    expect(await revoke([held.id], { destination: ['celery@elsewhere'] })).toBe(1);
    await revoke([held.id, future]);
    await revoke([running.id], { terminate: true });

    const revoked = (reason: string) => ({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' } });
    expect(await resultOf(redis, held.id)).toMatchObject(revoked('revoked'));
    expect(await resultOf(redis, running.id)).toMatchObject(revoked('terminated'));
    await send(redis, { task: 'test.record', args: ['future'], queue: 'rev', id: future });
    expect(await resultOf(redis, future)).toMatchObject(revoked('revoked'));
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
    expect(await redis.llen('rev:ran')).toBe(0);
    worker.child.kill('SIGKILL');
  });
});

test('ping (app.control.ping / celery inspect ping): the pong goes to the caller’s reply queue with its ticket', async () => {
  const worker = await startWorker(server.url, ['--queues', 'pinged', '--hostname', 'redis-keda@pod-1']);
  // What Python's Mailbox does: bind its reply queue, then broadcast the request.
  await redis.sadd(CeleryKeys.binding('reply.celery.pidbox'), 'oid-1\x06\x16\x06\x16oid-1.reply.celery.pidbox');
  const request = {
    method: 'ping',
    arguments: {},
    destination: null,
    pattern: null,
    matcher: null,
    ticket: 'ticket-1',
    reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid-1' },
  };
  await redis.publish('/0.celery.pidbox', envelope(request, { clock: 1 }, { delivery_info: { exchange: 'celery.pidbox', routing_key: '' } }));
  const reply = await redis.brpop('oid-1.reply.celery.pidbox', 10);
  const message = JSON.parse((reply as [string, string])[1]) as { body: string; headers: Record<string, unknown> };
  expect(message.headers.ticket).toBe('ticket-1');
  expect(JSON.parse(Buffer.from(message.body, 'base64').toString())).toEqual({ 'redis-keda@pod-1': { ok: 'pong' } });
  await stopWorker(worker);
});

describe('unknown tasks', () => {
  test('fail (default): FAILURE NotRegistered from celery.exceptions, acknowledged', async () => {
    const worker = await startWorker(server.url, ['--queues', 'unk']);
    const unknown = await send(redis, { task: 'python.only', args: [1], queue: 'unk' });
    expect(await resultOf(redis, unknown.id)).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'NotRegistered', exc_message: ['python.only'], exc_module: 'celery.exceptions' },
    });
    await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'acknowledged');
    expect(await redis.llen('unk')).toBe(0);
    await stopWorker(worker);
  });

  test('requeue: handed back unchanged for workers that know it; known tasks still run', async () => {
    const worker = await startWorker(server.url, ['--queues', 'req', '--unknown-task', 'requeue']);
    const unknown = await send(redis, { task: 'python.only', args: [1], queue: 'req' });
    await worker.waitForLog((l) => l.msg.startsWith('unknown task handed back'));
    const known = await send(redis, { task: 'tasks.add', args: [2, 2], queue: 'req' });
    expect(await resultOf(redis, known.id)).toMatchObject({ status: 'SUCCESS', result: 4 });
    const result = await stopWorker(worker);
    expect(result.code).toBe(0);

    // THEN the unknown message is on its list as it was sent, unacked is empty, no result stored
    expect(await redis.lrange('req', 0, -1)).toEqual([unknown.raw]);
    expect(await unackedState(redis)).toEqual({ unacked: {}, index: [] });
    expect(await redis.exists(CeleryKeys.taskMeta(unknown.id))).toBe(0);
  });
});

describe('task modules', () => {
  test('--tasks loads CommonJS and ES modules; a user task overrides a built-in of the same name', async () => {
    const worker = await startWorker(server.url, ['--queues', 'mods', '--tasks', TASKS_MODULE]);
    const add = await send(redis, { task: 'tasks.add', args: [3, 4], queue: 'mods' });
    expect(await resultOf(redis, add.id)).toMatchObject({ result: 12 });
    await stopWorker(worker);

    const esm = await startWorker(server.url, ['--queues', 'mods'], { CELERY_TASKS: join(FIXTURES, 'celery-tasks.mjs') });
    const double = await send(redis, { task: 'test.double', args: [21], queue: 'mods' });
    expect(await resultOf(redis, double.id)).toMatchObject({ status: 'SUCCESS', result: 42 });
    await stopWorker(esm);
  });

  test('a module without tasks is an error that says what to export (exit 1)', async () => {
    const result = await runCli(['celery-worker', '--tasks', join(FIXTURES, 'celery-tasks-bad.js'), '--redis', server.url, '--metrics-port', '0']);
    expect(result.code).toBe(1);
    expect(result.logs.map((l) => l.msg).join('\n')).toMatch(/exports no tasks: export an array of defineTask/);
  });

  test('the demo task stores the registration with the worker and the time in users:<n> and returns the hash name', async () => {
    const worker = await startWorker(server.url, ['--queues', 'demo', '--hostname', 'redis-keda@test-pod']);
    const first = await send(redis, { task: 'users.register', kwargs: { name: 'Ada', email: 'ada@example.com', address: '1 Main St' }, queue: 'demo' });
    const second = await send(redis, { task: 'users.register', args: ['Alan', 'alan@example.com', '2 Elm St'], queue: 'demo' });
    expect(await resultOf(redis, first.id)).toMatchObject({ status: 'SUCCESS', result: 'users:1' });
    expect(await resultOf(redis, second.id)).toMatchObject({ status: 'SUCCESS', result: 'users:2' });
    expect(await redis.hgetall('users:2')).toEqual({
      name: 'Alan',
      email: 'alan@example.com',
      address: '2 Elm St',
      worker: 'redis-keda@test-pod',
      processed: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      task_id: second.id,
    });
    await stopWorker(worker);
  });
});

test('the worker is named redis-keda@<POD_NAME> unless told otherwise', async () => {
  const worker = await startWorker(server.url, ['--queues', 'named'], { POD_NAME: 'celery-worker-7d9f-x2' });
  const sent = await send(redis, { task: 'users.register', args: ['Grace', 'grace@example.com', '3 Oak Ave'], queue: 'named' });
  const { result } = await resultOf(redis, sent.id);
  expect(await redis.hget(result as string, 'worker')).toBe('redis-keda@celery-worker-7d9f-x2');
  await stopWorker(worker);
});

test('/metrics counts tasks by name and state', async () => {
  const worker = await startWorker(server.url, ['--queues', 'met']);
  const ok = await send(redis, { task: 'tasks.noop', queue: 'met' });
  const bad = await send(redis, { task: 'tasks.fail', queue: 'met' });
  await resultOf(redis, ok.id);
  await resultOf(redis, bad.id);
  const port = (await worker.waitForLog((l) => l.msg === 'health server listening')).port as number;
  await waitFor(
    async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes(`${CeleryMetrics.TASKS}{task="tasks.fail",state="FAILURE"} 1`),
    'the failure counted',
  );
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(text).toContain(`${CeleryMetrics.TASKS}{task="tasks.noop",state="SUCCESS"} 1`);
  // Every other (task, state) of the registered tasks is there at 0 from the start, so rate() sees the first one.
  expect(text).toContain(`${CeleryMetrics.TASKS}{task="tasks.noop",state="FAILURE"} 0`);
  expect(text).toContain(`${CeleryMetrics.TASKS}{task="users.register",state="SUCCESS"} 0`);
  expect(text).toContain(CeleryMetrics.TASKS_ACTIVE);
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  await stopWorker(worker);
});
