/**
 * `demo-app` and `loadgen` as pods run them: child processes configured by env and flags on loopback; the app's
 * request counter, scraped from its /metrics, against what the load generator reports it sent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DemoAppMetrics, DemoAppPaths, Env, HEALTH_PATH, LoadgenMetrics, METRICS_PATH, MetricLabels } from '../../../runtime/contract';
import { RunningProcess, runCli, startCli } from '../../support/cli';
import { freePort, stopChild } from '../../support/redis-server';

/** The value of each sample of `name` in a text exposition, with its labels. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .map((line) => new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ labels: Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])), value: Number(m[2]) }));
}

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

let app: RunningProcess;
let appPort: number;
let appMetricsPort: number;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loadgen-'));
  [appPort, appMetricsPort] = [await freePort(), await freePort()];
  app = startCli(['demo-app'], { env: { [Env.DEMO_APP_PORT]: String(appPort), [Env.METRICS_PORT]: String(appMetricsPort), [Env.LOG_FORMAT]: 'json' } });
  await app.waitForLog((l) => l.msg === 'demo app listening');
});

afterAll(async () => {
  await stopChild(app.child);
  rmSync(dir, { recursive: true, force: true });
});

/** The demo app's request count on the task endpoint (status 200). */
async function taskRequests(): Promise<number> {
  const found = samples(await text(`http://127.0.0.1:${appMetricsPort}${METRICS_PATH}`), DemoAppMetrics.REQUESTS).filter(
    (s) => s.labels[MetricLabels.ENDPOINT] === DemoAppPaths.TASK && s.labels[MetricLabels.STATUS] === '200' && s.labels[MetricLabels.METHOD] === 'GET',
  );
  expect(found).toHaveLength(1);
  return found[0].value;
}

test('demo-app answers its paths, counts them by endpoint, method and status, 404 for others', async () => {
  const before = await taskRequests();
  const ok = await fetch(`http://127.0.0.1:${appPort}${DemoAppPaths.TASK}`);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ message: 'ok' });
  expect((await fetch(`http://127.0.0.1:${appPort}/nope`)).status).toBe(404);
  expect(await taskRequests()).toBe(before + 1);
  const metrics = await text(`http://127.0.0.1:${appMetricsPort}${METRICS_PATH}`);
  expect(samples(metrics, DemoAppMetrics.REQUESTS).find((s) => s.labels[MetricLabels.ENDPOINT] === 'other')).toEqual({
    labels: { [MetricLabels.ENDPOINT]: 'other', [MetricLabels.METHOD]: 'GET', [MetricLabels.STATUS]: '404' },
    value: 1,
  });
  expect(await (await fetch(`http://127.0.0.1:${appMetricsPort}${HEALTH_PATH}`)).json()).toEqual({ status: 'ok' });
});

test('loadgen sends what the pattern asks at a high time scale, and the app counted exactly what it reports sent', async () => {
  const before = await taskRequests();
  // business-hours from 12:00 at an hour per second: 146 (12:xx) then 150 (13:xx) requests a second, a tenth of it sent.
  const result = await runCli(['loadgen', '--pattern', 'business-hours', '--time-scale', '3600', '--rate-scale', '0.1', '--duration', '2'], {
    env: {
      [Env.LOADGEN_TARGET_URL]: `http://127.0.0.1:${appPort}`,
      [Env.LOADGEN_START]: '2026-12-02T12:00:00Z',
      [Env.METRICS_PORT]: '0',
      [Env.LOG_FORMAT]: 'json',
    },
  });
  expect(result.code).toBe(0);
  const counts = JSON.parse(result.stdout) as { sent: number; failed: number };
  expect(counts.failed).toBe(0);
  // 2 s at 14.6-15 requests a second: 29 or 30, give or take the last tick.
  expect(counts.sent).toBeGreaterThanOrEqual(27);
  expect(counts.sent).toBeLessThanOrEqual(31);
  expect(await taskRequests()).toBe(before + counts.sent);
});

test('loadgen replays a trace and serves its counters on /metrics; requests to a closed port count as failed', async () => {
  const trace = join(dir, 'load.csv');
  writeFileSync(trace, 'ts,value\n0,20\n60,40\n');
  const deadPort = await freePort();
  const metricsPort = await freePort();
  const running = startCli(['loadgen', '--trace', trace, '--time-scale', '60'], {
    env: { [Env.LOADGEN_TARGET_URL]: `http://127.0.0.1:${deadPort}`, [Env.METRICS_PORT]: String(metricsPort), [Env.LOG_FORMAT]: 'json' },
  });
  try {
    await running.waitForLog((l) => l.msg === 'load generator running');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const metrics = await text(`http://127.0.0.1:${metricsPort}${METRICS_PATH}`);
    expect(samples(metrics, LoadgenMetrics.SENT)).toEqual([{ labels: {}, value: 0 }]);
    // The first wall second replays the trace's first minute (20/s), then its second (40/s).
    expect(samples(metrics, LoadgenMetrics.FAILED)[0].value).toBeGreaterThanOrEqual(20);
    expect([20, 40]).toContain(samples(metrics, LoadgenMetrics.TARGET_RATE)[0].value);
  } finally {
    running.child.kill('SIGTERM');
  }
  const result = await running.done;
  expect(result.code).toBe(0);
  const counts = JSON.parse(result.stdout) as { sent: number; failed: number };
  expect(counts.sent).toBe(0);
  expect(counts.failed).toBeGreaterThanOrEqual(20);
});

test('loadgen refuses a pattern together with a trace, no target, and an unknown pattern (exit 2)', async () => {
  const both = await runCli(['loadgen', '--target', 'http://127.0.0.1:1', '--pattern', 'sine-wave', '--trace', '/x.csv']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('give one of --pattern (env LOADGEN_PATTERN) and --trace (env LOADGEN_TRACE_FILE)');
  const none = await runCli(['loadgen', '--pattern', 'sine-wave']);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('give --target (env LOADGEN_TARGET_URL)');
  const unknown = await runCli(['loadgen', '--target', 'http://127.0.0.1:1', '--pattern', 'square']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('square');
});
