/**
 * Redis restarts under a mixed fleet (a graceful SHUTDOWN with AOF, as a StatefulSet rollout does)
 * while it drains a queue Python filled: both kinds of worker reconnect and every task still ends
 * with a SUCCESS result, with nothing left queued or unacknowledged.
 */
import type Redis from 'ioredis';
import { CeleryKeys, DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';
import { RECORDING_TASKS, startOurWorker, stopOurWorkers } from '../../support/celery/our-worker';
import { waitFor } from '../../support/cli';
import { completionState, COMPLETED_KEY, executions, PythonCeleryOptions, pythonGet, pythonSend, startPythonWorker, stopPythonWorkers } from '../../support/python-celery';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const VISIBILITY_TIMEOUT = 5;

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)), { appendonly: true });
afterAll(async () => {
  await stopOurWorkers();
  await stopPythonWorkers();
});

test('a Redis restart mid-drain: Python and ours reconnect, every task succeeds, nothing is left behind', async () => {
  // GIVEN a Python prefork worker (acks_late) and one of ours, 150 short sleeps sent by Python
  const celery: PythonCeleryOptions = { redisUrl: server.url, visibilityTimeout: VISIBILITY_TIMEOUT };
  await startPythonWorker({ ...celery, concurrency: 2, acksLate: true, tag: 'python' });
  await startOurWorker({ redisUrl: server.url, concurrency: 4, visibilityTimeout: VISIBILITY_TIMEOUT, tasks: RECORDING_TASKS, tag: 'ours' });
  const sent = await pythonSend(celery, 'tasks.sleep', { args: [0.1], count: 150, via: 'apply_async' });
  await waitFor(async () => (await executions(redis, COMPLETED_KEY)).length >= 20, 'the fleet to complete some tasks', 20_000);

  // WHEN Redis shuts down (AOF written) and starts again on the same port
  await server.shutdown();
  await server.start();
  await redis.ping();

  // THEN every task completes and ends with SUCCESS, but for at most one that no worker ever started: kombu takes a
  // message with BRPOP and records it in `unacked` in a second round trip, so a Redis shutdown between the two loses
  // the one message Python's worker had just popped (kombu's window, not ours: our worker claims with one script)
  const state = await completionState(redis, sent, 'every task completed after the restart', 45_000);
  expect({ lost: state.missing.length <= 1, neverStarted: state.missing.every((m) => m.startedBy.length === 0), state }).toEqual({
    lost: true,
    neverStarted: true,
    state,
  });
  if (state.missing.length > 0) process.stdout.write(`${JSON.stringify({ lostInKombuWindow: state.missing })}\n`);
  const lost = new Set(state.missing.map((m) => m.id));
  const outcomes = await pythonGet(
    celery,
    sent.filter((s) => !lost.has(s.id)).map((s) => s.id),
    20,
  );
  expect(outcomes.filter((o) => o.status !== 'SUCCESS')).toEqual([]);
  // AND nothing is left queued or unacknowledged
  await waitFor(async () => (await redis.hlen(CeleryKeys.UNACKED)) === 0, 'the last ack', 10_000).catch(() => undefined);
  expect(await redis.llen(DEFAULT_CELERY_QUEUE)).toBe(0);
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  // AND every task completed; a second completion is allowed only for what the Python worker held
  // across its reconnect (its prefetch window, 2 messages: kombu may restore them after the
  // visibility timeout while it still runs them); ours keeps results and acks until Redis is back
  const completions = new Map<string, number>();
  for (const c of await executions(redis, COMPLETED_KEY)) completions.set(c.id, (completions.get(c.id) ?? 0) + 1);
  expect(sent.filter((s) => !completions.has(s.id) && !lost.has(s.id))).toEqual([]);
  expect([...completions.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(2);
}, 120_000);
