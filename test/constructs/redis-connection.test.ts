import * as kplus from 'cdk8s-plus-27';
import { RedisConnection } from '../../constructs';
import { Env } from '../../runtime/contract';
import { all, synth, testChart } from './helpers';

describe('RedisConnection', () => {
  test('an external TLS connection renders env and trigger metadata from one object', () => {
    const chart = testChart();
    const conn = RedisConnection.external(chart, {
      host: 'cache.example.net', port: 6380, tls: true, database: 2,
      password: { secret: kplus.Secret.fromSecretName(chart, 's', 'cache-auth'), key: 'token' },
    });
    const env = Object.fromEntries(Object.entries(conn.envVariables()).map(([k, v]) => [k, v.value ?? v.valueFrom]));
    expect(env).toEqual({
      [Env.REDIS_HOST]: 'cache.example.net', [Env.REDIS_PORT]: '6380', [Env.REDIS_TLS]: 'true', [Env.REDIS_DB]: '2',
      [Env.REDIS_PASSWORD]: { secretKeyRef: { name: 'cache-auth', key: 'token' } },
    });
    expect(conn.triggerMetadata()).toEqual({ address: 'cache.example.net:6380', enableTLS: 'true', databaseIndex: '2' });
    expect(conn.triggerAuthentication(chart)).toBe(conn.triggerAuthentication(chart));
    expect(all(synth(chart), 'TriggerAuthentication')).toHaveLength(1);
  });

  test('no password, no TriggerAuthentication', () => {
    const chart = testChart();
    expect(RedisConnection.external(chart, { host: 'r' }).triggerAuthentication(chart)).toBeUndefined();
  });

  test.each([
    ['host', { host: 'a b' }, /'host' \("a b"\) must be a host name/],
    ['port', { host: 'r', port: 70000 }, /'port' \(70000\) must be at most 65535/],
    ['port 0', { host: 'r', port: 0 }, /'port' \(0\) must be at least 1/],
    ['database', { host: 'r', database: -1 }, /'database' \(-1\) must be at least 0/],
  ])('rejects %s', (_n, props, message) => {
    expect(() => RedisConnection.external(testChart(), props as any)).toThrow(message);
  });
});
