/** The `external` trigger's metadata the scaler reads ({@link ScalerMetadata}), checked: a mistake is INVALID_ARGUMENT. */
import { MAX_DURATION_SECONDS } from '../config';
import { ScalerMetadata, WORKLOAD_NAME_PATTERN } from '../contract';
import { ScalerError } from './errors';

export interface TriggerMetadata {
  readonly workload: string;
  /** Seconds; undefined: the forecast's own leadTime. */
  readonly leadTimeSeconds?: number;
  /** Seconds; undefined: the scaler's default. */
  readonly staleAfterSeconds?: number;
}

const UNITS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1 };

/** `300s`, `5m`, `1m30s`, `1h`, `2.5s` or plain seconds (`300`) as seconds; undefined when it is none of them. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(trimmed);
  if (!match || trimmed === '') return undefined;
  const [, h, m, s] = match;
  return Number(h ?? 0) * UNITS.h + Number(m ?? 0) * UNITS.m + Number(s ?? 0);
}

function duration(metadata: Readonly<Record<string, string>>, key: string, positive: boolean): number | undefined {
  const text = metadata[key];
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds > MAX_DURATION_SECONDS || (positive && seconds === 0)) {
    throw new ScalerError(
      'metadata',
      `trigger metadata '${key}' (${JSON.stringify(text)}) must be a duration such as 300s, 5m, 1m30s or plain seconds${positive ? ', above 0' : ''}`,
    );
  }
  return seconds;
}

export function parseTriggerMetadata(metadata: Readonly<Record<string, string>> | undefined): TriggerMetadata {
  const given = metadata ?? {};
  const workload = given[ScalerMetadata.WORKLOAD];
  if (workload === undefined || workload === '') throw new ScalerError('metadata', `trigger metadata '${ScalerMetadata.WORKLOAD}' is missing: name the forecast's workload`);
  if (!WORKLOAD_NAME_PATTERN.test(workload)) {
    throw new ScalerError(
      'metadata',
      `trigger metadata '${ScalerMetadata.WORKLOAD}' (${JSON.stringify(workload)}) must be a DNS label: lower-case letters, digits and '-', at most 63`,
    );
  }
  return {
    workload,
    leadTimeSeconds: duration(given, ScalerMetadata.LEAD_TIME, false),
    staleAfterSeconds: duration(given, ScalerMetadata.STALE_AFTER, true),
  };
}
