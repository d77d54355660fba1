/**
 * Messages holding bytes that are not UTF-8 are moved, compared and stored as those bytes: a
 * malformed one is dead-lettered with them, and a held one goes back at a stop. Real
 * redis-server, our worker as a child process.
 */
import type Redis from 'ioredis';
import { CeleryKeys } from '../../../runtime/contract';
import { buildTaskMessage } from '../../../runtime/celery/producer';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { killWorkers, resultOf, startWorker, stopWorker } from './helpers';
import { waitFor } from '../../support/cli';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));
afterEach(() => killWorkers());
beforeEach(() => redis.flushall());

/** Not UTF-8: a lone continuation byte, a byte that never occurs in UTF-8, a truncated sequence. */
const BAD = Buffer.from([0x80, 0xff, 0xe2, 0x82]);
const REPLACEMENT = Buffer.from('\ufffd');

/** `raw` (JSON text) with BAD spliced into a new header, so the message is well-formed JSON around bytes that are not UTF-8. */
function withBadBytes(raw: string): Buffer {
  const at = raw.indexOf('"headers": {') + '"headers": {'.length;
  expect(at).toBeGreaterThan(20);
  return Buffer.concat([Buffer.from(raw.slice(0, at) + '"note": "'), BAD, Buffer.from('", ' + raw.slice(at))]);
}

/** The bytes as they sit inside a JSON string written by cjson (quote, backslash and slash escaped). */
function asJsonString(bytes: Buffer): Buffer {
  return Buffer.from(
    bytes.toString('latin1').replace(/[\\"/]/g, (c) => `\\${c}`),
    'latin1',
  );
}

test('a malformed message with non-UTF-8 bytes is dead-lettered with its original bytes, and its caller gets a FAILURE', async () => {
  // GIVEN a message of a content type we refuse (ContentDisallowed), holding bytes that are not UTF-8
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'bytes-dead' });
  const raw = withBadBytes(message.raw.replace('"content-type": "application/json"', '"content-type": "application/x-python-serialize"'));
  expect(raw.includes(Buffer.from('x-python-serialize'))).toBe(true);
  await redis.lpush('bytes-dead', raw);
  // WHEN our worker takes it
  const worker = await startWorker(server.url, ['--queues', 'bytes-dead']);
  await waitFor(async () => (await redis.llen(CeleryKeys.dead('bytes-dead'))) === 1, 'the dead-letter entry');
  // THEN the entry's event is the message byte for byte: no U+FFFD in place of the bytes
  const [entry] = await redis.lrangeBuffer(CeleryKeys.dead('bytes-dead'), 0, -1);
  expect(entry.includes(asJsonString(raw))).toBe(true);
  expect(entry.includes(REPLACEMENT)).toBe(false);
  expect(JSON.parse(entry.toString('utf8'))).toMatchObject({
    reason: 'malformed',
    attempts: 1,
    deliveries: 1,
    error: expect.stringContaining("content-type 'application/x-python-serialize'"),
  });
  expect(await resultOf(redis, message.id)).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ContentDisallowed' } });
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  const stopped = await stopWorker(worker);
  expect(stopped.code).toBe(0);
  expect(stopped.logs.at(-1)).toMatchObject({ msg: 'celery worker stopped', succeeded: 0, failed: 0, deadLettered: 1, handedBack: 0 });
});

test('at SIGTERM a held (eta) message with non-UTF-8 bytes is handed back byte for byte and leaves unacked', async () => {
  // GIVEN a task due in an hour, holding bytes that are not UTF-8, held by our worker
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'bytes-held', eta: Date.now() + 3600_000 });
  const raw = withBadBytes(message.raw);
  await redis.lpush('bytes-held', raw);
  const worker = await startWorker(server.url, ['--queues', 'bytes-held']);
  await worker.waitForLog((l) => l.msg === 'task received, waiting for its eta');
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(1);
  // WHEN it stops
  const result = await stopWorker(worker);
  // THEN it handed the message back, as the bytes it was, and unacked is empty
  expect(result.code).toBe(0);
  expect(result.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'tasks not started handed back to their queues', tasks: 1, handedBack: 1 })]));
  expect(await redis.lrangeBuffer('bytes-held', 0, -1)).toEqual([raw]);
  // AND its last line says what it did
  expect(result.logs.at(-1)).toMatchObject({ msg: 'celery worker stopped', succeeded: 0, failed: 0, revoked: 0, deadLettered: 0, requeued: 0, handedBack: 1 });
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
  expect(await redis.zcard(CeleryKeys.UNACKED_INDEX)).toBe(0);
});

test('a held UTF-8 message still goes back marked redelivered, as kombu restores it', async () => {
  const message = buildTaskMessage({ task: 'tasks.noop', queue: 'bytes-utf8', eta: Date.now() + 3600_000, kwargs: { name: 'Zoë ✓' } });
  await redis.lpush('bytes-utf8', message.raw);
  const worker = await startWorker(server.url, ['--queues', 'bytes-utf8']);
  await worker.waitForLog((l) => l.msg === 'task received, waiting for its eta');
  const result = await stopWorker(worker);
  expect(result.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'tasks not started handed back to their queues', handedBack: 1 })]));
  const [back] = await redis.lrange('bytes-utf8', 0, -1);
  expect(JSON.parse(back)).toMatchObject({ headers: { id: message.id, redelivered: true }, properties: { delivery_info: { redelivered: true } } });
  expect(await redis.hlen(CeleryKeys.UNACKED)).toBe(0);
});
