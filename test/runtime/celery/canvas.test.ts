/**
 * Celery's canvas on our worker, with messages shaped as Celery 5.2 sends them: chains pass each
 * result on, link callbacks get the result, link_error errbacks the task id; what the worker
 * cannot run faithfully (chords, nested canvases) fails fast instead of leaving callers waiting.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { waitFor } from '../../support/cli';
import { killWorkers, resultOf, send, startWorker, stopWorker, TASKS_MODULE } from './helpers';
import { CeleryKeys } from '../../../runtime/contract';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
beforeEach(() => redis.flushall());
afterEach(() => killWorkers());

/** A signature as Celery serializes it into a message's embed. */
function sig(task: string, args: unknown[], options: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { task, args, kwargs: {}, options, subtask_type: null, immutable: false, ...extra };
}

test('a chain passes each result on; each step names its parent and the root; the result lists the next step as a child', async () => {
  const worker = await startWorker(server.url, ['--queues', 'celery']);
  const [second, third] = [randomUUID(), randomUUID()];
  // (add(1, 2) | add(3) | add(4)): the chain travels last step first.
  const first = await send(redis, { task: 'tasks.add', args: [1, 2], embed: { chain: [sig('tasks.add', [4], { task_id: third }), sig('tasks.add', [3], { task_id: second })] } });

  expect(await resultOf(redis, third)).toMatchObject({ status: 'SUCCESS', result: 10, parent_id: second });
  expect(await resultOf(redis, second)).toMatchObject({ status: 'SUCCESS', result: 6, parent_id: first.id, children: [[[third, null], null]] });
  expect(await resultOf(redis, first.id)).toMatchObject({ status: 'SUCCESS', result: 3, children: [[[second, null], null]] });
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
  await stopWorker(worker);
});

test('a link callback gets the result (unless immutable); a link_error errback gets the failed task’s id', async () => {
  const worker = await startWorker(server.url, ['--queues', 'celery', '--tasks', TASKS_MODULE], { RECORD_KEY: 'links' });
  const [callback, frozen] = [randomUUID(), randomUUID()];
  // tasks.add is the fixture module's override: 2 * 3.
  await send(redis, {
    task: 'tasks.add',
    args: [2, 3],
    embed: { callbacks: [sig('test.record', [], { task_id: callback }), sig('tasks.echo', ['own'], { task_id: frozen }, { immutable: true })] },
  });
  expect(await resultOf(redis, callback)).toMatchObject({ status: 'SUCCESS', result: 6 });
  expect(await resultOf(redis, frozen)).toMatchObject({ status: 'SUCCESS', result: { args: ['own'], kwargs: {} } });

  const errback = randomUUID();
  const failing = await send(redis, {
    task: 'tasks.fail',
    args: ['no'],
    embed: { callbacks: [sig('test.record', [], { task_id: randomUUID() })], errbacks: [sig('test.record', [], { task_id: errback })] },
  });
  expect(await resultOf(redis, failing.id)).toMatchObject({ status: 'FAILURE' });
  expect(await resultOf(redis, errback)).toMatchObject({ status: 'SUCCESS', result: failing.id });
  // The success callback of the failed task never ran: after the first callback, only the errback recorded.
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'all acknowledged');
  expect(await redis.lrange('links', 0, -1)).toEqual(['6', failing.id]);
  await stopWorker(worker);
});

test('a chord header task fails fast with NotImplementedError, and so does the chord body a caller waits on', async () => {
  const worker = await startWorker(server.url, ['--queues', 'celery']);
  const body = randomUUID();
  const header = await send(redis, { task: 'tasks.add', args: [1, 1], embed: { chord: sig('tasks.echo', [], { task_id: body }) } });
  const exc = { exc_type: 'NotImplementedError', exc_module: 'builtins', exc_message: [expect.stringMatching(/chords are not supported/)] };
  expect(await resultOf(redis, header.id)).toMatchObject({ status: 'FAILURE', result: exc });
  expect(await resultOf(redis, body)).toMatchObject({ status: 'FAILURE', result: exc });
  await stopWorker(worker);
});

test('a group signature inside a chain fails fast too, naming what is not supported', async () => {
  const worker = await startWorker(server.url, ['--queues', 'celery']);
  const last = randomUUID();
  const first = await send(redis, {
    task: 'tasks.add',
    args: [1, 1],
    embed: { chain: [sig('tasks.add', [1], { task_id: last }), { task: 'celery.group', args: [], kwargs: { tasks: [] }, options: {}, subtask_type: 'group', immutable: false }] },
  });
  expect(await resultOf(redis, first.id)).toMatchObject({
    status: 'FAILURE',
    result: { exc_type: 'NotImplementedError', exc_message: [expect.stringMatching(/a group signature in 'chain'/)] },
  });
  expect(await resultOf(redis, last)).toMatchObject({ status: 'FAILURE' });
  await stopWorker(worker);
});
