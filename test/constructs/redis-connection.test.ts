import * as kplus from 'cdk8s-plus-27';
import { RedisConnection } from '../../constructs';
import { Env } from '../../runtime/contract';
import { all, only, synth, testChart } from './helpers';

const secret = (chart: ReturnType<typeof testChart>, name: string) => kplus.Secret.fromSecretName(chart, name, name);
const envOfConnection = (conn: RedisConnection) => Object.fromEntries(Object.entries(conn.envVariables()).map(([k, v]) => [k, v.value ?? v.valueFrom]));

describe('RedisConnection', () => {
  test('an external TLS connection renders env and trigger metadata from one object', () => {
    const chart = testChart();
    const conn = RedisConnection.external(chart, {
      host: 'cache.example.net',
      port: 6380,
      tls: true,
      database: 2,
      password: { secret: kplus.Secret.fromSecretName(chart, 's', 'cache-auth'), key: 'token' },
    });
    const env = Object.fromEntries(Object.entries(conn.envVariables()).map(([k, v]) => [k, v.value ?? v.valueFrom]));
    expect(env).toEqual({
      [Env.REDIS_HOST]: 'cache.example.net',
      [Env.REDIS_PORT]: '6380',
      [Env.REDIS_TLS]: 'true',
      [Env.REDIS_DB]: '2',
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

  test('a CA from a Secret implies TLS: the workers get it as REDIS_TLS_CA, KEDA as `ca` beside the password', () => {
    const chart = testChart();
    const conn = RedisConnection.external(chart, {
      host: 'cache.example.net',
      port: 6380,
      password: { secret: secret(chart, 'cache-auth'), key: 'password' },
      tlsCa: { secret: secret(chart, 'cache-ca'), key: 'ca.crt' },
    });
    expect(conn.tls).toBe(true);
    expect(envOfConnection(conn)).toMatchObject({
      [Env.REDIS_TLS]: 'true',
      [Env.REDIS_TLS_CA]: { secretKeyRef: { name: 'cache-ca', key: 'ca.crt' } },
    });
    conn.triggerAuthentication(chart);
    const auth = only(synth(chart), 'TriggerAuthentication');
    expect(auth.spec.secretTargetRef).toEqual([
      { parameter: 'password', name: 'cache-auth', key: 'password' },
      { parameter: 'ca', name: 'cache-ca', key: 'ca.crt' },
    ]);
    // KEDA refuses `enableTLS` in the metadata together with the `tls` auth parameter: TLS is switched on in the metadata only.
    expect(conn.triggerMetadata()).toMatchObject({ enableTLS: 'true' });
    expect(auth.spec.secretTargetRef.map((r: any) => r.parameter)).not.toContain('tls');
  });

  test('a CA without a password still gets a TriggerAuthentication, with `ca` only', () => {
    const chart = testChart();
    const conn = RedisConnection.external(chart, { host: 'r', tls: true, tlsCa: { secret: secret(chart, 'ca'), key: 'ca.crt' } });
    conn.triggerAuthentication(chart);
    expect(only(synth(chart), 'TriggerAuthentication').spec.secretTargetRef).toEqual([{ parameter: 'ca', name: 'ca', key: 'ca.crt' }]);
    expect(envOfConnection(conn)[Env.REDIS_PASSWORD]).toBeUndefined();
  });

  test('TLS without a CA verifies against public CAs: no REDIS_TLS_CA, no TriggerAuthentication without a password', () => {
    const chart = testChart();
    const conn = RedisConnection.external(chart, { host: 'r', port: 6380, tls: true });
    expect(envOfConnection(conn)).toEqual({ [Env.REDIS_HOST]: 'r', [Env.REDIS_PORT]: '6380', [Env.REDIS_TLS]: 'true' });
    expect(conn.triggerMetadata()).toEqual({ address: 'r:6380', enableTLS: 'true' });
    expect(conn.triggerAuthentication(chart)).toBeUndefined();
  });

  test('rejects a CA with tls: false, and a CA or password without a key, naming prop and value', () => {
    const chart = testChart();
    expect(() => RedisConnection.external(chart, { host: 'r', tls: false, tlsCa: { secret: secret(chart, 'ca'), key: 'ca.crt' } })).toThrow(
      "test: 'tls' (false) must not be false when 'tlsCa' is set: a CA is only used over TLS",
    );
    expect(() => RedisConnection.external(chart, { host: 'r', tlsCa: { secret: secret(chart, 'ca2'), key: '' } })).toThrow(
      /'tlsCa.key' \(""\) must name the key of Secret "ca2" that holds the PEM CA bundle/,
    );
    expect(() => RedisConnection.external(chart, { host: 'r', password: { secret: secret(chart, 'pw'), key: '' } })).toThrow(
      /'password.key' \(""\) must name the key of Secret "pw"/,
    );
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
