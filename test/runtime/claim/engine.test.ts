import { runClaimLanes } from '../../../runtime/claim/engine';
import { performance } from 'perf_hooks';
import Redis from 'ioredis';
import { ClaimEngine, ClaimOutcome, ClaimSource, ClaimTuning } from '../../../runtime/claim/engine';
import { HANDOFF_MS, StopClock } from '../../../runtime/claim/stop';
import { createLogger } from '../../../runtime/log';
import { withRedis } from '../../support/redis-fixture';
async function limits(lanes: number, concurrency: number, maxBatch: number): Promise<number[]> {
  const seen: number[] = [];
  await runClaimLanes(lanes, concurrency, maxBatch, async (limit) => void seen.push(limit));
  return seen;
}

test('the slots are shared among the lanes, each lane capped at maxBatch', async () => {
  expect(await limits(3, 100, 500)).toEqual([34, 34, 34]);
  expect(await limits(2, 2000, 500)).toEqual([500, 500]);
});

test('never more lanes than slots, and at least one', async () => {
  expect(await limits(3, 1, 500)).toEqual([1]);
  expect(await limits(0, 5, 500)).toEqual([5]);
});

let redis: Redis;
withRedis((_server, r) => (redis = r));

const TUNING: ClaimTuning = { lanes: 3, maxBatch: 1000, maxWaitMs: 2000, minPollMs: 10, maxPollMs: 250, noun: 'items' };

/** A worker side that holds what it claims until `finish` is called, recording each claim and wait. */
function holdingSource(engine: () => ClaimEngine, outcome: (want: number) => ClaimOutcome = () => ({ drained: false })) {
  const state = { inHand: 0, wants: [] as number[], waits: [] as number[], peak: 0 };
  const source: ClaimSource = {
    busy: () => state.inHand,
    claim: async (want) => {
      state.wants.push(want);
      // A real round trip, so the lanes overlap as they do against Redis.
      await redis.ping();
      state.inHand += want;
      state.peak = Math.max(state.peak, state.inHand);
      return outcome(want);
    },
    waitForWork: async (_connection, timeoutMs) => {
      state.waits.push(timeoutMs);
      await new Promise((r) => setTimeout(r, 20));
    },
  };
  const finish = (n: number) => {
    state.inHand -= n;
    engine().wake();
  };
  return { state, source, finish };
}

function lines() {
  const logged: { level: string; msg: string; failures?: number }[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (line) => logged.push(JSON.parse(line)) });
  return { logged, log };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

test('the lanes share the free slots: never more in hand than the concurrency; a freed slot is claimed again', async () => {
  // GIVEN an engine of 3 lanes at concurrency 10 whose claims always bring what they ask for
  const controller = new AbortController();
  // Assigned once, below: the source's callback needs the engine that needs the source.
  // eslint-disable-next-line prefer-const
  let engine: ClaimEngine | undefined;
  const { state, source, finish } = holdingSource(() => engine as ClaimEngine);
  engine = new ClaimEngine({ concurrency: 10, signal: controller.signal, redis, log: lines().log, tuning: TUNING }, source);
  // WHEN it runs
  const running = engine.run();
  await until(() => state.inHand === 10);
  // THEN the first claims took 4, 4 and 2 (ceil(10 / 3) per lane, then what was left), and it waits
  expect(state.wants).toEqual([4, 4, 2]);
  await new Promise((r) => setTimeout(r, 50));
  expect(state.wants).toEqual([4, 4, 2]);
  // WHEN 3 slots free in one tick, THEN one claim takes all 3
  finish(1);
  finish(2);
  await until(() => state.inHand === 10);
  expect(state.wants).toEqual([4, 4, 2, 3]);
  expect(state.peak).toBe(10);
  controller.abort();
  expect(await running).toBeLessThanOrEqual(Date.now());
});

test('a drained claim waits for work once for all lanes, as long as the next due time or maxWaitMs at the most', async () => {
  const controller = new AbortController();
  // 300 as due; none due: maxWaitMs; 5000 capped at maxWaitMs; a due time passed: no wait at all; then 100
  const outcomes: ClaimOutcome[] = [{ drained: true, untilDueMs: 300 }, { drained: true }, { drained: true, untilDueMs: 5000 }, { drained: true, untilDueMs: -20 }];
  const waits: number[] = [];
  let claims = 0;
  const blocking = new Redis(redis.options);
  const engine = new ClaimEngine(
    { concurrency: 1, signal: controller.signal, redis, blocking, log: lines().log, tuning: TUNING },
    {
      busy: () => 0,
      claim: async () => (claims++, outcomes.shift() ?? { drained: true, untilDueMs: 100 }),
      waitForWork: async (connection, timeoutMs) => {
        expect(connection).toBe(blocking);
        waits.push(timeoutMs);
        await new Promise((r) => setTimeout(r, 20));
      },
    },
  );
  const running = engine.run();
  await until(() => waits.length >= 4);
  controller.abort();
  await running;
  expect(waits.slice(0, 4)).toEqual([300, 2000, 2000, 100]);
  expect(claims).toBeGreaterThanOrEqual(5);
  // The abort ended the blocking connection's wait.
  expect(blocking.status).toBe('end');
});

test('without a blocking connection an empty list is polled 10, 20, 40 ... ms apart', async () => {
  const controller = new AbortController();
  const claimedAt: number[] = [];
  const engine = new ClaimEngine(
    { concurrency: 1, signal: controller.signal, redis, log: lines().log, tuning: TUNING },
    {
      busy: () => 0,
      claim: async () => {
        claimedAt.push(performance.now());
        if (claimedAt.length === 5) controller.abort();
        return { drained: true };
      },
      waitForWork: async () => {
        throw new Error('not without a blocking connection');
      },
    },
  );
  await engine.run();
  const gaps = claimedAt.slice(1).map((t, i) => t - claimedAt[i]);
  expect(gaps.map((g, i) => g >= [10, 20, 40, 80][i] - 2)).toEqual([true, true, true, true]);
});

test('claim errors back off and are logged, the first and every tenth; success says so once', async () => {
  const controller = new AbortController();
  const { logged, log } = lines();
  const claimedAt: number[] = [];
  const engine = new ClaimEngine(
    { concurrency: 1, signal: controller.signal, redis, log, tuning: TUNING },
    {
      busy: () => 0,
      claim: async () => {
        claimedAt.push(performance.now());
        if (claimedAt.length <= 2) throw new Error('LOADING Redis is loading the dataset in memory');
        controller.abort();
        return { drained: false };
      },
      waitForWork: async () => undefined,
    },
  );
  await engine.run();
  // 100 ms then 200 ms of backoff (a timer may fire up to a millisecond early on Node's clock: one CI run saw 299)
  const gaps = claimedAt.slice(1).map((t, i) => t - claimedAt[i]);
  expect(gaps.map((g, i) => g >= [100, 200][i] - 2)).toEqual([true, true]);
  expect(logged.map((l) => [l.level, l.msg, l.failures])).toEqual([
    ['error', 'claim failed; retrying', 1],
    ['info', 'claiming works again', 2],
  ]);
});

test('a saturated source or a pause stops claiming until woken or the pause is over', async () => {
  const controller = new AbortController();
  let saturated = true;
  const pausedUntil = Date.now() + 200;
  const claimedAt: number[] = [];
  const engine = new ClaimEngine(
    { concurrency: 1, signal: controller.signal, redis, log: lines().log, tuning: TUNING },
    {
      busy: () => 0,
      saturated: () => saturated,
      pausedUntil: () => pausedUntil,
      claim: async () => {
        claimedAt.push(Date.now());
        controller.abort();
        return { drained: false };
      },
      waitForWork: async () => undefined,
    },
  );
  const running = engine.run();
  await new Promise((r) => setTimeout(r, 50));
  expect(claimedAt).toEqual([]);
  saturated = false;
  engine.wake();
  await running;
  expect(claimedAt).toHaveLength(1);
  expect(claimedAt[0]).toBeGreaterThanOrEqual(pausedUntil);
});

describe('StopClock', () => {
  test('no hand-off deadline before the stop; HANDOFF_MS from the end of the grace wait', async () => {
    const clock = new StopClock();
    expect(clock.handoffBy()).toBe(Infinity);
    // GIVEN work that finishes 100 ms into a 10 s grace period
    const graceDeadline = Date.now() + 10_000;
    let idle: (() => void) | undefined;
    const waiting = clock.graceWait(graceDeadline, (i) => (idle = i));
    expect(clock.handoffBy()).toBe(graceDeadline + HANDOFF_MS);
    await new Promise((r) => setTimeout(r, 100));
    const finishedAt = Date.now();
    (idle as () => void)();
    await waiting;
    // THEN the hand-off counts from then, not from the grace deadline
    expect(clock.handoffBy()).toBeGreaterThanOrEqual(finishedAt + HANDOFF_MS);
    expect(clock.handoffBy()).toBeLessThan(finishedAt + HANDOFF_MS + 100);
    expect(HANDOFF_MS).toBe(5000);
  });

  test('the grace wait ends at the deadline when work does not finish', async () => {
    const clock = new StopClock();
    const started = Date.now();
    await clock.graceWait(started + 150, () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(clock.handoffBy()).toBe(Math.min(started + 150 + HANDOFF_MS, clock.handoffBy()));
    expect(clock.handoffBy()).toBeLessThanOrEqual(started + 150 + HANDOFF_MS);
  });
});
