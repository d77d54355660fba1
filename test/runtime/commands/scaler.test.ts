/**
 * `redis-keda scaler` as a pod runs it: the CLI as a child process configured by env, a real redis-server, and a
 * gRPC client made from the generated descriptor of KEDA's externalscaler.proto.
 */
import type Redis from 'ioredis';
import { Env, HEALTH_PATH, METRICS_PATH, MetricLabels, READY_PATH, ScalerErrorReasons, ScalerMetrics } from '../../../runtime/contract';
import { RunningProcess, startCli, waitFor } from '../../support/cli';
import { writeForecast } from '../../support/forecast-records';
import { freePort, RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';
import { connectScaler, failureOf, ScalerClient } from '../../support/scaler-client';

let server: RedisServer;
let redis: Redis;
withRedis((s, r) => ((server = s), (redis = r)));

interface Running {
  readonly process: RunningProcess;
  readonly client: ScalerClient;
  readonly httpPort: number;
}

async function startScaler(env: Record<string, string>): Promise<Running> {
  const process = startCli(['scaler'], { env: { [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.LOG_FORMAT]: 'json', ...env } });
  const health = (await process.waitForLog((l) => l.msg === 'health server listening')) as unknown as { port: number };
  const grpc = (await process.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number };
  return { process, client: connectScaler(`127.0.0.1:${grpc.port}`), httpPort: health.port };
}

async function stopScaler(running: Running): Promise<void> {
  running.client.close();
  running.process.child.kill('SIGTERM');
  const result = await running.process.done;
  expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
}

/** Samples of a metric by its labels, `method=...,code=...` → value. */
function samples(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (match) found[match[1].replace(/"/g, '')] = Number(match[2]);
  }
  return found;
}

describe('scaler without Redis', () => {
  const PASSWORD = 'pw-in-url-never-logged';
  const ENV_PASSWORD = 'pw-in-env-never-logged';
  let running: Running;
  beforeAll(async () => {
    running = await startScaler({ [Env.REDIS_URL]: `redis://user:${PASSWORD}@127.0.0.1:${await freePort()}`, [Env.REDIS_PASSWORD]: ENV_PASSWORD });
  });
  afterAll(async () => {
    await stopScaler(running);
    // Every reconnect failure was logged: never with a password.
    const { stderr } = await running.process.done;
    expect(stderr).toContain('redis connection error');
    expect([stderr.includes(PASSWORD), stderr.includes(ENV_PASSWORD)]).toEqual([false, false]);
  });

  test('GetMetricSpec answers from the trigger metadata alone; GetMetrics and IsActive are UNAVAILABLE; /readyz 503, /healthz 200', async () => {
    expect(await running.client.getMetricSpec({ scalerMetadata: { workload: 'api', leadTime: '5m' } })).toEqual({
      metricSpecs: [{ metricName: 'forecast-api', targetSize: 1, targetSizeFloat: 1 }],
    });
    expect((await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'api' } }, 'forecast-api'))).code).toBe('UNAVAILABLE');
    expect((await failureOf(running.client.isActive({ scalerMetadata: { workload: 'api' } }))).code).toBe('UNAVAILABLE');
    expect((await fetch(`http://127.0.0.1:${running.httpPort}${READY_PATH}`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${running.httpPort}${HEALTH_PATH}`)).status).toBe(200);
  });

  test('bad metadata is INVALID_ARGUMENT, also for GetMetricSpec', async () => {
    expect(await failureOf(running.client.getMetricSpec({ scalerMetadata: {} }))).toEqual({
      code: 'INVALID_ARGUMENT',
      details: "trigger metadata 'workload' is missing: name the forecast's workload",
    });
    expect((await failureOf(running.client.getMetricSpec({ scalerMetadata: { workload: 'Not_A_Label' } }))).code).toBe('INVALID_ARGUMENT');
    expect(await failureOf(running.client.getMetricSpec({ scalerMetadata: { workload: 'api', leadTime: 'soon' } }))).toEqual({
      code: 'INVALID_ARGUMENT',
      details: `trigger metadata 'leadTime' ("soon") must be a duration such as 300s, 5m, 1m30s or plain seconds`,
    });
    expect((await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'api', staleAfter: '0s' } }))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('scaler on Redis', () => {
  let running: Running;
  const scrape = async () => (await fetch(`http://127.0.0.1:${running.httpPort}${METRICS_PATH}`)).text();

  beforeAll(async () => {
    running = await startScaler({ [Env.REDIS_URL]: server.url, [Env.SCALER_DEADLINE]: '500', [Env.SCALER_STREAM_INTERVAL]: '0.2', [Env.SCALER_CACHE_TTL]: '200' });
    await running.process.waitForLog((l) => l.msg === 'scaler running: redis connected');
  });
  afterAll(() => stopScaler(running));

  test('GetMetrics is the largest desiredReplicas over [now, now + leadTime], the lead time from the metadata or the record', async () => {
    // 90 s old, points a minute apart: now falls on point 1.
    await writeForecast(redis, 'lead', { ageSeconds: 90, desiredReplicas: [1, 2, 3, 4, 9, 1, 1], leadTime: 180 });
    const value = async (metadata: Record<string, string>) =>
      (await running.client.getMetrics({ scalerMetadata: { workload: 'lead', ...metadata } }, 'forecast-lead')).metricValues;
    // The record's lead time, 180 s: points 1..4.
    expect(await value({})).toEqual([{ metricName: 'forecast-lead', metricValue: 9, metricValueFloat: 9 }]);
    // 2 minutes: points 1..3; `1m30s` and plain `119` the same.
    for (const leadTime of ['2m', '120s', '1m30s', '119']) expect(await value({ leadTime })).toEqual([{ metricName: 'forecast-lead', metricValue: 4, metricValueFloat: 4 }]);
    // No lead time: the point of now.
    expect((await value({ leadTime: '0' }))[0].metricValueFloat).toBe(2);
    // A fractional count goes through as it is in the float field.
    await writeForecast(redis, 'fraction', { ageSeconds: 0, desiredReplicas: [2.5, 1], leadTime: 0 });
    expect((await running.client.getMetrics({ scalerMetadata: { workload: 'fraction' } })).metricValues).toEqual([
      { metricName: 'forecast-fraction', metricValue: 3, metricValueFloat: 2.5 },
    ]);
  });

  test('a stale forecast is FAILED_PRECONDITION (staleAfter from the metadata, else 120 s)', async () => {
    await writeForecast(redis, 'old', { ageSeconds: 200, desiredReplicas: [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], leadTime: 60 });
    const stale = await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'old' } }));
    expect(stale.code).toBe('FAILED_PRECONDITION');
    expect(stale.details).toMatch(/^the forecast of 'old' is 20\d\.\d s old, older than staleAfter 120 s$/);
    expect((await failureOf(running.client.isActive({ scalerMetadata: { workload: 'old' } }))).code).toBe('FAILED_PRECONDITION');
    expect((await running.client.getMetrics({ scalerMetadata: { workload: 'old', staleAfter: '5m' } })).metricValues[0].metricValueFloat).toBe(3);
  });

  test('a missing forecast is NOT_FOUND; an unreadable one (not JSON, wrong shape, another workload) FAILED_PRECONDITION; a short one too', async () => {
    expect(await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'nothing' } }))).toEqual({
      code: 'NOT_FOUND',
      details: "no forecast for 'nothing' in Redis (key forecast:nothing)",
    });
    await redis.set('forecast:garbled', '{"workload": "garbled", "desiredRep');
    expect(await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'garbled' } }))).toEqual({
      code: 'FAILED_PRECONDITION',
      details: "the forecast of 'garbled' is not JSON",
    });
    await redis.set('forecast:shape', JSON.stringify({ workload: 'shape', generatedAt: new Date().toISOString(), step: 60, desiredReplicas: ['3'], leadTime: 60 }));
    expect(await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'shape' } }))).toEqual({
      code: 'FAILED_PRECONDITION',
      details: "the forecast of 'shape' is not a forecast record: desiredReplicas is not a non-empty array of non-negative numbers",
    });
    const other = await writeForecast(redis, 'first', { ageSeconds: 0, desiredReplicas: [1, 1] });
    await redis.set('forecast:second', JSON.stringify(other));
    expect((await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'second' } }))).details).toBe(
      `the forecast of 'second' is not a forecast record: its workload is "first"`,
    );
    // 3 points a minute apart, 30 s old: they reach 150 s past now, not the 5 minutes asked for.
    await writeForecast(redis, 'short', { ageSeconds: 30, desiredReplicas: [1, 2, 3] });
    const short = await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'short', leadTime: '5m' } }));
    expect(short.code).toBe('FAILED_PRECONDITION');
    expect(short.details).toMatch(/^the forecast of 'short' reaches 1[45]\d\.\d s past now, short of the lead time 300 s/);
  });

  test('IsActive: true while any desired count over the lead time is above 0', async () => {
    await writeForecast(redis, 'idle', { ageSeconds: 0, desiredReplicas: [0, 0, 0, 0, 0, 0] });
    await writeForecast(redis, 'waking', { ageSeconds: 0, desiredReplicas: [0, 0, 0, 0, 0, 2] });
    expect(await running.client.isActive({ scalerMetadata: { workload: 'idle' } })).toEqual({ result: false });
    expect(await running.client.isActive({ scalerMetadata: { workload: 'waking' } })).toEqual({ result: true });
    expect(await running.client.isActive({ scalerMetadata: { workload: 'waking', leadTime: '1m' } })).toEqual({ result: false });
  });

  test('StreamIsActive sends the state at once and then each change, and ends when the call is cancelled', async () => {
    await writeForecast(redis, 'stream', { ageSeconds: 0, desiredReplicas: [0, 0, 0, 0, 0, 0] });
    const stream = running.client.streamIsActive({ scalerMetadata: { workload: 'stream' } });
    await waitFor(() => stream.results.length === 1, 'the first StreamIsActive message', 5000);
    await new Promise((r) => setTimeout(r, 600)); // three checks: nothing changed, nothing sent
    expect(stream.results).toEqual([false]);
    await writeForecast(redis, 'stream', { ageSeconds: 0, desiredReplicas: [0, 0, 0, 4, 0, 0] });
    await waitFor(() => stream.results.length === 2, 'the change to active', 5000);
    await writeForecast(redis, 'stream', { ageSeconds: 0, desiredReplicas: [0, 0, 0, 0, 0, 0] });
    await waitFor(() => stream.results.length === 3, 'the change back', 5000);
    expect(stream.results).toEqual([false, true, false]);
    stream.cancel();
    expect((await stream.ended)?.code).toBe(1); // CANCELLED, on the client's side
    await waitFor(async () => samples(await scrape(), ScalerMetrics.CALLS)['method=StreamIsActive,code=CANCELLED'] === 1, 'the cancelled stream counted', 5000);
  });

  test('a stream whose forecast goes missing ends with NOT_FOUND', async () => {
    await writeForecast(redis, 'vanishing', { ageSeconds: 0, desiredReplicas: [1, 1, 1, 1, 1, 1] });
    const stream = running.client.streamIsActive({ scalerMetadata: { workload: 'vanishing' } });
    await waitFor(() => stream.results.length === 1, 'the first message', 5000);
    await redis.del('forecast:vanishing');
    const ended = await stream.ended;
    expect({ code: ended?.code, details: ended?.details, results: stream.results }).toEqual({
      code: 5,
      details: "no forecast for 'vanishing' in Redis (key forecast:vanishing)",
      results: [true],
    });
  });

  test('/metrics counts calls by method and code, and errors by method and reason', async () => {
    const before = await scrape();
    await writeForecast(redis, 'counted', { ageSeconds: 0, desiredReplicas: [1, 2, 3, 4, 5, 6] });
    for (let i = 0; i < 3; i++) await running.client.getMetrics({ scalerMetadata: { workload: 'counted' } });
    await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'uncounted' } }));
    await running.client.getMetricSpec({ scalerMetadata: { workload: 'counted' } });
    const after = await scrape();
    const delta = (name: string, key: string) => (samples(after, name)[key] ?? 0) - (samples(before, name)[key] ?? 0);
    expect({
      ok: delta(ScalerMetrics.CALLS, 'method=GetMetrics,code=OK'),
      notFound: delta(ScalerMetrics.CALLS, 'method=GetMetrics,code=NOT_FOUND'),
      missing: delta(ScalerMetrics.ERRORS, `method=GetMetrics,${MetricLabels.REASON}=${ScalerErrorReasons.MISSING}`),
      spec: delta(ScalerMetrics.CALLS, 'method=GetMetricSpec,code=OK'),
      latency: delta(`${ScalerMetrics.CALL_SECONDS}_count`, 'method=GetMetrics'),
    }).toEqual({ ok: 3, notFound: 1, missing: 1, spec: 1, latency: 4 });
    // Every reason's series exists from the start.
    expect(samples(after, ScalerMetrics.ERRORS)['method=IsActive,reason=deadline']).toBe(0);
  });

  test('a Redis slower than the deadline (CLIENT PAUSE) ends the call with DEADLINE_EXCEEDED after 500 ms', async () => {
    await writeForecast(redis, 'paused', { ageSeconds: 0, desiredReplicas: [1, 1, 1, 1, 1, 1] });
    await redis.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const started = Date.now();
    const failure = await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'paused' } }));
    const took = Date.now() - started;
    expect(failure).toEqual({ code: 'DEADLINE_EXCEEDED', details: "no answer within the scaler's deadline of 500 ms" });
    expect(took).toBeGreaterThanOrEqual(490);
    expect(took).toBeLessThan(1400);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await running.client.getMetrics({ scalerMetadata: { workload: 'paused' } })).metricValues[0].metricValueFloat).toBe(1);
  });

  test('Redis stopped: UNAVAILABLE and /readyz 503; answers again once Redis is back', async () => {
    await writeForecast(redis, 'outage', { ageSeconds: 0, desiredReplicas: [2, 2, 2, 2, 2, 2] });
    await server.shutdown();
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${running.httpPort}${READY_PATH}`)).status === 503, '/readyz 503');
      // Past the 200 ms cache: the scaler must ask Redis, and cannot.
      await new Promise((r) => setTimeout(r, 250));
      expect((await failureOf(running.client.getMetrics({ scalerMetadata: { workload: 'outage' } }))).code).toBe('UNAVAILABLE');
      expect((await failureOf(running.client.isActive({ scalerMetadata: { workload: 'outage' } }))).code).toBe('UNAVAILABLE');
      // GetMetricSpec still answers.
      expect((await running.client.getMetricSpec({ scalerMetadata: { workload: 'outage' } })).metricSpecs[0].metricName).toBe('forecast-outage');
    } finally {
      await server.start();
    }
    await waitFor(async () => (await fetch(`http://127.0.0.1:${running.httpPort}${READY_PATH}`)).status === 200, '/readyz 200 again', 10_000);
    await writeForecast(redis, 'outage', { ageSeconds: 0, desiredReplicas: [2, 2, 2, 2, 2, 2] });
    expect((await running.client.getMetrics({ scalerMetadata: { workload: 'outage' } })).metricValues[0].metricValueFloat).toBe(2);
    expect(running.process.logs.filter((l) => l.msg === 'forecast not usable' && l.workload === 'outage').map((l) => l.reason)).toEqual(['redis']);
  });
});

describe('scaler stopping', () => {
  test('SIGTERM ends the open streams (OK), lets the process exit 0 and logs the stop', async () => {
    const running = await startScaler({ [Env.REDIS_URL]: server.url, [Env.SCALER_STREAM_INTERVAL]: '0.2' });
    await running.process.waitForLog((l) => l.msg === 'scaler running: redis connected');
    await writeForecast(redis, 'stopping', { ageSeconds: 0, desiredReplicas: [1, 1, 1, 1, 1, 1] });
    const stream = running.client.streamIsActive({ scalerMetadata: { workload: 'stopping' } });
    await waitFor(() => stream.results.length === 1, 'the first message', 5000);
    const stopped = Date.now();
    running.process.child.kill('SIGTERM');
    expect(await stream.ended).toBeNull();
    const result = await running.process.done;
    expect({ code: result.code, quick: Date.now() - stopped < 3000 }).toEqual({ code: 0, quick: true });
    expect(result.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['stopping', 'scaler stopped']));
    running.client.close();
  });
});
