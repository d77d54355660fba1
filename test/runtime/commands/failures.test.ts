/**
 * One test per way an event or a worker can fail, each against real redis-server processes and
 * the CLI as a child process: a throwing handler, a handler outliving its lease, a worker killed
 * mid-event, an event that kills its worker every time, Redis away at start and mid-run, SIGTERM
 * mid-event within and past the grace period. (Malformed events: consume.test.ts.)
 */
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import Redis from 'ioredis';
import { Metrics } from '../../../runtime/contract';
import { ProcessResult, REPO_ROOT, RunningProcess, runCli, startCli, waitFor } from '../../support/cli';
import { EMPTY_QUEUE, proof, queueState } from '../../support/queue-state';
import { freePort, RedisServer, startRedis } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const FIXTURES = join(REPO_ROOT, 'test', 'runtime', 'fixtures');
const PROOF_HANDLER = join(FIXTURES, 'proof-handler.js');
const KILLER_HANDLER = join(FIXTURES, 'killer-handler.js');

let server: RedisServer;
let redis: Redis;
let readyDir: string;

withRedis((s, r) => ((server = s), (redis = r)));
beforeAll(() => {
  readyDir = mkdtempSync(join(tmpdir(), 'redis-keda-failures-'));
});
afterAll(() => rmSync(readyDir, { recursive: true, force: true }));

function env(list: string, extra: Record<string, string> = {}, url = server.url): Record<string, string> {
  return { REDIS_URL: url, LIST_NAME: list, HANDLER: PROOF_HANDLER, PROOF_KEY: `${list}:proof`, ...extra };
}

/** A loop-mode consumer with debug logs (its 'event claimed' lines) and a free metrics port. */
function startLoop(list: string, extra: Record<string, string> = {}, url?: string): RunningProcess {
  return startCli(['consume', '--metrics-port', '0', '--log-level', 'debug'], { env: env(list, extra, url) });
}

async function metricsOf(consumer: RunningProcess): Promise<string> {
  const { port } = await consumer.waitForLog((l) => l.msg === 'health server listening');
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

async function probe(consumer: RunningProcess, path: string): Promise<number> {
  const { port } = await consumer.waitForLog((l) => l.msg === 'health server listening');
  return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
}

async function stopped(consumer: RunningProcess): Promise<ProcessResult> {
  consumer.child.kill('SIGTERM');
  return consumer.done;
}

const claimedBy = (consumer: RunningProcess, id: string) => consumer.logs.some((l) => l.msg === 'event claimed' && l.eventId === id);

test('a throwing handler is retried with growing delays, then dead-lettered with every attempt and the last error', async () => {
  // GIVEN an event whose handler always throws: 4 attempts, backoff 0.2 s doubling
  const list = 'retry-backoff';
  const raw = '{"id": "flaky", "wait": 0, "fail": true}';
  await redis.lpush(list, raw);
  // WHEN a loop consumer works on it
  const consumer = startLoop(list, { MAX_ATTEMPTS: '4', BACKOFF_SECONDS: '0.2', BACKOFF_MAX_SECONDS: '10' });
  try {
    await consumer.waitForLog((l) => l.msg === 'handler failed; event dead-lettered', 15_000);
    // THEN every failure counted, three retries, one dead letter
    const metrics = await metricsOf(consumer);
    expect(metrics).toContain(`${Metrics.FAILED} 4`);
    expect(metrics).toContain(`${Metrics.RETRIED} 3`);
    expect(metrics).toContain(`${Metrics.DEAD_LETTERED}{reason="handler-failed"} 1`);
  } finally {
    await stopped(consumer);
  }
  // AND the attempts were spaced 0.2, 0.4, 0.8 s (less up to 10 % jitter; plus the time to notice)
  const attempts = (await redis.lrange(`${list}:proof:failed:flaky`, 0, -1)).map(Number);
  expect(attempts).toHaveLength(4);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
  [200, 400, 800].forEach((delay, i) => {
    expect(gaps[i]).toBeGreaterThanOrEqual(delay * 0.9 - 5);
    expect(gaps[i]).toBeLessThan(delay + 700);
  });
  expect(gaps[1]).toBeGreaterThan(gaps[0]);
  expect(gaps[2]).toBeGreaterThan(gaps[1]);
  expect(consumer.logs.filter((l) => l.msg === 'handler failed; retrying later').map((l) => l.attempts)).toEqual([1, 2, 3]);
  // AND the dead letter holds the original string, the attempts, the last error and both times
  const state = await queueState(redis, list);
  expect(state).toEqual({ ...EMPTY_QUEUE, dead: [expect.objectContaining({ event: raw, reason: 'handler-failed', error: 'asked to fail: flaky', attempts: 4, deliveries: 4 })] });
  // At least the three backoffs (1.4 s less up to 10 % jitter); how much more depends on the machine's load.
  expect(state.dead[0].failedAt - (state.dead[0].firstFailedAt as number)).toBeGreaterThanOrEqual(1200);
});

describe('a handler running past its lease', () => {
  test('while its worker lives, the lease is renewed: a second worker reaping all along never gets the event', async () => {
    // GIVEN worker A busy with a 2.5 s event under a 1 s lease
    const list = 'outlives-lease';
    const lease = { LEASE_SECONDS: '1' };
    const a = startLoop(list, lease);
    let b: RunningProcess | undefined;
    try {
      await a.waitForLog((l) => l.msg === 'consumer started');
      await redis.lpush(list, '{"id": "slow", "wait": 0, "sleepMs": 2500}');
      await a.waitForLog((l) => l.msg === 'event claimed' && l.eventId === 'slow');
      // WHEN worker B runs beside it, reaping every half lease
      b = startLoop(list, lease);
      await b.waitForLog((l) => l.msg === 'consumer started');
      // THEN A finishes it, B never claimed it, nothing was requeued
      await a.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'slow', 10_000);
      expect(claimedBy(b, 'slow')).toBe(false);
      expect(b.logs.filter((l) => l.msg === 'requeued events whose lease ran out')).toEqual([]);
      expect(a.logs.filter((l) => l.level === 'warn')).toEqual([]);
    } finally {
      await Promise.all([stopped(a), b && stopped(b)]);
    }
    expect(await proof(redis, `${list}:proof`)).toEqual({ slow: 1 });
    expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  });

  test('a worker SIGKILLed mid-event: another worker takes the event over after the lease and handles it', async () => {
    // GIVEN worker A holding a 1.5 s event under a 1 s lease, worker B idle
    const list = 'killed-mid-event';
    const lease = { LEASE_SECONDS: '1' };
    const a = startLoop(list, lease);
    await a.waitForLog((l) => l.msg === 'consumer started');
    await redis.lpush(list, '{"id": "orphan", "wait": 0, "sleepMs": 1500}');
    await a.waitForLog((l) => l.msg === 'event claimed' && l.eventId === 'orphan');
    const b = startLoop(list, lease);
    try {
      await b.waitForLog((l) => l.msg === 'consumer started');
      // WHEN A is killed
      a.child.kill('SIGKILL');
      expect((await a.done).signal).toBe('SIGKILL');
      // THEN B requeues it once the lease ran out, and handles it as its second delivery
      await b.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'orphan', 10_000);
      expect(b.logs.find((l) => l.msg === 'event claimed' && l.eventId === 'orphan')?.delivery).toBe(2);
      expect(await metricsOf(b)).toMatch(new RegExp(`^${Metrics.REDELIVERED} 1$`, 'm'));
    } finally {
      expect((await stopped(b)).code).toBe(0);
    }
    expect(await proof(redis, `${list}:proof`)).toEqual({ orphan: 1 });
    expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  });
});

test('an event that kills its worker every time is dead-lettered (max-deliveries) after that many deliveries; the next event goes on', async () => {
  // GIVEN a poison event (its handler SIGKILLs the process) taken before a good one; max-deliveries 3
  const list = 'poison';
  const poison = '{"id": "poison", "wait": 0, "kill": true}';
  await redis.lpush(list, poison, '{"id": "good", "wait": 0}');
  const jobEnv = env(list, { HANDLER: KILLER_HANDLER, MAX_DELIVERIES: '3', LEASE_SECONDS: '0.3' });
  // WHEN Jobs keep coming, as KEDA starts them while the list is not empty
  const runs: ProcessResult[] = [];
  while (runs.length < 6 && !runs.some((r) => r.code === 0)) {
    runs.push(await runCli(['consume', '--once'], { env: jobEnv }));
    await new Promise((r) => setTimeout(r, 350)); // the dead Job's lease runs out
  }
  // THEN three Jobs died on it, the fourth dead-lettered it instead of running it, then handled the good event
  expect(runs.map((r) => r.signal ?? r.code)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', 0]);
  const last = runs[3];
  expect(last.logs).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ msg: 'events dead-lettered: delivered too often without an outcome', events: 1, reason: 'max-deliveries' }),
      expect.objectContaining({ msg: 'event processed', eventId: 'good' }),
    ]),
  );
  expect(await proof(redis, `${list}:proof`)).toEqual({ poison: 3, good: 1 });
  const state = await queueState(redis, list);
  expect(state).toEqual({
    ...EMPTY_QUEUE,
    dead: [expect.objectContaining({ event: poison, reason: 'max-deliveries', attempts: 0, deliveries: 3, error: expect.stringContaining('delivered 3 times') })],
  });
});

describe('Redis unavailable', () => {
  test('at start, loop mode waits (healthy, not ready) and works once Redis comes up', async () => {
    // GIVEN a consumer pointed at a port where no Redis listens yet
    const port = await freePort();
    const list = 'redis-late';
    const consumer = startLoop(list, {}, `redis://127.0.0.1:${port}`);
    let late: RedisServer | undefined;
    try {
      await consumer.waitForLog((l) => l.msg === 'redis connection error');
      // THEN it serves probes: alive, not ready, and does not exit
      expect(await probe(consumer, '/healthz')).toBe(200);
      expect(await probe(consumer, '/readyz')).toBe(503);
      await new Promise((r) => setTimeout(r, 500));
      expect(consumer.child.exitCode).toBeNull();
      // WHEN Redis starts and an event arrives
      late = await startRedis({ port });
      const client = new Redis(late.url, { protocol: 2 });
      await client.lpush(list, '{"id": "late", "wait": 0}');
      await client.quit();
      // THEN it is handled and the consumer turns ready
      await consumer.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'late', 15_000);
      expect(await probe(consumer, '/readyz')).toBe(200);
      expect((await stopped(consumer)).code).toBe(0);
    } finally {
      consumer.child.kill('SIGKILL');
      await late?.stop();
    }
  });

  test('mid-run, loop mode keeps going through a Redis restart (not ready meanwhile) without exiting', async () => {
    // GIVEN a consumer that handled an event
    const own = await startRedis({ appendonly: true });
    const client = new Redis(own.url, { protocol: 2 });
    client.on('error', () => undefined);
    const list = 'redis-restart';
    const consumer = startLoop(list, { LEASE_SECONDS: '2' }, own.url);
    try {
      await client.lpush(list, '{"id": "before", "wait": 0}');
      await consumer.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'before');
      // WHEN Redis shuts down for a while
      await own.shutdown();
      await waitFor(async () => (await probe(consumer, '/readyz')) === 503, 'readiness to drop');
      expect(await probe(consumer, '/healthz')).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
      expect(consumer.child.exitCode).toBeNull();
      // AND comes back on the same port
      await own.start();
      await client.lpush(list, '{"id": "after", "wait": 0}');
      // THEN the consumer goes on
      await consumer.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'after', 15_000);
      expect(consumer.logs.map((l) => l.msg)).toContain('redis reconnected');
      expect(await probe(consumer, '/readyz')).toBe(200);
      expect((await stopped(consumer)).code).toBe(0);
      expect(await proof(client, `${list}:proof`)).toEqual({ before: 1, after: 1 });
      expect(await queueState(client, list)).toEqual(EMPTY_QUEUE);
    } finally {
      consumer.child.kill('SIGKILL');
      client.disconnect();
      await own.stop();
    }
  });
});

describe('SIGTERM mid-event', () => {
  const EVENT = '{"id": "in-hand", "wait": 0}';

  /** Starts a consumer (`args`) busy with EVENT, whose handler takes `sleepMs`, then sends SIGTERM. */
  async function terminateMidEvent(list: string, args: string[], sleepMs: number, grace: number, readyFile?: string): Promise<ProcessResult> {
    await redis.lpush(list, EVENT);
    const consumer = startCli(args, {
      env: env(list, { PROOF_SLEEP_MS: String(sleepMs), GRACE_SECONDS: String(grace), LOG_LEVEL: 'debug', ...(readyFile ? { READY_FILE: readyFile } : {}) }),
    });
    await consumer.waitForLog((l) => l.msg === 'event claimed' && l.eventId === 'in-hand');
    consumer.child.kill('SIGTERM');
    return consumer.done;
  }

  test.each([
    ['loop mode', ['consume', '--metrics-port', '0']],
    ['Job mode', ['consume', '--once']],
  ])('%s: a handler that finishes within --grace is acknowledged; exit 0', async (mode, args) => {
    const list = `sigterm-within-${mode.split(' ')[0].toLowerCase()}`;
    const started = Date.now();
    const result = await terminateMidEvent(list, args, 800, 10);
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(result.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'event processed', eventId: 'in-hand' })]));
    expect(await proof(redis, `${list}:proof`)).toEqual({ 'in-hand': 1 });
    expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  });

  test.each([
    ['loop mode', ['consume', '--metrics-port', '0']],
    ['Job mode', ['consume', '--once']],
  ])('%s: a handler still running after --grace has its event handed back to the list, deliveries not counted; exit 0', async (mode, args) => {
    const list = `sigterm-past-${mode.split(' ')[0].toLowerCase()}`;
    const readyFile = join(readyDir, list);
    const started = Date.now();
    const result = await terminateMidEvent(list, args, 30_000, 0.5, mode === 'Job mode' ? readyFile : undefined);
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'grace period over: handed events back to the list', handedBack: 1 })]));
    // The event is back, as it was, at the end consumers take from; no delivery counted; not handled.
    expect(await queueState(redis, list)).toEqual({ ...EMPTY_QUEUE, ready: [EVENT] });
    expect(await proof(redis, `${list}:proof`)).toEqual({});
    expect(existsSync(readyFile)).toBe(false);
    // AND the next consumer gets it as a first delivery
    const next = await runCli(['consume', '--once'], { env: env(list) });
    expect(next.logs.find((l) => l.msg === 'event claimed')).toMatchObject({ eventId: 'in-hand', delivery: 1 });
    expect(await proof(redis, `${list}:proof`)).toEqual({ 'in-hand': 1 });
  });
});
