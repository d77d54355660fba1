/**
 * The README's picture of a load run: reads a run recorded from Prometheus (range queries of publish rate, queue depth,
 * latency p99, replicas, ...) and writes an SVG of one panel per series on a shared time axis.
 *
 *   npx ts-node --transpile-only scripts/plot-load-run.ts docs/load-run.json docs/load-run.svg
 *
 * The input: `{ "recordedAt": ISO time, "command": what recorded it, "series": [{ "name", "unit", "style"?: "step" | "line",
 * "points": [[unixSeconds, value], ...] }] }`. A value is a number, a string as Prometheus prints samples ("12.5", "NaN",
 * "+Inf") or null; NaN, ±Inf, null and missing samples are gaps in the line. Bad input exits 2 naming the file and field.
 */
import * as fs from 'fs';
import { PlotInput, PlotSeries, renderSvg } from './plot/chart';

/** The recorded run is not what the plot reads: the message names the file and the field. */
export class LoadRunError extends Error {
  constructor(file: string, field: string, problem: string) {
    super(`${file}: ${field} ${problem}`);
    this.name = 'LoadRunError';
  }
}

/** A sample value as Prometheus' HTTP API prints it. */
const PROMETHEUS_FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

const show = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

function sampleValue(raw: unknown, fail: (problem: string) => never): number {
  if (raw === null) return NaN;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && PROMETHEUS_FLOAT.test(raw)) return raw.endsWith('Inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
  return fail(`must be a number, a Prometheus sample string such as "1.5" or "NaN", or null; got ${show(raw)}`);
}

function parseSeries(raw: unknown, field: string, fail: (field: string, problem: string) => never): PlotSeries {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(field, `must be an object { name, unit, points }; got ${show(raw)}`);
  const { name, unit, style, points } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || !name) return fail(`${field}.name`, `must be a non-empty string; got ${show(name)}`);
  const at = `${field} ("${name}")`;
  if (typeof unit !== 'string') return fail(`${at}.unit`, `must be a string; got ${show(unit)}`);
  if (style !== undefined && style !== 'step' && style !== 'line') return fail(`${at}.style`, `must be "step" or "line"; got ${show(style)}`);
  if (!Array.isArray(points)) return fail(`${at}.points`, `must be an array of [unixSeconds, value]; got ${show(points)}`);
  const parsed = points.map((point: unknown, i): [number, number] => {
    const here = `${at}.points[${i}]`;
    if (!Array.isArray(point) || point.length !== 2) return fail(here, `must be a pair [unixSeconds, value]; got ${show(point)}`);
    const [t, v] = point as unknown[];
    if (typeof t !== 'number' || !Number.isFinite(t)) return fail(`${here}[0]`, `must be a time in unix seconds (a number); got ${show(t)}`);
    if (i > 0 && !(t > (points[i - 1] as number[])[0])) return fail(`${here}[0]`, `(${t}) must be later than the time before it (${(points[i - 1] as number[])[0]})`);
    return [t, sampleValue(v, (problem) => fail(`${here}[1]`, problem))];
  });
  return { name, unit, points: parsed, ...(style ? { style } : {}) };
}

/** The run in `text`, read from `file` (named in errors); throws {@link LoadRunError}. */
export function parseLoadRun(text: string, file: string): PlotInput {
  const fail = (field: string, problem: string): never => {
    throw new LoadRunError(file, field, problem);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return fail('the file', `is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('the file', 'must hold a JSON object { recordedAt, command, series }');
  const { recordedAt, command, series } = raw as Record<string, unknown>;
  if (typeof recordedAt !== 'string' || Number.isNaN(Date.parse(recordedAt))) return fail('recordedAt', `must be an ISO date-time string; got ${show(recordedAt)}`);
  if (typeof command !== 'string') return fail('command', `must be a string; got ${show(command)}`);
  if (!Array.isArray(series) || !series.length) return fail('series', `must be a non-empty array of { name, unit, points }; got ${show(series)}`);
  const parsed = series.map((s, i) => parseSeries(s, `series[${i}]`, fail));
  if (parsed.every((s) => !s.points.length)) return fail('series', 'hold no points: nothing to plot');
  return { recordedAt, command, series: parsed };
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: ts-node scripts/plot-load-run.ts <recorded-run.json> <out.svg>');
    process.exitCode = 2;
  } else {
    try {
      fs.writeFileSync(output, renderSvg(parseLoadRun(fs.readFileSync(input, 'utf8'), input)));
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      process.exitCode = 2;
    }
  }
}
