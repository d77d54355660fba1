/** The demo programs' vocabulary: the load patterns `loadgen` knows (the Kedastral example's load generator's). */

/** The load patterns of `loadgen --pattern`: requests per second as a function of the (UTC) time of day. */
export const LOAD_PATTERNS = ['hourly-spike', 'business-hours', 'sine-wave', 'double-peak'] as const;
/** One of {@link LOAD_PATTERNS}. */
export type LoadPatternName = (typeof LOAD_PATTERNS)[number];

/** Milliseconds one `loadgen` request may take before it counts as failed. */
export const DEFAULT_LOADGEN_TIMEOUT_MS = 5000;
