/**
 * `publish --rate` and `--rate-file` as a pod runs them: the CLI as a child process against a real
 * redis-server, the rate file in the layout the kubelet gives a mounted ConfigMap, updated the way
 * the kubelet does it (a new timestamped directory, `..data` renamed over to point at it).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type Redis from 'ioredis';
import { Env, Metrics } from '../../../runtime/contract';
import { runCli, startCli, waitFor } from '../../support/cli';
import { RedisServer } from '../../support/redis-server';
import { withRedis } from '../../support/redis-fixture';

let server: RedisServer;
let redis: Redis;

withRedis((s, r) => ((server = s), (redis = r)));

/** enqueuedAt of every event on the list, oldest first. */
async function enqueuedTimes(list: string): Promise<number[]> {
  return (await redis.lrange(list, 0, -1)).map((raw) => (JSON.parse(raw) as { enqueuedAt: number }).enqueuedAt).sort((a, b) => a - b);
}

/** A mounted ConfigMap's directory: `..<timestamp>/rate`, `..data` -> it, `rate` -> `..data/rate`. */
class ConfigMapDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-keda-rate-'));
  readonly file = join(this.dir, 'rate');
  private version = 0;

  constructor(content: string) {
    symlinkSync(this.writeVersion(content), join(this.dir, '..data'));
    symlinkSync(join('..data', 'rate'), this.file);
  }

  /** The kubelet's atomic update: a new directory, a temporary link to it renamed over `..data`, the old directory removed. */
  update(content: string): void {
    const old = `..2026_12_01_00_00_00.${this.version}`;
    const temporary = join(this.dir, '..data_tmp');
    symlinkSync(this.writeVersion(content), temporary);
    renameSync(temporary, join(this.dir, '..data'));
    rmSync(join(this.dir, old), { recursive: true });
  }

  /** The key removed from the ConfigMap: `..data` points at a directory without it. */
  removeKey(): void {
    const old = `..2026_12_01_00_00_00.${this.version}`;
    const name = `..2026_12_01_00_00_00.${++this.version}`;
    mkdirSync(join(this.dir, name));
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    rmSync(join(this.dir, old), { recursive: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeVersion(content: string): string {
    const name = `..2026_12_01_00_00_00.${++this.version}`;
    mkdirSync(join(this.dir, name));
    writeFileSync(join(this.dir, name, 'rate'), content);
    return name;
  }
}

test.each([
  [['--rate', '5', '--interval', '1'], /--interval \(env PUBLISH_INTERVAL\) 1 contradicts --rate \(env PUBLISH_RATE\) 5/],
  [['--rate-file', '/nonexistent/rate', '--interval', '2'], /--interval \(env PUBLISH_INTERVAL\) 2 contradicts --rate-file \(env PUBLISH_RATE_FILE\) \/nonexistent\/rate/],
  [['--rate', '0'], /--rate \(or env PUBLISH_RATE\) must be greater than 0, got 0/],
  [['--rate', 'fast'], /--rate \(or env PUBLISH_RATE\) must be a number, got 'fast'/],
])('%j is a usage error naming the flags and values (exit 2, nothing published)', async (flags, message) => {
  const list = `publish-rate-usage-${flags.join('')}`;
  const result = await runCli(['publish', '--count', '3', '--list', list, ...flags], { env: { REDIS_URL: server.url } });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(await redis.llen(list)).toBe(0);
});

test('--rate 20 --count 41: event k at start + k/20 s, in LPUSHes of --batch events leaving when their last event is due', async () => {
  const list = 'publish-rate-bounded';
  const result = await runCli(['publish', '--count', '41', '--rate', '20', '--batch', '1', '--list', list], { env: { REDIS_URL: server.url } });
  expect(result.code).toBe(0);
  const times = await enqueuedTimes(list);
  expect(times).toHaveLength(41);
  // 40 gaps of 50 ms: 2000 ms. Absolute deadlines: a late timer does not push the later events back,
  // so the span stays near 2000 ms even when single gaps vary (upper bound: one late last timer).
  const span = times[40] - times[0];
  expect(span).toBeGreaterThanOrEqual(1990);
  expect(span).toBeLessThan(2200);
  // Halfway it is on schedule too (no accumulated overshoot).
  expect(Math.abs(times[20] - times[0] - 1000)).toBeLessThan(150);
});

test('--rate 10 --batch 5: LPUSHes of 5 events every 0.5 s (the batch leaves when its last event is due)', async () => {
  const list = 'publish-rate-batch';
  const result = await runCli(['publish', '--count', '15', '--rate', '10', '--batch', '5', '--list', list, '--log-level', 'debug'], { env: { REDIS_URL: server.url } });
  expect(result.code).toBe(0);
  const batches = result.logs.filter((l) => l.msg === 'published batch');
  expect(batches.map((l) => l.events)).toEqual([5, 5, 5]);
  const at = batches.map((l) => Date.parse(l.time));
  // Due at 0.4 s, 0.9 s, 1.4 s after the start: 0.5 s apart.
  expect(at[1] - at[0]).toBeGreaterThan(400);
  expect(at[2] - at[0]).toBeGreaterThanOrEqual(950);
  expect(at[2] - at[0]).toBeLessThan(1200);
});

describe('--rate-file in a mounted ConfigMap', () => {
  let config: ConfigMapDir;
  afterEach(() => config?.remove());

  test('an atomic ..data swap is followed within 2 s; the published rate is within 5 % of the set one over 10 s; bad values keep the rate', async () => {
    const list = 'publish-rate-file';
    config = new ConfigMapDir('20\n');
    const publisher = startCli(['publish', '--forever', '--batch', '1', '--metrics-port', '0'], {
      env: { REDIS_URL: server.url, LIST_NAME: list, [Env.PUBLISH_RATE_FILE]: config.file, LOG_FORMAT: 'json' },
    });
    try {
      const { port } = await publisher.waitForLog((l) => l.msg === 'health server listening');
      const gauge = async () => Number(new RegExp(`^${Metrics.PUBLISH_TARGET_RATE} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1]);
      expect(await gauge()).toBe(20);
      await waitFor(async () => (await redis.llen(list)) >= 20, 'a second of events at 20/s');

      const swapped = Date.now();
      config.update('50');
      const changed = await publisher.waitForLog((l) => l.msg === 'rate changed' && l.rate === 50, 5000);
      const followMs = Date.parse(changed.time) - swapped;
      expect(followMs).toBeLessThan(2000);
      expect(await gauge()).toBe(50);

      // 10 s at 50/s from a second after the change: 500 events, within 5 %.
      const from = Date.parse(changed.time) + 1000;
      await waitFor(() => Date.now() > from + 10_500, 'the measuring window', 15_000, 200);
      const inWindow = (await enqueuedTimes(list)).filter((t) => t >= from && t < from + 10_000).length;
      expect(Math.abs(inWindow / 10 - 50)).toBeLessThanOrEqual(2.5);

      // A malformed value and a missing key: one warning each, the rate stays.
      config.update('fast');
      await publisher.waitForLog((l) => l.level === 'warn' && String(l.msg).includes('does not hold a rate'), 5000);
      config.removeKey();
      await publisher.waitForLog((l) => l.level === 'warn' && String(l.msg).includes('cannot be read (ENOENT)'), 5000);
      // Two more periodic re-reads of the same missing file: no further warning.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(publisher.logs.filter((l) => l.level === 'warn' && String(l.msg).startsWith('rate file'))).toHaveLength(2);
      expect(await gauge()).toBe(50);
      const before = await redis.llen(list);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await redis.llen(list)).toBeGreaterThan(before + 40);

      // 0 pauses; a rate again resumes.
      config.update('0');
      await publisher.waitForLog((l) => l.msg === 'rate changed' && l.rate === 0, 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const paused = await redis.llen(list);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await redis.llen(list)).toBe(paused);
      config.update('30');
      await publisher.waitForLog((l) => l.msg === 'rate changed' && l.rate === 30, 5000);
      await waitFor(async () => (await redis.llen(list)) >= paused + 15, 'publishing again at 30/s');
      process.stdout.write(`rate file followed in ${followMs} ms; ${inWindow / 10} events/s measured at 50/s set\n`);
    } finally {
      publisher.child.kill('SIGTERM');
    }
    const result = await publisher.done;
    expect(result.code).toBe(0);
  }, 40_000);

  test('a missing rate file at start: --rate is the rate until the file appears', async () => {
    const list = 'publish-rate-file-late';
    const dir = mkdtempSync(join(tmpdir(), 'redis-keda-rate-'));
    config = { remove: () => rmSync(dir, { recursive: true, force: true }) } as ConfigMapDir;
    const publisher = startCli(['publish', '--forever', '--rate', '10', '--rate-file', join(dir, 'rate'), '--metrics-port', '0'], {
      env: { REDIS_URL: server.url, LIST_NAME: list },
    });
    try {
      await publisher.waitForLog((l) => l.level === 'warn' && String(l.msg).includes('cannot be read (ENOENT)'));
      await waitFor(async () => (await redis.llen(list)) >= 5, 'events at the --rate');
      writeFileSync(join(dir, 'rate'), '40');
      await publisher.waitForLog((l) => l.msg === 'rate changed' && l.from === 10 && l.rate === 40, 3000);
    } finally {
      publisher.child.kill('SIGTERM');
    }
    expect((await publisher.done).code).toBe(0);
  });
});
