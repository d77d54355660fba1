/**
 * The four load patterns of the Kedastral multi-app example's load generator, re-implemented from their
 * definitions: requests per second at an instant, from its hour and minute (UTC here; the original reads the
 * container's local time, UTC in its pods). Whole numbers, truncated as the original's `int(...)` does.
 * Pure: no clock, no IO.
 */
import type { LoadPatternName } from '../contract';

/** Requests per second at `time`. */
export type LoadPattern = (time: Date) => number;

/** 200 for the first 5 minutes of each half hour, 120 for the next 5, 30 otherwise. */
function hourlySpike(time: Date): number {
  const minute = time.getUTCMinutes() % 30;
  if (minute < 5) return 200;
  if (minute < 10) return 120;
  return 30;
}

/** 09:00-17:00: 100 plus a half sine over the eight hours (by the hour, peak 150 at 13:00); 20 otherwise. */
function businessHours(time: Date): number {
  const hour = time.getUTCHours();
  if (hour < 9 || hour >= 17) return 20;
  return Math.trunc(100 + 50 * Math.sin(((hour - 9) * Math.PI) / 8));
}

/**
 * 80 + 60 sin(minute of day x pi / 120), between 20 and 140. The original calls it a 2-hour period; by its
 * formula a full cycle takes 4 hours (peak at 01:00, trough at 03:00), and that is what is reproduced.
 */
function sineWave(time: Date): number {
  const minutes = time.getUTCHours() * 60 + time.getUTCMinutes();
  return Math.trunc(80 + 60 * Math.sin((minutes * Math.PI) / 120));
}

/** 40 plus 120 times the larger of two Gaussian bumps at 09:00 and 15:00 (exp(-(d minutes)^2 / 1800)), 40..160. */
function doublePeak(time: Date): number {
  const minutes = time.getUTCHours() * 60 + time.getUTCMinutes();
  const bump = (center: number) => Math.exp(-((minutes - center) ** 2) / 1800);
  return Math.trunc(40 + 120 * Math.max(bump(540), bump(900)));
}

export const LOAD_PATTERN_FUNCTIONS: Readonly<Record<LoadPatternName, LoadPattern>> = {
  'hourly-spike': hourlySpike,
  'business-hours': businessHours,
  'sine-wave': sineWave,
  'double-peak': doublePeak,
};
