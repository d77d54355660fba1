import { join } from 'path';
import type Redis from 'ioredis';
import { DeadLetter, Metrics, queueKeys } from '../../../runtime/contract';
import { ProcessResult, REPO_ROOT, runCli, startCli, waitFor } from '../../support/cli';
import { EMPTY_QUEUE, proof, queueState } from '../../support/queue-state';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const FIXTURES = join(REPO_ROOT, 'test', 'runtime', 'fixtures');
const PROOF_HANDLER = join(FIXTURES, 'proof-handler.js');

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

/** The env of a consumer of `list` that proves its work in `<list>:proof`. */
function consumerEnv(list: string, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: server.url, LIST_NAME: list, HANDLER: PROOF_HANDLER, PROOF_KEY: `${list}:proof`, ...extra };
}

/** Runs `consume --once` `times` times, `parallel` at a time. */
async function consumeOnceTimes(list: string, times: number, parallel: number, extra?: Record<string, string>): Promise<ProcessResult[]> {
  const results: ProcessResult[] = [];
  for (let started = 0; started < times; started += parallel) {
    const wave = Array.from({ length: Math.min(parallel, times - started) }, () => runCli(['consume', '--once'], { env: consumerEnv(list, extra) }));
    results.push(...(await Promise.all(wave)));
  }
  return results;
}

const processedIds = (result: ProcessResult) => result.logs.filter((l) => l.msg === 'event processed').map((l) => l.eventId);

test('publish N, then N `consume --once` Jobs handle every event exactly once; one more finds the list empty', async () => {
  // GIVEN 25 published events
  const list = 'consume-n';
  const published = await runCli(['publish', '--count', '25', '--batch', '10', '--interval', '0', '--list', list, '--redis', server.url]);
  expect(published.code).toBe(0);
  const events = (await redis.lrange(list, 0, -1)).map((raw) => JSON.parse(raw) as { id: string; enqueuedAt: number; wait: number });
  expect(events).toHaveLength(25);
  for (const event of events) {
    expect(event).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), enqueuedAt: expect.any(Number), wait: expect.any(Number) });
    expect(event.wait).toBeGreaterThanOrEqual(10);
    expect(event.wait).toBeLessThanOrEqual(20);
  }

  // WHEN 25 Jobs run, 5 at a time
  const results = await consumeOnceTimes(list, 25, 5);

  // THEN each exited 0 having processed one event, and the proof counts each id once
  expect(results.map((r) => r.code)).toEqual(Array(25).fill(0));
  expect(results.map(processedIds).flat().sort()).toEqual(events.map((e) => e.id).sort());
  const counts = await proof(redis, `${list}:proof`);
  expect(Object.keys(counts).sort()).toEqual(events.map((e) => e.id).sort());
  expect(new Set(Object.values(counts))).toEqual(new Set([1]));
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);

  // AND one more Job on the empty list exits 0 without work
  const empty = await runCli(['consume', '--once'], { env: consumerEnv(list) });
  expect(empty.code).toBe(0);
  expect(empty.logs.map((l) => l.msg)).toContain('list is empty, nothing to do');
  expect(processedIds(empty)).toEqual([]);
});

const MALFORMED: [string, RegExp][] = [
  ['not json', /^not JSON/],
  ['{"wait": -1}', /"wait" must be >= 0, got -1/],
  ['{"nowait": 1}', /"wait" is missing/],
  ['{"wait": "x"}', /"wait" must be a finite number/],
  ['[]', /not a JSON object/],
];

describe('malformed events', () => {
  test('Job mode: each goes to <list>:dead as the original string with its reason; the Job exits 0', async () => {
    // GIVEN
    const list = 'malformed-once';
    for (const [raw] of MALFORMED) await redis.lpush(list, raw);
    // WHEN
    const results = await consumeOnceTimes(list, MALFORMED.length, MALFORMED.length);
    // THEN
    expect(results.map((r) => r.code)).toEqual(Array(MALFORMED.length).fill(0));
    const state = await queueState(redis, list);
    expect(state).toEqual({ ...EMPTY_QUEUE, dead: expect.any(Array) });
    expect(state.dead.map((d) => d.event).sort()).toEqual(MALFORMED.map(([raw]) => raw).sort());
    for (const [raw, error] of MALFORMED) {
      const entry = state.dead.find((d) => d.event === raw) as DeadLetter;
      expect(entry).toEqual({
        event: raw,
        reason: 'malformed',
        error: expect.stringMatching(error),
        attempts: 1,
        deliveries: 1,
        firstFailedAt: entry.failedAt,
        failedAt: expect.any(Number),
      });
    }
    expect(await proof(redis, `${list}:proof`)).toEqual({});
  });

  test('a stopping loop consumer logs what it did: processed, failed, retried, dead-lettered, handed back', async () => {
    // GIVEN (taken in this order) a good event, one failing twice (retried, then dead-lettered), a malformed one, and one outlasting the grace period
    const list = 'stop-tally';
    await redis.lpush(list, '{"id": "good", "wait": 0}', '{"id": "fails", "wait": 0, "fail": true}', 'garbage', '{"id": "long", "wait": 0, "sleepMs": 60000}');
    const consumer = startCli(['consume', '--metrics-port', '0', '--concurrency', '4', '--max-attempts', '2', '--backoff', '0', '--backoff-max', '0', '--grace', '0'], {
      env: consumerEnv(list),
    });
    await consumer.waitForLog((l) => l.msg === 'handler failed; event dead-lettered');
    await consumer.waitForLog((l) => l.msg === 'event processed');
    // WHEN
    consumer.child.kill('SIGTERM');
    const result = await consumer.done;
    // THEN
    expect(result.code).toBe(0);
    expect(result.logs.at(-1)).toMatchObject({
      level: 'info',
      msg: 'consumer stopped',
      processed: 1,
      failed: 2,
      retried: 1,
      deadLettered: 2,
      handedBack: 1,
      lost: 0,
      unconfirmed: 0,
    });
    expect(await redis.lrange(list, 0, -1)).toEqual(['{"id": "long", "wait": 0, "sleepMs": 60000}']);
  });

  test('loop mode goes on past them, handles a good event, counts it all on /metrics and stops on SIGTERM', async () => {
    // GIVEN malformed events, a failing one (with --max-attempts 1: no retry), then a good one (taken in that order)
    const list = 'malformed-loop';
    for (const [raw] of MALFORMED) await redis.lpush(list, raw);
    await redis.lpush(list, '{"id": "fails", "wait": 0, "fail": true}');
    await redis.lpush(list, '{"id": "good", "wait": 0}');
    // WHEN
    const consumer = startCli(['consume', '--metrics-port', '0', '--max-attempts', '1'], { env: consumerEnv(list) });
    try {
      const { port } = await consumer.waitForLog((l) => l.msg === 'health server listening');
      await consumer.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'good');
      // THEN
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain(`${Metrics.PROCESSED} 1`);
      expect(metrics).toContain(`${Metrics.FAILED} 1`);
      expect(metrics).toContain(`${Metrics.RETRIED} 0`);
      expect(metrics).toContain(`${Metrics.DEAD_LETTERED}{reason="malformed"} ${MALFORMED.length}`);
      expect(metrics).toContain(`${Metrics.DEAD_LETTERED}{reason="handler-failed"} 1`);
      expect(metrics).toContain(`${Metrics.PROCESSING_SECONDS}_count 2`);
      expect(metrics).toContain(`${Metrics.REDELIVERED} 0`);
      expect(metrics).toContain(`${Metrics.IN_FLIGHT} 0`);
      expect(metrics).toContain(`${Metrics.QUEUE_DEPTH}{state="dead"} ${MALFORMED.length + 1}`);
      expect(metrics).toContain(`${Metrics.QUEUE_DEPTH}{state="ready"} 0`);
    } finally {
      consumer.child.kill('SIGTERM');
    }
    const result = await consumer.done;
    expect(result.code).toBe(0);
    expect(result.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['stopping', 'consumer stopped']));
    // AND the last line says what it did
    expect(result.logs.at(-1)).toMatchObject({
      msg: 'consumer stopped',
      processed: 1,
      failed: 1,
      retried: 0,
      deadLettered: MALFORMED.length + 1,
      handedBack: 0,
      lost: 0,
      unconfirmed: 0,
    });
    expect(await proof(redis, `${list}:proof`)).toEqual({ good: 1 });
    const state = await queueState(redis, list);
    expect(state).toEqual({ ...EMPTY_QUEUE, dead: expect.any(Array) });
    expect(state.dead).toHaveLength(MALFORMED.length + 1);
    expect(state.dead.find((d) => d.reason === 'handler-failed')).toEqual({
      event: '{"id": "fails", "wait": 0, "fail": true}',
      reason: 'handler-failed',
      error: 'asked to fail: fails',
      attempts: 1,
      deliveries: 1,
      firstFailedAt: expect.any(Number),
      failedAt: expect.any(Number),
    });
  });
});

test('Job mode: a failing handler schedules a retry (exit 0); `queue reap` puts it on the list once due; the last attempt dead-letters it', async () => {
  // GIVEN an event whose handler always fails, two attempts allowed, 2 s backoff
  const list = 'handler-fails-once';
  const raw = '{"id": "f1", "wait": 0, "fail": true}';
  await redis.lpush(list, raw);
  const env = consumerEnv(list, { MAX_ATTEMPTS: '2', BACKOFF_SECONDS: '2' });
  // WHEN the first Job fails it
  const first = await runCli(['consume', '--once'], { env });
  // THEN it waits in <list>:delayed, not on the list (KEDA starts no Job for it yet), and the Job exited 0
  expect(first.code).toBe(0);
  expect(first.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'handler failed; retrying later', eventId: 'f1', attempts: 1, error: 'asked to fail: f1' })]));
  let state = await queueState(redis, list);
  expect(state).toMatchObject({ ready: [], inflight: [], delayed: [expect.any(String)], dead: [] });
  expect(Object.values(state.delayedEvents)).toEqual([raw]);
  // AND a Job started before it is due finds nothing to do
  expect((await runCli(['consume', '--once'], { env })).logs.map((l) => l.msg)).toContain('list is empty, nothing to do');

  // WHEN it is due and the reaper CronJob runs
  const due = Number(await redis.zscore(queueKeys(list).delayed, state.delayed[0]));
  await waitFor(
    async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Number(micros) / 1000 >= due;
    },
    'the retry to be due',
    5000,
  );
  const reap = await runCli(['queue', 'reap'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  expect(JSON.parse(reap.stdout)).toEqual({ list, requeued: 0, promoted: 1 });
  expect((await queueState(redis, list)).ready).toEqual([raw]);
  // AND the Job KEDA starts for it fails it a second time
  const second = await runCli(['consume', '--once'], { env });
  expect(second.code).toBe(0);

  // THEN it is dead-lettered with both attempts, its first and last failure time, and no counters remain
  state = await queueState(redis, list);
  expect(state).toEqual({ ...EMPTY_QUEUE, dead: [expect.objectContaining({ event: raw, reason: 'handler-failed', error: 'asked to fail: f1', attempts: 2, deliveries: 2 })] });
  // At least the retry delay between the two failures; how much more depends on the machine's load.
  expect(state.dead[0].failedAt - (state.dead[0].firstFailedAt as number)).toBeGreaterThanOrEqual(1800);
});

test('two Jobs racing for the last event: exactly one handles it, both exit 0', async () => {
  const list = 'race';
  await redis.lpush(list, '{"id": "last", "wait": 0}');
  const [a, b] = await Promise.all([runCli(['consume', '--once'], { env: consumerEnv(list) }), runCli(['consume', '--once'], { env: consumerEnv(list) })]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect([...processedIds(a), ...processedIds(b)]).toEqual(['last']);
  expect([a, b].filter((r) => r.logs.some((l) => l.msg === 'list is empty, nothing to do'))).toHaveLength(1);
  expect(await proof(redis, `${list}:proof`)).toEqual({ last: 1 });
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
});

test('seed events {"wait": 0}, identical in content, are each accepted and handled', async () => {
  // GIVEN three identical bare events, as the original demo's seed pushes them
  const list = 'seeds';
  await redis.lpush(list, '{"wait": 0}', '{"wait": 0}', '{"wait": 0}');
  // WHEN
  const results = await consumeOnceTimes(list, 3, 3);
  // THEN three distinct derived ids, each handled once
  expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
  const counts = await proof(redis, `${list}:proof`);
  expect(Object.keys(counts)).toHaveLength(3);
  for (const [id, count] of Object.entries(counts)) {
    expect(id).toMatch(/^seed-[\w-]{12}\.1$/);
    expect(count).toBe(1);
  }
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
});

test('the demo handler sleeps wait * --sleep-scale; an ES module handler loads relative to the working directory', async () => {
  const list = 'handlers';
  await redis.lpush(list, '{"id": "demo", "wait": 2}', '{"id": "esm", "wait": 0}');
  const demo = await runCli(['consume', '--once', '--sleep-scale', '0.1', '--list', list, '--redis', server.url]);
  expect(demo.code).toBe(0);
  expect(demo.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'working on event', eventId: 'demo', seconds: 0.2 })]));
  const esm = await runCli(['consume', '--once', '--handler', 'proof-handler.mjs'], { cwd: FIXTURES, env: { ...consumerEnv(list), HANDLER: undefined } });
  expect(esm.code).toBe(0);
  expect(await proof(redis, `${list}:proof`)).toEqual({ esm: 1 });
  expect(await redis.exists(queueKeys(list).inflight)).toBe(0);
});

test('a --handler that does not load is exit 1 with the reason, and nothing is claimed', async () => {
  const list = 'bad-handler';
  await redis.lpush(list, '{"id": "kept", "wait": 0}');
  const result = await runCli(['consume', '--once', '--handler', 'no/such/module.js'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  expect(result.code).toBe(1);
  expect(result.logs.at(-1)?.msg).toMatch(/cannot load handler '.*no\/such\/module\.js'/);
  expect(await queueState(redis, list)).toEqual({ ...EMPTY_QUEUE, ready: ['{"id": "kept", "wait": 0}'] });
});

describe('loop mode', () => {
  test('SIGTERM mid-event: the event in hand is finished, nothing new is taken, exit 0', async () => {
    // GIVEN a consumer busy with the first of two events
    const list = 'loop-sigterm';
    await redis.lpush(list, '{"id": "in-hand", "wait": 0}', '{"id": "left", "wait": 0}');
    const consumer = startCli(['consume', '--metrics-port', '0', '--log-level', 'debug'], { env: consumerEnv(list, { PROOF_SLEEP_MS: '1000' }) });
    try {
      await consumer.waitForLog((l) => l.msg === 'event claimed' && l.eventId === 'in-hand');
    } finally {
      // WHEN
      consumer.child.kill('SIGTERM');
    }
    const result = await consumer.done;
    // THEN
    expect(result.code).toBe(0);
    const msgs = result.logs.map((l) => l.msg);
    expect(msgs.indexOf('stopping')).toBeLessThan(msgs.indexOf('event processed'));
    expect(await proof(redis, `${list}:proof`)).toEqual({ 'in-hand': 1 });
    expect(await queueState(redis, list)).toEqual({ ...EMPTY_QUEUE, ready: ['{"id": "left", "wait": 0}'] });
  });

  test('--concurrency N handles N events at the same time', async () => {
    const list = 'loop-concurrency';
    await redis.lpush(list, ...['c1', 'c2', 'c3'].map((id) => JSON.stringify({ id, wait: 0 })));
    const consumer = startCli(['consume', '--concurrency', '3', '--metrics-port', '0', '--log-level', 'debug'], { env: consumerEnv(list, { PROOF_SLEEP_MS: '500' }) });
    try {
      await waitFor(async () => Object.keys(await proof(redis, `${list}:proof`)).length === 3, 'three events handled');
    } finally {
      consumer.child.kill('SIGTERM');
    }
    const result = await consumer.done;
    expect(result.code).toBe(0);
    // All three were claimed before the first one finished.
    const msgs = result.logs.map((l) => l.msg);
    const claimedAt = msgs.flatMap((m, i) => (m === 'event claimed' ? [i] : []));
    expect(claimedAt).toHaveLength(3);
    expect(Math.max(...claimedAt)).toBeLessThan(msgs.indexOf('event processed'));
    expect(await proof(redis, `${list}:proof`)).toEqual({ c1: 1, c2: 1, c3: 1 });
  });
});
