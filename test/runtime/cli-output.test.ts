/**
 * A command's stdout survives pipes and slow readers completely, and a reader that goes away
 * early ends the command quietly. Run through a real shell pipeline, as an operator would.
 */
import type Redis from 'ioredis';
import { DeadLetter, queueKeys } from '../../runtime/contract';
import { spawnProcess } from '../support/cli';
import { transpiledCli } from '../support/runtime-build';
import { RedisServer } from '../support/redis-server';
import { withRedis } from '../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

/** `redis-keda <args> | <reader>` in bash with pipefail: the exit code is the CLI's unless the reader failed. */
function pipeline(args: string, reader: string, env: Record<string, string>) {
  const cli = `'${process.execPath}' '${transpiledCli()}' ${args}`;
  return spawnProcess('bash', ['-c', `set -o pipefail; ${cli} | ${reader}`], { env }).done;
}

/** 1,000 dead-letter entries of about 200 bytes: 200 kB, three times what a pipe buffers. */
async function fillDead(list: string): Promise<void> {
  const now = Date.now();
  const entries = Array.from({ length: 1000 }, (_, i): string => {
    const entry: DeadLetter = {
      event: JSON.stringify({ id: `event-${i}`, wait: 1, pad: 'x'.repeat(80) }),
      reason: 'malformed',
      error: 'test',
      attempts: 1,
      deliveries: 1,
      firstFailedAt: now,
      failedAt: now,
    };
    return JSON.stringify(entry);
  });
  await redis.lpush(queueKeys(list).dead, ...entries);
}

test('queue peek-dead --count 1000 into a slow reader: every line arrives, whole', async () => {
  // GIVEN
  await fillDead('pipe-slow');
  // WHEN the reader starts reading only after a second
  const result = await pipeline('queue peek-dead --count 1000', '(sleep 1; cat)', { REDIS_URL: server.url, LIST_NAME: 'pipe-slow' });
  // THEN
  expect(result.code).toBe(0);
  const lines = result.stdout.split('\n');
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(1000);
  expect(lines.map((l) => (JSON.parse(JSON.parse(l).event) as { id: string }).id)).toEqual(Array.from({ length: 1000 }, (_, i) => `event-${999 - i}`));
});

test('celery-send --count 3000 into a reader that starts after it has sent them all: every task id arrives', async () => {
  const result = await pipeline('celery-send --task tasks.noop --count 3000 --queue pipe-send', '(sleep 4; cat)', { REDIS_URL: server.url });
  expect(result.code).toBe(0);
  const ids = result.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: string }).id);
  expect(ids).toHaveLength(3000);
  expect(new Set(ids).size).toBe(3000);
  expect(await redis.llen('pipe-send')).toBe(3000);
});

test('a reader that closes early (| head -n 1): exit 0, no error and no stack on stderr', async () => {
  await fillDead('pipe-head');
  const result = await pipeline('queue peek-dead --count 1000', 'head -n 1', { REDIS_URL: server.url, LIST_NAME: 'pipe-head' });
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/EPIPE|Error| {4}at /);
  expect(result.logs.filter((l) => l.level === 'error')).toEqual([]);
});

test('a long-running command into a reader that closes: celery-send --forever ends quietly once the reader is gone', async () => {
  const result = await pipeline('celery-send --task tasks.noop --forever --interval 0.01 --metrics-port 0 --queue pipe-forever', 'head -n 3', { REDIS_URL: server.url });
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n')).toHaveLength(3);
  expect(result.stderr).not.toMatch(/EPIPE|Error| {4}at /);
}, 30_000);
