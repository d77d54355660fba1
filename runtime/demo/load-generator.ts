/**
 * `loadgen`'s engine: sends GET requests at the rate a schedule gives for the current instant, paced on the
 * wall clock (the requests owed since the last tick, fractions carried over), and counts what came back.
 */
import { Agent, get } from 'http';
import { Agent as HttpsAgent, get as httpsGet } from 'https';
import { Counter, Gauge, Registry } from 'prom-client';
import { LoadgenMetrics } from '../contract';
import type { Logger } from '../log';
import { sleep } from '../sleep';
import type { LoadPattern } from './patterns';
import type { LoadTrace } from './trace';

/** Requests per second wanted at a wall-clock instant (ms since the epoch). */
export type RateSchedule = (wallMs: number) => number;

/**
 * A pattern on a clock that starts at `startMs` when the run starts (`t0Ms`) and runs `timeScale` times as fast
 * as the wall clock; the rate is the pattern's value times `rateScale`.
 */
export function patternSchedule(pattern: LoadPattern, options: { startMs: number; t0Ms: number; timeScale: number; rateScale: number }): RateSchedule {
  return (wallMs) => pattern(new Date(options.startMs + (wallMs - options.t0Ms) * options.timeScale)) * options.rateScale;
}

/** A trace replayed from `startOffset` seconds after its first row, `timeScale` times as fast as the wall clock. */
export function traceSchedule(trace: LoadTrace, options: { startOffset: number; t0Ms: number; timeScale: number; rateScale: number }): RateSchedule {
  return (wallMs) => trace.valueAt(options.startOffset + ((wallMs - options.t0Ms) / 1000) * options.timeScale) * options.rateScale;
}

export interface LoadgenCounts {
  readonly sent: number;
  readonly failed: number;
}

export interface LoadGeneratorOptions {
  /** The URL requested (base URL and path). */
  readonly url: string;
  readonly schedule: RateSchedule;
  readonly timeoutMs: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** Stops sending; requests in flight are waited for (up to their timeout). */
  readonly signal: AbortSignal;
  /** Wall-clock milliseconds between two rounds of requests. @default 50 */
  readonly tickMs?: number;
  /** The wall clock. @default Date.now */
  readonly now?: () => number;
}

/** Sends until the signal aborts, then waits for the requests in flight and returns the counts. */
export async function generateLoad(options: LoadGeneratorOptions): Promise<LoadgenCounts> {
  const now = options.now ?? Date.now;
  const tickMs = options.tickMs ?? 50;
  const sentCounter = new Counter({ name: LoadgenMetrics.SENT, help: 'Requests answered with a status below 500', registers: [options.registry] });
  const failedCounter = new Counter({
    name: LoadgenMetrics.FAILED,
    help: 'Requests that failed: no connection, a timeout, or a status of 500 or more',
    registers: [options.registry],
  });
  const targetRate = new Gauge({ name: LoadgenMetrics.TARGET_RATE, help: 'Requests per second the pattern or trace asks for now', registers: [options.registry] });
  const https = options.url.startsWith('https:');
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 256 }) : new Agent({ keepAlive: true, maxSockets: 256 });
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let failed = 0;

  const send = () => {
    const request = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        if (ok) {
          sent++;
          sentCounter.inc();
        } else {
          failed++;
          failedCounter.inc();
        }
        resolve();
      };
      const req = (https ? httpsGet : get)(options.url, { agent, timeout: options.timeoutMs }, (res) => {
        res.resume();
        res.once('end', () => settle((res.statusCode ?? 500) < 500));
        res.once('error', () => settle(false));
      });
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', () => settle(false));
    });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  let owed = 0;
  let last = now();
  let lastLog = last;
  options.log.info('load generator running', { url: options.url });
  while (!options.signal.aborted) {
    const at = now();
    const rate = Math.max(0, options.schedule(at));
    targetRate.set(rate);
    owed += (rate * (at - last)) / 1000;
    last = at;
    const due = Math.floor(owed);
    owed -= due;
    for (let i = 0; i < due; i++) send();
    if (at - lastLog >= 10_000) {
      options.log.info('load', { rate, sent, failed, inFlight: inFlight.size });
      lastLog = at;
    }
    await sleep(tickMs, options.signal);
  }
  await Promise.all([...inFlight]);
  agent.destroy();
  return { sent, failed };
}
