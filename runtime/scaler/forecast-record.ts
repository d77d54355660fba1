/**
 * What the scaler makes of a stored forecast, with no IO and no clock of its own: the record checked for the fields
 * it uses, its age against staleAfter, and the largest desired replica count over [now, now + leadTime].
 */
import type { ForecastRecord } from '../contract';
import { ScalerError } from './errors';

/** The parts of a {@link ForecastRecord} the scaler uses, checked. */
export interface UsableForecast {
  readonly workload: string;
  /** generatedAt in ms since the epoch. */
  readonly generatedAtMs: number;
  readonly step: number;
  readonly desiredReplicas: readonly number[];
  readonly leadTime: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The stored text as a forecast of `workload`, or an `unreadable` error saying what is wrong (never the text itself). */
export function parseForecast(text: string, workload: string): UsableForecast {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ScalerError('unreadable', `the forecast of '${workload}' is not JSON`);
  }
  const bad = (what: string) => new ScalerError('unreadable', `the forecast of '${workload}' is not a forecast record: ${what}`);
  if (!isObject(parsed)) throw bad('not an object');
  const record = parsed as Partial<Record<keyof ForecastRecord, unknown>>;
  if (record.workload !== workload) throw bad(`its workload is ${JSON.stringify(record.workload)}`);
  const generatedAtMs = typeof record.generatedAt === 'string' ? Date.parse(record.generatedAt) : NaN;
  if (!Number.isFinite(generatedAtMs)) throw bad(`generatedAt ${JSON.stringify(record.generatedAt)} is not an ISO 8601 time`);
  if (!(typeof record.step === 'number' && Number.isFinite(record.step) && record.step > 0)) throw bad(`step ${JSON.stringify(record.step)} is not a positive number`);
  if (!Array.isArray(record.desiredReplicas) || record.desiredReplicas.length === 0 || !record.desiredReplicas.every(isCount)) {
    throw bad('desiredReplicas is not a non-empty array of non-negative numbers');
  }
  if (!isCount(record.leadTime)) throw bad(`leadTime ${JSON.stringify(record.leadTime)} is not a non-negative number`);
  return { workload, generatedAtMs, step: record.step, desiredReplicas: record.desiredReplicas as number[], leadTime: record.leadTime as number };
}

/** Seconds since the forecast was made (negative when its writer's clock is ahead). */
export function forecastAge(forecast: UsableForecast, nowMs: number): number {
  return (nowMs - forecast.generatedAtMs) / 1000;
}

/** Throws `stale` when the forecast is older than `staleAfterSeconds`. */
export function checkFresh(forecast: UsableForecast, nowMs: number, staleAfterSeconds: number): void {
  const age = forecastAge(forecast, nowMs);
  if (age > staleAfterSeconds) {
    throw new ScalerError('stale', `the forecast of '${forecast.workload}' is ${age.toFixed(1)} s old, older than staleAfter ${staleAfterSeconds} s`);
  }
}

/**
 * The largest desiredReplicas over [now, now + leadTime]. Point k holds from generatedAt + k x step until the next
 * one, so the window covers the points floor(age / step) through floor((age + leadTime) / step); a forecast whose
 * last point comes before that is `horizon` (too short to say what the lead time needs). Before generatedAt (a
 * writer's clock ahead of ours) the window starts at the first point.
 */
export function leadTimeMax(forecast: UsableForecast, nowMs: number, leadTimeSeconds: number): number {
  const age = Math.max(0, forecastAge(forecast, nowMs));
  const first = Math.floor(age / forecast.step);
  const last = Math.floor((age + leadTimeSeconds) / forecast.step);
  const points = forecast.desiredReplicas;
  if (last >= points.length) {
    const covered = points.length * forecast.step - age;
    throw new ScalerError(
      'horizon',
      `the forecast of '${forecast.workload}' reaches ${Math.max(0, covered).toFixed(1)} s past now, short of the lead time ${leadTimeSeconds} s (${points.length} points of ${forecast.step} s, ${age.toFixed(1)} s old)`,
    );
  }
  let max = points[first];
  for (let k = first + 1; k <= last; k++) if (points[k] > max) max = points[k];
  return max;
}
