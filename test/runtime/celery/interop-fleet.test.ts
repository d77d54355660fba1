/**
 * Python workers and ours on one Redis: our `celery-send` feeding a Python worker, and a mixed
 * fleet (one Python prefork worker, two of ours) draining one queue with nothing lost.
 */
import type Redis from 'ioredis';
import { CeleryKeys, CELERY_PRIORITY_STEPS, celeryPriorityList, DEFAULT_CELERY_QUEUE, DEMO_CELERY_TASK } from '../../../runtime/contract';
import { ourSend, RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { runCli, waitFor } from '../../support/cli';
import { executionCounts, executions, PythonCeleryOptions, pythonGet, pythonSend, runPythonClient, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
// Each test starts its own fleet; a failed one must not leave workers to the next.
afterEach(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

/** Messages still in the queue (any priority) or unacknowledged. */
async function leftOver(): Promise<{ queued: number; unacked: number; unackedIndex: number }> {
  let queued = 0;
  for (const step of CELERY_PRIORITY_STEPS) queued += await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, step));
  return { queued, unacked: await redis.hlen(CeleryKeys.UNACKED), unackedIndex: await redis.zcard(CeleryKeys.UNACKED_INDEX) };
}

const NOTHING_LEFT = { queued: 0, unacked: 0, unackedIndex: 0 };

/** Waits for the acknowledgements that follow the last results (acks_late acks after storing the result). */
async function expectNothingLeft(): Promise<void> {
  await waitFor(async () => JSON.stringify(await leftOver()) === JSON.stringify(NOTHING_LEFT), 'queue and unacked to empty', 5000).catch(() => undefined);
  expect(await leftOver()).toEqual(NOTHING_LEFT);
}

test('our celery-send -> a Python Celery worker executes it; the result is visible from Python', async () => {
  // GIVEN only a Python worker
  const celery: PythonCeleryOptions = { redisUrl: server.url };
  const python = await startPythonWorker({ ...celery, concurrency: 2, tag: 'python-alone' });
  try {
    // WHEN our producer sends positional and keyword arguments
    const adds = await ourSend(server.url, 'tasks.add', { args: [2, 3], count: 3 });
    const echo = await ourSend(server.url, 'tasks.echo', { args: [1, 'Zoë 東京 🎉'], kwargs: { three: [3], four: { f: 4 } } });
    expect(adds.ids).toHaveLength(3);

    // THEN Python's get() has each result, and the Python worker ran each task once
    const outcomes = await pythonGet(celery, [...adds.ids, ...echo.ids], 20);
    expect(outcomes.slice(0, 3)).toEqual(adds.ids.map((id) => ({ id, status: 'SUCCESS', result: 5 })));
    expect(outcomes[3]).toEqual({ id: echo.ids[0], status: 'SUCCESS', result: { args: [1, 'Zoë 東京 🎉'], kwargs: { three: [3], four: { f: 4 } } } });
    const runs = (await executions(redis)).filter((e) => [...adds.ids, ...echo.ids].includes(e.id));
    expect(runs.map((e) => e.worker)).toEqual(Array(4).fill('python-alone'));
    expect(new Set(executionCounts(runs).values())).toEqual(new Set([1]));

    // AND the demo's producer (the registration task with a fake user each time) feeds it too
    const demo = await ourSend(server.url, DEMO_CELERY_TASK, { count: 2 });
    const registered = await pythonGet(celery, demo.ids, 20);
    expect(registered.map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS']);
    for (const outcome of registered) {
      const user = await redis.hgetall(outcome.result as string);
      expect(user).toMatchObject({ name: expect.stringMatching(/\S/), email: expect.stringContaining('@'), address: expect.stringMatching(/\S/), task_id: outcome.id });
      expect(user.worker).toMatch(/^python-alone-/);
    }
  } finally {
    await python.stop();
  }
  await expectNothingLeft();
});

test("celery-send's priority, countdown, expires and time limit are honoured by a Python worker; --wait reads Python's results", async () => {
  // GIVEN tasks sent by ours while no worker runs: one at priority 9, one due in 2 s, one expiring
  // in 1 s, a 5 s sleep with a 1 s time limit
  const celery: PythonCeleryOptions = { redisUrl: server.url };
  await redis.del('executed');
  const sentAt = Date.now();
  const [urgent] = (await ourSend(server.url, 'tasks.add', { args: [9, 0], priority: 9 })).ids;
  const [later] = (await ourSend(server.url, 'tasks.add', { args: [2, 0], countdown: 2 })).ids;
  const [expiring] = (await ourSend(server.url, 'tasks.add', { args: [1, 0], expires: 1 })).ids;
  // celery-send set expires to its own now + 1 s, before it returned
  const expiredBy = Date.now() + 1000;
  const [limited] = (await ourSend(server.url, 'tasks.sleep', { args: [5], timeLimit: 1 })).ids;
  expect(await redis.llen(celeryPriorityList(DEFAULT_CELERY_QUEUE, 9))).toBe(1);
  await waitFor(() => Date.now() > expiredBy + 200, 'the third task to expire', 5000);

  // WHEN a Python worker starts
  await startPythonWorker({ ...celery, concurrency: 2, tag: 'python' });

  // THEN it ran the priority 9 task and the countdown task (not before its eta), revoked the
  // expired one and stopped the sleep at its time limit
  const [u, l, e] = await pythonGet(celery, [urgent, later, expiring], 15);
  expect(u).toEqual({ id: urgent, status: 'SUCCESS', result: 9 });
  expect(l).toEqual({ id: later, status: 'SUCCESS', result: 2 });
  expect(e).toMatchObject({ id: expiring, status: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions' });
  const [t] = await pythonGet(celery, [limited], 15);
  expect(t).toMatchObject({ id: limited, status: 'FAILURE', exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions' });
  const runs = await executions(redis);
  expect(runs.map((r) => r.id).sort()).toEqual([urgent, later, limited].sort());
  const laterRun = runs.find((r) => r.id === later);
  expect(Date.parse(laterRun?.eta as string)).toBeGreaterThanOrEqual(sentAt + 2000);
  expect((laterRun?.at as number) * 1000).toBeGreaterThanOrEqual(Date.parse(laterRun?.eta as string));

  // AND celery-send --wait prints what the Python worker returned or raised
  const ok = await runCli(['celery-send', '--task', 'tasks.add', '--args', '[20, 22]', '--wait', '--wait-timeout', '15'], { env: { REDIS_URL: server.url } });
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ task: 'tasks.add', state: 'SUCCESS', result: 42 });
  const failed = await runCli(['celery-send', '--task', 'tasks.fail', '--args', '["from python"]', '--wait', '--wait-timeout', '15'], { env: { REDIS_URL: server.url } });
  expect(failed.code).toBe(1);
  expect(JSON.parse(failed.stdout)).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_module: 'builtins', exc_message: ['from python'] } });
  await stopPythonWorkers();
  await expectNothingLeft();
});

test('a mixed fleet (Python prefork acks_late + two of ours) drains 300 tasks: every one succeeds, each runs once', async () => {
  // GIVEN one Python worker and two of ours on the same queue, all with the same visibility
  // timeout, long enough that no task in hand outlives it (a restore would run it twice)
  const visibilityTimeout = 60;
  const celery: PythonCeleryOptions = { redisUrl: server.url, visibilityTimeout };
  await redis.del('executed');
  await startPythonWorker({ ...celery, concurrency: 2, acksLate: true, tag: 'python' });
  for (const tag of ['ours-1', 'ours-2']) await startOurWorker({ redisUrl: server.url, concurrency: 4, visibilityTimeout, tasks: RECORDING_TASKS, tag });

  // WHEN Python sends 300 tasks and waits for every result
  const sent = await pythonSend(celery, 'tasks.add', { args: [20, 22], count: 300, via: 'apply_async' });
  const outcomes = await pythonGet(
    celery,
    sent.map((s) => s.id),
    60,
  );

  // THEN every id has a SUCCESS result with the value
  expect(outcomes.filter((o) => o.status !== 'SUCCESS' || o.result !== 42)).toEqual([]);
  expect(outcomes.map((o) => o.id)).toEqual(sent.map((s) => s.id));
  // AND each ran exactly once, and all three workers took part
  const runs = await executions(redis);
  const counts = executionCounts(runs);
  expect(counts.size).toBe(300);
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const byWorker = new Map<string, number>();
  for (const run of runs) byWorker.set(run.worker, (byWorker.get(run.worker) ?? 0) + 1);
  expect([...byWorker.keys()].sort()).toEqual(['ours-1', 'ours-2', 'python']);
  // AND nothing is left in the queue or unacknowledged
  await expectNothingLeft();
});

test('users.register numbers its hashes with one counter on Python and ours: none overwritten', async () => {
  const celery: PythonCeleryOptions = { redisUrl: server.url };
  const register = async () => {
    const sent = await pythonSend(celery, DEMO_CELERY_TASK, { args: ['N', 'n@example.org', 'A'], count: 20, via: 'apply_async' });
    const outcomes = await pythonGet(
      celery,
      sent.map((r) => r.id),
      30,
    );
    return outcomes.map((o, i) => ({ id: sent[i].id, key: o.result as string }));
  };
  // GIVEN 20 registrations stored by a Python worker, then 20 by ours
  await startPythonWorker({ ...celery, concurrency: 2, tag: 'python' });
  const byPython = await register();
  await stopPythonWorkers();
  await startOurWorker({ redisUrl: server.url, concurrency: 4, tag: 'ours' });
  const byOurs = await register();

  // THEN 40 hashes, each still holding the registration of the task that returned its name
  const all = [...byPython, ...byOurs];
  expect(new Set(all.map((r) => r.key)).size).toBe(40);
  const users = await Promise.all(all.map((r) => redis.hgetall(r.key)));
  expect(users.map((u) => u.task_id)).toEqual(all.map((r) => r.id));
  expect(users.map((u) => (u.worker.startsWith('python') ? 'python' : u.worker))).toEqual([...Array(20).fill('python'), ...Array(20).fill('ours@localhost')]);
});

test('--unknown-task requeue: a task only Python knows reaches the Python worker through a fleet with ours', async () => {
  // GIVEN one of ours that requeues what it does not know, and one Python worker that knows it
  const visibilityTimeout = 60;
  const celery: PythonCeleryOptions = { redisUrl: server.url, visibilityTimeout };
  await redis.del('executed');
  await startOurWorker({ redisUrl: server.url, concurrency: 4, visibilityTimeout, unknownTask: 'requeue', tag: 'ours-requeue' });
  // (Celery's default early ack: an acks_late prefork worker with prefetch 1 idles ~5 s between
  // batches on Redis, which only slows this test down)
  await startPythonWorker({ ...celery, concurrency: 2, tag: 'python' });

  // WHEN Python sends 20 tasks of a name only it knows
  const sent = await pythonSend(celery, 'interop.python_only', { args: ['x'], count: 20, via: 'apply_async' });
  const outcomes = await pythonGet(
    celery,
    sent.map((s) => s.id),
    30,
  );

  // THEN each ran once, on Python
  expect(outcomes).toEqual(sent.map((s) => ({ id: s.id, status: 'SUCCESS', result: { ranOn: 'python', value: 'x' } })));
  const counts = executionCounts(await executions(redis));
  expect(sent.map((s) => counts.get(s.id))).toEqual(Array(20).fill(1));
  await expectNothingLeft();
});

test('--unknown-task requeue: chords, which only Python runs, are left to the Python worker and succeed', async () => {
  // GIVEN one of ours that hands on what it cannot run, alone at first
  const celery: PythonCeleryOptions = { redisUrl: server.url };
  await startOurWorker({ redisUrl: server.url, concurrency: 4, unknownTask: 'requeue', tag: 'ours-requeue' });

  // WHEN Python sends three chords (add(1, 1), add(2, 2)) | echo(), so ours takes every part first
  const chords: string[] = [];
  for (let i = 0; i < 3; i++) {
    const run = await runPythonClient(celery, [
      'canvas',
      '--kind',
      'chord',
      '--steps',
      JSON.stringify([
        ['tasks.add', [1, 1]],
        ['tasks.add', [2, 2]],
        ['tasks.echo', []],
      ]),
      '--no-wait',
    ]);
    expect(run.code).toBe(0);
    chords.push((run.lines[0] as { id: string }).id);
  }
  // (a moment in which ours handles them, whatever it does with them)
  await pythonGet(celery, chords, 1);
  // AND a Python worker joins
  await startPythonWorker({ ...celery, concurrency: 2, tag: 'python' });

  // THEN each chord succeeded with its header's results
  const outcomes = await pythonGet(celery, chords, 20);
  expect(outcomes.map((o) => [o.status, o.result, o.exc_message])).toEqual(Array(3).fill(['SUCCESS', { args: [[2, 4]], kwargs: {} }, undefined]));
});

test('--unknown-task requeue: a task with integers ours cannot hold exactly is left to the Python worker, which returns them exact', async () => {
  // GIVEN one of ours that hands on what it cannot run faithfully, alone at first
  const celery: PythonCeleryOptions = { redisUrl: server.url };
  await startOurWorker({ redisUrl: server.url, concurrency: 4, unknownTask: 'requeue', tag: 'ours-requeue' });
  // WHEN Python sends an echo of integers beyond 2**53 (as JSON text: a JS number would be rounded here)
  const send = await runPythonClient(celery, ['send', '--task', 'tasks.echo', '--args', '[12345678901234567890, 9007199254740993]']);
  const [sent] = send.lines as { id: string }[];
  await pythonGet(celery, [sent.id], 1); // a moment in which ours handles it, whatever it does
  // AND a Python worker joins
  await startPythonWorker({ ...celery, concurrency: 2, tag: 'python' });

  // THEN Python ran it, exactly
  const run = await runPythonClient(celery, ['repr', '--timeout', '20', sent.id]);
  expect(run.lines).toEqual([{ id: sent.id, status: 'SUCCESS', repr: "{'args': [12345678901234567890, 9007199254740993], 'kwargs': {}}" }]);
});
