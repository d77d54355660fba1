/**
 * Python Celery as the client, our `celery-worker` (the shipped tasks, no --tasks module) as the
 * worker: what `AsyncResult.get()` returns or raises, countdown, and a protocol 1 message as
 * gocelery sends it.
 */
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { CeleryKeys, DEFAULT_CELERY_QUEUE, DEMO_CELERY_TASK } from '../../../runtime/contract';
import { gocelerMessage } from '../../support/celery/gocelery';
import { RECORDING_TASKS, startOurWorker, stopOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { pythonCall, PythonCeleryOptions, pythonGet, pythonSend, runPythonClient, SentTask } from '../../support/python-celery';
import { waitFor } from '../../support/cli';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const RESULT_EXPIRES = 600;

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url })));

beforeAll(async () => {
  await startOurWorker({ redisUrl: server.url, concurrency: 4, resultExpires: RESULT_EXPIRES });
});
afterAll(() => stopOurWorkers());

/** Every message published on a celery-task-meta-* channel while `during` runs, by channel. */
async function published<T>(during: () => Promise<T>): Promise<{ value: T; messages: Map<string, string[]> }> {
  const subscriber = new Redis(server.url, { protocol: 2 });
  const messages = new Map<string, string[]>();
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => messages.set(channel, [...(messages.get(channel) ?? []), message]));
  try {
    await subscriber.psubscribe(CeleryKeys.taskMeta('*'));
    const value = await during();
    return { value, messages };
  } finally {
    await subscriber.quit();
  }
}

describe('Python .delay() -> our worker -> AsyncResult.get()', () => {
  test('tasks.add returns the value; the result is stored as Celery stores it, with its expiry, and PUBLISHed', async () => {
    // WHEN Python calls tasks.add(2, 3) and waits for it
    const { value, messages } = await published(() => pythonCall(celery, 'tasks.add', { args: [2, 3] }));
    const { sent, outcomes } = value;
    const id = sent[0].id;

    // THEN get() returned 5
    expect(outcomes).toEqual([{ id, status: 'SUCCESS', result: 5 }]);
    // AND the stored meta has Celery's fields, lives RESULT_EXPIRES seconds, and was published as stored
    const stored = await redis.get(CeleryKeys.taskMeta(id));
    expect(JSON.parse(stored as string)).toEqual({ status: 'SUCCESS', result: 5, traceback: null, children: [], date_done: expect.any(String), task_id: id });
    const ttl = await redis.ttl(CeleryKeys.taskMeta(id));
    expect(ttl).toBeGreaterThan(RESULT_EXPIRES - 60);
    expect(ttl).toBeLessThanOrEqual(RESULT_EXPIRES);
    expect(messages.get(CeleryKeys.taskMeta(id))).toEqual([stored]);
  });

  test('a result that lands after get() started waiting reaches it (pub/sub, not only the stored key)', async () => {
    // tasks.sleep(1.5) finishes well after client.py's get() did its first GET and subscribed.
    const { outcomes } = await pythonCall(celery, 'tasks.sleep', { args: [1.5], timeout: 15 });
    expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: 1.5 });
  });

  test('arguments and results keep non-ASCII text, nested values and keyword arguments intact', async () => {
    const args = ['Zoë 東京 🎉', { nested: [1, 2.5, null, true] }];
    const kwargs = { ключ: 'ü', empty: {} };
    const { outcomes } = await pythonCall(celery, 'tasks.echo', { args, kwargs });
    expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: { args, kwargs } });
  });

  test('integers beyond 2**53 fail the task with OverflowError: never a silently different number', async () => {
    // Python ints are exact; the JSON of the message carries them exactly. (Python's repr, since a
    // JS reader of the client's JSON output would round them itself.)
    // (args as JSON text: a JS number literal would already be rounded here)
    const send = await runPythonClient(celery, ['send', '--task', 'tasks.echo', '--args', '[12345678901234567890, 9007199254740993]']);
    const [sent] = send.lines as SentTask[];
    const run = await runPythonClient(celery, ['repr', '--timeout', '10', sent.id]);
    const [outcome] = run.lines as { status: string; repr?: string }[];
    // Ours cannot carry them exactly, so it refuses the task with Python's OverflowError.
    expect(outcome).toMatchObject({ status: 'FAILURE', exc_type: 'OverflowError', exc_module: 'builtins' });
  });

  test(`${DEMO_CELERY_TASK} stores the users:<n> hash and returns its name`, async () => {
    const { outcomes } = await pythonCall(celery, DEMO_CELERY_TASK, { args: ['Ada Lovelace', 'ada@example.org', '12 St James Square'] });
    expect(outcomes[0]).toMatchObject({ status: 'SUCCESS', result: expect.stringMatching(/^users:\d+$/) });
    const user = await redis.hgetall(outcomes[0].result as string);
    expect(user).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.org', address: '12 St James Square' });
  });
});

describe('failures raise in Python', () => {
  test("tasks.fail('bad') raises builtins.ValueError('bad')", async () => {
    const { outcomes } = await pythonCall(celery, 'tasks.fail', { args: ['bad'] });
    expect(outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'ValueError', exc_module: 'builtins', exc_message: 'bad', exc_args: ['bad'] });
  });

  test("bad arguments raise builtins.TypeError with Python's message", async () => {
    // send_task: Python's client would refuse the bad call itself before sending it.
    const missing = await pythonCall(celery, 'tasks.add', { args: [1], via: 'send_task' });
    expect(missing.outcomes[0]).toMatchObject({
      status: 'FAILURE',
      exc_type: 'TypeError',
      exc_module: 'builtins',
      exc_message: "add() missing 1 required positional argument: 'b'",
    });
    const extra = await pythonCall(celery, 'tasks.add', { args: [1, 2], kwargs: { c: 3 }, via: 'send_task' });
    expect(extra.outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'TypeError', exc_message: "add() got an unexpected keyword argument 'c'" });
  });

  test("AsyncResult's accessors read our results: state, ready, successful/failed, date_done, traceback", async () => {
    const ok = await pythonCall(celery, 'tasks.add', { args: [1, 1] });
    const failed = await pythonCall(celery, 'tasks.fail', { args: ['bad'] });
    const run = await runPythonClient(celery, ['inspect', ok.sent[0].id, failed.sent[0].id]);
    expect(run.code).toBe(0);
    const [good, bad] = run.lines as { date_done: string; traceback: string }[];
    expect(good).toMatchObject({ state: 'SUCCESS', ready: true, successful: true, failed: false, traceback: null, children: [] });
    expect(bad).toMatchObject({ state: 'FAILURE', ready: true, successful: false, failed: true });
    expect(bad.traceback).toMatch(/ValueError: bad\n?$/);
    // date_done parsed by Celery into a datetime (naive UTC), close to now
    for (const result of [good, bad]) expect(Math.abs(Date.parse(`${result.date_done}Z`) - Date.now())).toBeLessThan(60_000);
  });

  test('an unknown task raises celery.exceptions.NotRegistered instead of hanging', async () => {
    const { outcomes } = await pythonCall(celery, 'billing.nowhere', { args: [1], via: 'send_task', timeout: 10 });
    expect(outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'NotRegistered', exc_module: 'celery.exceptions' });
    expect(outcomes[0].exc_message).toContain('billing.nowhere');
  });
});

test('apply_async(countdown=3) runs no earlier than its eta, then completes', async () => {
  // GIVEN a registration sent with a 3 s countdown
  const [sent] = await pythonSend(celery, DEMO_CELERY_TASK, { args: ['Grace Hopper', 'grace@example.org', 'Arlington'], countdown: 3, via: 'apply_async' });
  expect(sent.eta).not.toBeNull();
  const eta = Date.parse(sent.eta as string);

  // WHEN Python waits for it
  const [outcome] = await pythonGet(celery, [sent.id], 20);

  // THEN it succeeded, and the worker stored it at or after the eta (its own processed time)
  expect(outcome).toMatchObject({ status: 'SUCCESS', result: expect.stringMatching(/^users:\d+$/) });
  const user = await redis.hgetall(outcome.result as string);
  expect(user).toMatchObject({ name: 'Grace Hopper' });
  expect(processedAtMs(user)).toBeGreaterThanOrEqual(eta);
  const meta = JSON.parse((await redis.get(CeleryKeys.taskMeta(sent.id))) as string) as { date_done: string };
  expect(Date.parse(`${meta.date_done}Z`)).toBeGreaterThanOrEqual(eta);
});

/** The demo task's processed time in ms, whatever field name and unit it uses. */
function processedAtMs(user: Record<string, string>): number {
  const key = Object.keys(user).find((k) => /processed/i.test(k));
  if (!key) throw new Error(`no processed-time field in ${JSON.stringify(user)}`);
  const raw = user[key];
  const number = Number(raw);
  if (Number.isFinite(number)) return number < 1e11 ? number * 1000 : number;
  return Date.parse(raw);
}

test('a SUCCESS already stored is not overwritten by a later run of the same id that fails (as Celery 5.2)', async () => {
  const id = randomUUID();
  const [first] = (await pythonCall(celery, 'tasks.add', { args: [1, 2], taskId: id, via: 'apply_async' })).outcomes;
  expect(first).toEqual({ id, status: 'SUCCESS', result: 3 });
  // the same id again (a redelivered duplicate), failing this time
  await pythonSend(celery, 'tasks.fail', { args: ['late'], taskId: id, via: 'send_task' });
  await waitFor(async () => (await redis.llen(DEFAULT_CELERY_QUEUE)) === 0 && (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the duplicate to be handled');
  expect(await pythonGet(celery, [id], 5)).toEqual([{ id, status: 'SUCCESS', result: 3 }]);
});

test('a result JSON cannot carry (a user task returning a BigInt) raises kombu.exceptions.EncodeError in Python', async () => {
  const worker = await startOurWorker({ redisUrl: server.url, concurrency: 1, tasks: RECORDING_TASKS, queues: ['encoding'] });
  const { outcomes } = await pythonCall(celery, 'interop.unserializable', { via: 'send_task', queue: 'encoding', timeout: 10 });
  expect(outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'EncodeError', exc_module: 'kombu.exceptions' });
  await stopOurWorker(worker);
});

test("Python's own protocol 1 messages (task_protocol=1) run, positional and keyword", async () => {
  const protocol1 = { ...celery, taskProtocol: 1 as const };
  const add = await pythonCall(protocol1, 'tasks.add', { args: [20], kwargs: { b: 22 }, via: 'apply_async' });
  expect(add.outcomes[0]).toEqual({ id: add.sent[0].id, status: 'SUCCESS', result: 42 });
  const failed = await pythonCall(protocol1, 'tasks.fail', { args: ['old client'], via: 'apply_async' });
  expect(failed.outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'ValueError', exc_message: 'old client' });
});

test('a pickled message (a client with task_serializer=pickle) fails fast with kombu ContentDisallowed and is dead-lettered', async () => {
  const { sent, outcomes } = await pythonCall({ ...celery, taskSerializer: 'pickle' }, 'tasks.add', { args: [1, 2], timeout: 10 });
  expect(outcomes[0]).toMatchObject({ status: 'FAILURE', exc_type: 'ContentDisallowed', exc_module: 'kombu.exceptions' });
  const dead = (await redis.lrange(CeleryKeys.dead(DEFAULT_CELERY_QUEUE), 0, -1)).map((raw) => JSON.parse(raw) as { event: string; reason: string });
  expect(dead.filter((d) => d.event.includes(sent[0].id)).map((d) => d.reason)).toEqual(['malformed']);
});

test('a protocol 1 message (gocelery) is executed and its result read from Python', async () => {
  // GIVEN two protocol 1 tasks, positional and keyword
  const add = { id: randomUUID(), task: 'tasks.add', args: [3, 4], kwargs: {} };
  const register = { id: randomUUID(), task: DEMO_CELERY_TASK, args: [], kwargs: { name: 'Alan Turing', email: 'alan@example.org', address: 'Wilmslow' } };

  // WHEN Python waits for them while they are pushed the way gocelery pushes
  const waiting = pythonGet(celery, [add.id, register.id], 20);
  await redis.lpush(DEFAULT_CELERY_QUEUE, gocelerMessage(add), gocelerMessage(register));
  const outcomes = await waiting;

  // THEN both ran
  expect(outcomes[0]).toEqual({ id: add.id, status: 'SUCCESS', result: 7 });
  expect(outcomes[1]).toMatchObject({ id: register.id, status: 'SUCCESS', result: expect.stringMatching(/^users:\d+$/) });
  expect(await redis.hgetall(outcomes[1].result as string)).toMatchObject({ name: 'Alan Turing', email: 'alan@example.org', address: 'Wilmslow' });
});
