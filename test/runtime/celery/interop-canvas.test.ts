/**
 * Celery's canvas as Python code uses it, run once by a Python worker (which proves the
 * expectations) and once by ours: a chain passes each result on, a link (callback) runs after its
 * task, a group runs side by side. A worker that drops the follow-up leaves the caller waiting.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { CeleryKeys } from '../../../runtime/contract';
import { RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { PythonCeleryOptions, pythonGet, runPythonClient, startPythonWorker, stopPythonWorkers, TaskOutcome } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;
let celery: PythonCeleryOptions;

withRedis((s, r) => ((server = s), (redis = r), (celery = { redisUrl: s.url })));
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

/** Runs a canvas from Python; the ids it sent and what get() on the whole gave. */
async function canvas(
  kind: 'chain' | 'group' | 'chord',
  steps: [string, unknown[]][],
  link?: [string, unknown[], string],
  linkError?: [string, unknown[], string],
): Promise<{ ids: string[]; outcome: TaskOutcome }> {
  const args = ['canvas', '--kind', kind, '--steps', JSON.stringify(steps), '--timeout', '10'];
  if (link) args.push('--link', JSON.stringify(link));
  if (linkError) args.push('--link-error', JSON.stringify(linkError));
  const run = await runPythonClient(celery, args);
  if (run.code !== 0) throw new Error(`client.py canvas exited ${run.code}:\n${run.stderr}`);
  const [sent, outcome] = run.lines as [{ ids: string[] }, TaskOutcome];
  return { ids: sent.ids, outcome };
}

describe.each([
  ['a Python worker', () => startPythonWorker({ ...celery, concurrency: 2, tag: 'python' }).then(() => undefined)],
  ['our worker', () => startOurWorker({ redisUrl: server.url, concurrency: 2, tasks: RECORDING_TASKS }).then(() => undefined)],
])('canvas on %s', (_who, start) => {
  beforeAll(start);
  afterAll(async () => {
    await stopOurWorkers();
    await stopPythonWorkers();
  });

  test('a group runs each task; GroupResult.get() collects the results in order', async () => {
    const { ids, outcome } = await canvas(
      'group',
      [0, 1, 2, 3, 4].map((i): [string, unknown[]] => ['tasks.add', [i, i]]),
    );
    expect(ids).toHaveLength(5);
    expect(outcome).toMatchObject({ status: 'SUCCESS', result: [0, 2, 4, 6, 8] });
  });

  test('a chain passes each result to the next task: (add(1, 2) | add(3) | add(4)).get() == 10', async () => {
    const { outcome } = await canvas('chain', [
      ['tasks.add', [1, 2]],
      ['tasks.add', [3]],
      ['tasks.add', [4]],
    ]);
    expect(outcome).toMatchObject({ status: 'SUCCESS', result: 10 });
  });

  test('a link (callback) runs with the result: add.apply_async((1, 1), link=add.s(10))', async () => {
    const linkId = randomUUID();
    const { ids, outcome } = await canvas('chain', [['tasks.add', [1, 1]]], ['tasks.add', [10], linkId]);
    expect(outcome).toMatchObject({ status: 'SUCCESS', result: 2 });
    expect(await pythonGet(celery, [linkId], 10)).toEqual([{ id: linkId, status: 'SUCCESS', result: 12 }]);
    // the parent's result names the callback among its children, as AsyncResult.children reads it
    const parent = JSON.parse((await redis.get(CeleryKeys.taskMeta(ids[0]))) as string) as { children: unknown[] };
    expect(JSON.stringify(parent.children)).toContain(linkId);
  });

  test('an errback (link_error) with one parameter is called with the failed task id', async () => {
    const errbackId = randomUUID();
    const { ids, outcome } = await canvas('chain', [['tasks.fail', ['boom']]], undefined, ['interop.on_error', [], errbackId]);
    expect(outcome).toMatchObject({ status: 'FAILURE', exc_type: 'ValueError', exc_message: 'boom' });
    expect(await pythonGet(celery, [errbackId], 10)).toEqual([{ id: errbackId, status: 'SUCCESS', result: ids[0] }]);
    await waitFor(async () => (await redis.llen('errbacks')) > 0, 'the errback record');
    const calls = (await redis.lrange('errbacks', 0, -1)).map((raw) => JSON.parse(raw) as { errback: string; failed: string });
    expect(calls.filter((c) => c.errback === errbackId).map((c) => c.failed)).toEqual([ids[0]]);
  });
});

describe('a chord on our worker', () => {
  beforeAll(() => startOurWorker({ redisUrl: server.url, concurrency: 2 }));
  afterAll(() => stopOurWorkers());

  test('fails fast with NotImplementedError instead of leaving the caller waiting', async () => {
    const { outcome } = await canvas('chord', [
      ['tasks.add', [1, 1]],
      ['tasks.add', [2, 2]],
      ['tasks.echo', []],
    ]);
    expect(outcome).toMatchObject({ status: 'FAILURE', exc_type: 'NotImplementedError', exc_module: 'builtins' });
  });
});
