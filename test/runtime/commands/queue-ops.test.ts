/** `redis-keda queue stats|peek-dead|redrive|purge`: operations on a real redis-server, through the CLI. */
import type Redis from 'ioredis';
import { DeadLetter, queueKeys } from '../../../runtime/contract';
import { runCli } from '../../support/cli';
import { queueState } from '../../support/queue-state';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

const queueCli = (list: string, args: string[]) => runCli(['queue', ...args], { env: { REDIS_URL: server.url, LIST_NAME: list } });

/** Raw events, as bytes: one is not JSON, one is not even UTF-8. */
const RAW = [Buffer.from('not json {"wait": '), Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22, 0x5c, 0x2f, 0x7d]), Buffer.from('{"id": "é/ü", "wait": -1}')];

/** Publishes RAW and lets Job-mode consumers dead-letter them (all malformed). */
async function deadLetterRaw(list: string): Promise<void> {
  await redis.lpush(list, ...RAW);
  for (let i = 0; i < RAW.length; i++) expect((await runCli(['consume', '--once'], { env: { REDIS_URL: server.url, LIST_NAME: list } })).code).toBe(0);
  expect(await redis.llen(queueKeys(list).dead)).toBe(RAW.length);
}

test('peek-dead prints the newest entries as JSON lines with their reasons; --count limits them', async () => {
  const list = 'ops-peek';
  await deadLetterRaw(list);
  const all = await queueCli(list, ['peek-dead']);
  expect(all.code).toBe(0);
  const entries = all.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as DeadLetter);
  expect(entries.map((e) => e.reason)).toEqual(['malformed', 'malformed', 'malformed']);
  expect(entries[0]).toMatchObject({ event: '{"id": "é/ü", "wait": -1}', error: '"wait" must be >= 0, got -1', attempts: 1, deliveries: 1 });
  const one = await queueCli(list, ['peek-dead', '--count', '1']);
  expect(one.stdout.trim().split('\n')).toHaveLength(1);
  // Read-only: still all there.
  expect(await redis.llen(queueKeys(list).dead)).toBe(RAW.length);
});

test('peek-dead prints the times as ISO 8601, as the logs do, and every other byte as stored', async () => {
  const list = 'ops-peek-iso';
  const stored = Buffer.concat([
    Buffer.from('{"event":"{\\"failedAt\\":1} '),
    Buffer.from([0xff]),
    Buffer.from('","reason":"malformed","error":"x","attempts":1,"deliveries":1,"firstFailedAt":1764590400000,"failedAt":1764590401234}'),
  ]);
  await redis.lpush(queueKeys(list).dead, stored);
  const result = await queueCli(list, ['peek-dead']);
  expect(result.code).toBe(0);
  const expected = Buffer.concat([
    Buffer.from('{"event":"{\\"failedAt\\":1} '),
    Buffer.from([0xff]),
    Buffer.from('","reason":"malformed","error":"x","attempts":1,"deliveries":1,"firstFailedAt":"2025-12-01T12:00:00.000Z","failedAt":"2025-12-01T12:00:01.234Z"}\n'),
  ]);
  expect(result.stdoutBytes).toEqual(expected);
});

describe('redrive', () => {
  test('without --yes: exit 2 saying so, nothing moved', async () => {
    const list = 'ops-redrive-unconfirmed';
    await deadLetterRaw(list);
    const result = await queueCli(list, ['redrive']);
    expect(result.code).toBe(2);
    expect(result.logs.at(-1)?.msg).toMatch(/add --yes to confirm \(nothing was changed\)/);
    expect(await redis.llen(queueKeys(list).dead)).toBe(RAW.length);
    expect(await redis.llen(list)).toBe(0);
  });

  test('--yes restores each event exactly, byte for byte (not JSON, not UTF-8), in publish order, counters reset', async () => {
    // GIVEN dead-lettered events, and stale counters of one of them
    const list = 'ops-redrive';
    await deadLetterRaw(list);
    // WHEN
    const result = await queueCli(list, ['redrive', '--yes']);
    // THEN
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ list, redriven: 3, skipped: 0 });
    expect(await redis.lrangeBuffer(list, 0, -1)).toEqual([...RAW].reverse());
    const state = await queueState(redis, list);
    expect(state).toMatchObject({ inflight: [], delayed: [], dead: [], deliveries: {}, failures: {} });
  });

  test('--reason redrives the events of that reason only; the others stay', async () => {
    const list = 'ops-redrive-reason';
    const entry = (event: string, reason: string) => JSON.stringify({ event, reason, error: 'x', attempts: 1, deliveries: 1, firstFailedAt: 0, failedAt: 0 });
    await redis.lpush(queueKeys(list).dead, entry('a', 'malformed'), entry('b', 'handler-failed'), entry('c', 'max-deliveries'), entry('d', 'handler-failed'));
    const result = await queueCli(list, ['redrive', '--yes', '--reason', 'handler-failed']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ list, redriven: 2, skipped: 0 });
    expect(await redis.lrange(list, 0, -1)).toEqual(['d', 'b']);
    expect(await redis.lrange(queueKeys(list).dead, 0, -1)).toEqual([entry('c', 'max-deliveries'), entry('a', 'malformed')]);
    const bad = await queueCli(list, ['redrive', '--yes', '--reason', 'lost']);
    expect(bad.code).toBe(2);
    expect(bad.logs.at(-1)?.msg).toMatch(/reason.*Choices: "malformed", "handler-failed", "max-deliveries"/);
  });

  test('--count redrives only the oldest', async () => {
    const list = 'ops-redrive-count';
    await deadLetterRaw(list);
    const result = await queueCli(list, ['redrive', '--yes', '--count', '2']);
    expect(JSON.parse(result.stdout)).toEqual({ list, redriven: 2, skipped: 0 });
    expect(await redis.lrangeBuffer(list, 0, -1)).toEqual([RAW[1], RAW[0]]);
    expect(await redis.llen(queueKeys(list).dead)).toBe(1);
  });
});

describe('purge', () => {
  async function fill(list: string): Promise<void> {
    await deadLetterRaw(list);
    await redis.lpush(list, '{"id": "waiting", "wait": 0}');
  }

  test.each([[['purge', '--dead']], [['purge', '--all']]])('%j without --yes: exit 2 saying so, nothing deleted', async (args) => {
    const list = `ops-purge-unconfirmed-${args[1].slice(2)}`;
    await fill(list);
    const result = await queueCli(list, args);
    expect(result.code).toBe(2);
    expect(result.logs.at(-1)?.msg).toMatch(/queue purge deletes .*: add --yes to confirm \(nothing was changed\)/);
    expect(JSON.parse((await queueCli(list, ['stats'])).stdout)).toEqual({ list, ready: 1, inflight: 0, delayed: 0, dead: 3 });
  });

  test('needs exactly one of --dead or --all', async () => {
    expect((await queueCli('ops-purge-scope', ['purge', '--yes'])).code).toBe(2);
    expect((await queueCli('ops-purge-scope', ['purge', '--yes', '--dead', '--all'])).code).toBe(2);
  });

  test('--dead --yes deletes the dead-letter list only; --all --yes every key of the queue', async () => {
    const list = 'ops-purge';
    await fill(list);
    const dead = await queueCli(list, ['purge', '--dead', '--yes']);
    expect(dead.code).toBe(0);
    expect(JSON.parse(dead.stdout)).toEqual({ list, purged: 'dead', removed: { ready: 0, inflight: 0, delayed: 0, dead: 3 } });
    expect(JSON.parse((await queueCli(list, ['stats'])).stdout)).toEqual({ list, ready: 1, inflight: 0, delayed: 0, dead: 0 });
    const all = await queueCli(list, ['purge', '--all', '--yes']);
    expect(JSON.parse(all.stdout)).toEqual({ list, purged: 'all', removed: { ready: 1, inflight: 0, delayed: 0, dead: 0 } });
    expect(await redis.keys(`${list}:*`)).toEqual([]);
    expect(await redis.exists(list)).toBe(0);
  });
});
