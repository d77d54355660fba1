import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type Redis from 'ioredis';
import { queueKeys } from '../../../runtime/contract';
import { REPO_ROOT, runCli, startCli, waitFor } from '../../support/cli';
import { EMPTY_QUEUE, proof, queueState } from '../../support/queue-state';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

const PROOF_HANDLER = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'proof-handler.js');

let server: RedisServer;
let redis: Redis;
let readyDir: string;

withRedis((s, r) => ((server = s), (redis = r)));
beforeAll(() => {
  readyDir = mkdtempSync(join(tmpdir(), 'redis-keda-ready-'));
});
afterAll(() => rmSync(readyDir, { recursive: true, force: true }));

function env(list: string, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: server.url, LIST_NAME: list, HANDLER: PROOF_HANDLER, PROOF_KEY: `${list}:proof`, LEASE_SECONDS: '1', ...extra };
}

/** Publishes one event with the CLI and returns its id. */
async function publishOne(list: string): Promise<string> {
  const result = await runCli(['publish', '--count', '1', '--interval', '0'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  expect(result.code).toBe(0);
  return (JSON.parse((await redis.lindex(list, 0)) as string) as { id: string }).id;
}

/** Starts a Job whose handler sleeps a minute, waits until it holds the event (ready file), then kill -9s it. */
async function killMidEvent(list: string): Promise<void> {
  const readyFile = join(readyDir, `${list}-killed`);
  const consumer = startCli(['consume', '--once'], { env: env(list, { READY_FILE: readyFile, PROOF_SLEEP_MS: '60000' }) });
  let marker: { token: string };
  try {
    await waitFor(() => existsSync(readyFile), 'the ready file of the consumer to kill');
    marker = JSON.parse(readFileSync(readyFile, 'utf8')) as { token: string };
  } finally {
    consumer.child.kill('SIGKILL');
  }
  const killed = await consumer.done;
  expect(killed.signal).toBe('SIGKILL');
  // The event sits in flight under the dead consumer's claim.
  const state = await queueState(redis, list);
  expect(state.ready).toEqual([]);
  expect(state.inflight).toEqual([marker.token]);
}

test('kill -9 mid-event: `queue reap` requeues the event after its lease, a later Job handles it once', async () => {
  // GIVEN an event held by a consumer that was killed
  const list = 'killed-then-reaped';
  const id = await publishOne(list);
  await killMidEvent(list);
  // WHEN the lease has run out and the reaper CronJob runs
  await new Promise((r) => setTimeout(r, 1100));
  const reap = await runCli(['queue', 'reap'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  // THEN it went back to the list
  expect(reap.code).toBe(0);
  expect(JSON.parse(reap.stdout)).toEqual({ list, requeued: 1, promoted: 0 });
  expect((await queueState(redis, list)).ready).toHaveLength(1);
  // AND a later Job handles it, exactly once
  const readyFile = join(readyDir, `${list}-later`);
  const later = await runCli(['consume', '--once'], { env: env(list, { READY_FILE: readyFile }) });
  expect(later.code).toBe(0);
  expect(later.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'event processed', eventId: id })]));
  expect(existsSync(readyFile)).toBe(false);
  expect(await proof(redis, `${list}:proof`)).toEqual({ [id]: 1 });
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  const stats = await runCli(['queue', 'stats'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
  expect(JSON.parse(stats.stdout)).toEqual({ list, ready: 0, inflight: 0, delayed: 0, dead: 0 });
});

test("kill -9 mid-event: the next Job's start-up reap takes the expired event back and handles it once", async () => {
  const list = 'killed-then-next-job';
  const id = await publishOne(list);
  await killMidEvent(list);
  await new Promise((r) => setTimeout(r, 1100));
  const next = await runCli(['consume', '--once'], { env: env(list) });
  expect(next.code).toBe(0);
  expect(next.logs).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ msg: 'requeued events whose lease ran out', requeued: 1 }),
      expect.objectContaining({ msg: 'event processed', eventId: id }),
    ]),
  );
  expect(await proof(redis, `${list}:proof`)).toEqual({ [id]: 1 });
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
});

test('a handler running longer than the lease keeps it renewed: reaping meanwhile takes nothing back', async () => {
  // GIVEN a 1 s lease and a handler that takes 4 s
  const list = 'long-handler';
  const id = await publishOne(list);
  const readyFile = join(readyDir, list);
  const consumer = startCli(['consume', '--once'], { env: env(list, { READY_FILE: readyFile, PROOF_SLEEP_MS: '4000' }) });
  await waitFor(() => existsSync(readyFile), 'the ready file');
  const { token } = JSON.parse(readFileSync(readyFile, 'utf8')) as { token: string };
  const firstDeadline = Number(await redis.zscore(queueKeys(list).inflight, token));

  // WHEN the reaper runs again and again while the handler works, past several lease lengths
  const reaped: { startedAt: number; requeued: number }[] = [];
  let lastDeadline = firstDeadline;
  while (consumer.child.exitCode === null) {
    const startedAt = Date.now();
    const reap = await runCli(['queue', 'reap'], { env: { REDIS_URL: server.url, LIST_NAME: list } });
    if (consumer.child.exitCode !== null) break;
    reaped.push({ startedAt, requeued: (JSON.parse(reap.stdout) as { requeued: number }).requeued });
    const state = await queueState(redis, list);
    if (state.inflight.length === 0) break; // finished between the two reads
    expect(state.ready).toEqual([]);
    expect(state.inflight).toEqual([token]);
    lastDeadline = Math.max(lastDeadline, Number(await redis.zscore(queueKeys(list).inflight, token)));
    await new Promise((r) => setTimeout(r, 400));
  }
  const result = await consumer.done;

  // THEN nothing was requeued, the deadline moved on, and the event was handled once
  expect(result.code).toBe(0);
  // How many reaps fit depends on the machine (each is a CLI start); what matters is that some ran
  // when an unrenewed lease would long have run out (two lease lengths on), and none took anything.
  expect(reaped.filter((r) => r.startedAt > firstDeadline + 1000).length).toBeGreaterThanOrEqual(1);
  expect(reaped.map((r) => r.requeued)).toEqual(reaped.map(() => 0));
  expect(result.logs.filter((l) => l.level === 'warn')).toEqual([]);
  // The handler sleeps 4 s; longer under load.
  expect(result.logs.find((l) => l.msg === 'event processed')?.seconds).toBeGreaterThanOrEqual(4);
  expect(await proof(redis, `${list}:proof`)).toEqual({ [id]: 1 });
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
  expect(existsSync(readyFile)).toBe(false);
  expect(lastDeadline).toBeGreaterThan(firstDeadline + 1000);
});

test('a running loop consumer reaps periodically: it takes over the event of a Job killed mid-event and counts the redelivery', async () => {
  // GIVEN a Job holding an event under a 3 s lease is killed
  const list = 'killed-then-loop';
  await redis.lpush(list, '{"id": "orphan", "wait": 0}');
  const readyFile = join(readyDir, list);
  const job = startCli(['consume', '--once'], { env: env(list, { READY_FILE: readyFile, PROOF_SLEEP_MS: '60000', LEASE_SECONDS: '3' }) });
  try {
    await waitFor(() => existsSync(readyFile), 'the Job to hold the event');
  } finally {
    job.child.kill('SIGKILL');
  }
  await job.done;
  // WHEN a loop consumer starts while that lease still runs (its start-up reap finds nothing)
  const loop = startCli(['consume', '--metrics-port', '0'], { env: env(list) });
  try {
    const { port } = await loop.waitForLog((l) => l.msg === 'health server listening');
    // THEN a later periodic reap (every 0.5 s with its 1 s lease) requeues it, and the loop handles it
    await loop.waitForLog((l) => l.msg === 'event processed' && l.eventId === 'orphan');
    const msgs = loop.logs.map((l) => l.msg);
    expect(msgs.indexOf('consumer started')).toBeLessThan(msgs.indexOf('requeued events whose lease ran out'));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^redis_keda_events_redelivered_total 1$/m);
  } finally {
    loop.child.kill('SIGTERM');
  }
  expect((await loop.done).code).toBe(0);
  expect(await proof(redis, `${list}:proof`)).toEqual({ orphan: 1 });
  expect(await queueState(redis, list)).toEqual(EMPTY_QUEUE);
});
