/** Reading Celery's remote control messages, and the bounded memory of revoked ids. */
import { parseControl, pidboxChannel, pongMessage, REVOKE_EXPIRES_MS, RevokedIds, REVOKES_MAX } from '../../../runtime/celery/control';
import { envelope } from './helpers';

const control = (body: unknown) => envelope(body, { clock: 3 }, { delivery_info: { exchange: 'celery.pidbox', routing_key: '' } });

test('the pidbox channel is kombu’s fanout topic of the database', () => {
  expect(pidboxChannel(0)).toBe('/0.celery.pidbox');
  expect(pidboxChannel(3)).toBe('/3.celery.pidbox');
});

test('a revoke for everyone or for this worker is read; one for others, or another command, is not', () => {
  const revoke = (destination: unknown, taskId: unknown = 'a', terminate = false) =>
    control({ method: 'revoke', arguments: { task_id: taskId, terminate, signal: null }, destination });
  expect(parseControl(revoke(null), 'me@pod')).toEqual({ method: 'revoke', ids: ['a'], terminate: false });
  expect(parseControl(revoke(['me@pod'], ['a', 'b'], true), 'me@pod')).toEqual({ method: 'revoke', ids: ['a', 'b'], terminate: true });
  expect(parseControl(revoke(['celery@other']), 'me@pod')).toBeUndefined();
  expect(parseControl(revoke(null, 42), 'me@pod')).toBeUndefined();
  expect(parseControl(control({ method: 'stats', arguments: {}, destination: null }), 'me@pod')).toBeUndefined();
  expect(parseControl('garbage', 'me@pod')).toBeUndefined();
});

test('revoked ids are forgotten after Celery’s expiry, and the oldest go first beyond its maximum', () => {
  const ids = new RevokedIds();
  ids.add('old', 0);
  expect(ids.has('old', REVOKE_EXPIRES_MS - 1)).toBe(true);
  expect(ids.has('old', REVOKE_EXPIRES_MS + 1)).toBe(false);
  for (let i = 0; i <= REVOKES_MAX; i++) ids.add(`id-${i}`, 1);
  expect(ids.has('id-0', 2)).toBe(false);
  expect(ids.has('id-1', 2)).toBe(true);
  expect(ids.has(`id-${REVOKES_MAX}`, 2)).toBe(true);
});

test('a ping is read with its ticket and reply address; the pong is kombu’s reply envelope', () => {
  const ping = parseControl(
    control({ method: 'ping', arguments: {}, destination: null, ticket: 't-1', reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid' } }),
    'me@pod',
  );
  expect(ping).toEqual({ method: 'ping', ticket: 't-1', replyTo: { exchange: 'reply.celery.pidbox', routingKey: 'oid' } });
  const pong = JSON.parse(pongMessage(ping as never, 'me@pod')) as { body: string; headers: unknown; properties: Record<string, unknown> };
  expect(JSON.parse(Buffer.from(pong.body, 'base64').toString())).toEqual({ 'me@pod': { ok: 'pong' } });
  expect(pong.headers).toMatchObject({ ticket: 't-1' });
  expect(pong.properties).toMatchObject({ delivery_info: { exchange: 'reply.celery.pidbox', routing_key: 'oid' }, body_encoding: 'base64' });
});
