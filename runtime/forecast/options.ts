/**
 * The planner's options, their defaults and their checks. A bad option is an error naming it and its value before any
 * step runs (Kedastral divides by a zero step; here it is refused).
 */

/** What a capacity planner is configured with: the workload's sizing, its lead time and the model's own settings. */
export interface CapacityPlannerOptions {
  /** The load one pod serves (the metric's unit per pod). */
  readonly targetPerPod: number;
  /** Fewest replicas ever desired. @default 1 */
  readonly minReplicas?: number;
  /** Most replicas ever desired. */
  readonly maxReplicas: number;
  /** How far ahead the scaler looks: `replicas` is the largest desired count over `[now, now + leadTimeSeconds]`. */
  readonly leadTimeSeconds: number;
  /** Time between two samples of the history and between two forecast points. @default 60 */
  readonly stepSeconds?: number;
  /**
   * Which quantile of the band sizes the pods (0.5 up to, not including, 1): the share of steps the pods should cover.
   * @default 0.95
   */
  readonly quantile?: number;
  /** Factor over the sizing quantile (1 = none: the quantile is the headroom). @default 1 */
  readonly headroom?: number;
  /** Most a desired count may grow from one step to the next, as a factor (Infinity = no limit). @default Infinity */
  readonly maxScaleUpFactor?: number;
  /** Most a desired count may shrink from one step to the next, as a fraction of it (1 = no limit). @default 0.5 */
  readonly maxScaleDownFraction?: number;
  /** The seasonal period (a day). @default 86400 */
  readonly seasonSeconds?: number;
  /** How many past seasons the seasonal change is averaged over (0 = persistence, no seasonality). @default 3 */
  readonly seasons?: number;
  /** A second, shorter season (an hour) blended in the same way. @default 3600 */
  readonly shortSeasonSeconds?: number;
  /** How many past short seasons its change is averaged over (0 = none). @default 3 */
  readonly shortSeasons?: number;
  /** Samples either side of a past season's point averaged into it (0 = the point alone). @default 0 */
  readonly smoothingSteps?: number;
  /** How far back the point forecasts' errors weigh the level, the daily and the hourly forecast. @default 3600 (1 h) */
  readonly errorWindowSeconds?: number;
  /** How far back the band's scores are kept to calibrate it. @default 86400 (1 day) */
  readonly calibrationWindowSeconds?: number;
  /**
   * Samples averaged into the second level the band may start from, besides the load now: the one whose band would
   * have been lower over the calibration window at the same coverage is used (a noisy load is better sized from its
   * recent mean, a trending one from its last sample). 1 = the load now only.
   * @default 3
   */
  readonly levelSteps?: number;
  /**
   * Whether the band may also widen the upper forecast in proportion to it (a headroom calibrated on the window) besides
   * by volatilities over it: the one whose band would have been lower over the calibration window is used.
   * @default true
   */
  readonly relativeBand?: boolean;
  /** Weight of the newest absolute one-step change in the moving average that scales the band (0 to 1). @default 0.1 */
  readonly volatilityWeight?: number;
  /** How many past days' rise at this time of the day the band starts from (0 = none). @default 3 */
  readonly riseSeasons?: number;
  /** How many of those days must have seen a rise for it to count (the rise taken is their n-th largest). @default 2 */
  readonly riseAgreement?: number;
  /** Steps either side of this time of a past day searched for its rise (a job a minute late is the same job). @default 1 */
  readonly riseJitterSteps?: number;
  /**
   * How long a new pod takes to serve. A step farther out than this is planned again before its pods must be
   * ordered, so it is sized as the step at this horizon (the point forecast still moves with the season).
   * @default - leadTimeSeconds
   */
  readonly podStartSeconds?: number;
  /** Quantiles reported in `quantiles`, besides the sizing one. @default [0.5, 0.9] */
  readonly reportQuantiles?: readonly number[];
}

/** Every option with its default applied. */
export type ResolvedPlannerOptions = Required<CapacityPlannerOptions>;

/** An option out of range: the message names the option, its value and what would be valid. */
export class PlannerOptionError extends Error {
  constructor(option: string, value: unknown, valid: string) {
    super(`capacity planner: '${option}' (${formatValue(value)}) ${valid}`);
    this.name = 'PlannerOptionError';
  }
}

function formatValue(value: unknown): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}

function check(option: string, value: number, ok: boolean, valid: string): void {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok) throw new PlannerOptionError(option, value, valid);
}

/** The options with defaults, or a {@link PlannerOptionError} for the first one out of range. */
export function resolvePlannerOptions(options: CapacityPlannerOptions): ResolvedPlannerOptions {
  const o: ResolvedPlannerOptions = {
    minReplicas: 1,
    stepSeconds: 60,
    quantile: 0.95,
    headroom: 1,
    maxScaleUpFactor: Infinity,
    maxScaleDownFraction: 0.5,
    seasonSeconds: 86400,
    seasons: 3,
    shortSeasonSeconds: 3600,
    shortSeasons: 3,
    smoothingSteps: 0,
    errorWindowSeconds: 3600,
    calibrationWindowSeconds: 86400,
    levelSteps: 3,
    volatilityWeight: 0.1,
    relativeBand: true,
    riseSeasons: 3,
    riseAgreement: 2,
    riseJitterSteps: 1,
    reportQuantiles: [0.5, 0.9],
    podStartSeconds: options.leadTimeSeconds,
    ...options,
  };
  check('targetPerPod', o.targetPerPod, o.targetPerPod > 0 && Number.isFinite(o.targetPerPod), 'must be a positive number');
  check('minReplicas', o.minReplicas, Number.isInteger(o.minReplicas) && o.minReplicas >= 0, 'must be an integer of at least 0');
  check('maxReplicas', o.maxReplicas, Number.isInteger(o.maxReplicas) && o.maxReplicas >= 1, 'must be an integer of at least 1');
  if (o.maxReplicas < o.minReplicas) throw new PlannerOptionError('maxReplicas', o.maxReplicas, `must be at least 'minReplicas' (${o.minReplicas})`);
  check('stepSeconds', o.stepSeconds, o.stepSeconds > 0 && Number.isFinite(o.stepSeconds), 'must be a positive number of seconds');
  check('quantile', o.quantile, o.quantile >= 0.5 && o.quantile < 1, 'must be at least 0.5 and below 1');
  check('headroom', o.headroom, o.headroom >= 1 && Number.isFinite(o.headroom), 'must be a number of at least 1');
  check('maxScaleUpFactor', o.maxScaleUpFactor, o.maxScaleUpFactor > 1, 'must be above 1 (Infinity for no limit)');
  check('volatilityWeight', o.volatilityWeight, o.volatilityWeight > 0 && o.volatilityWeight < 1, 'must be above 0 and below 1');
  check('levelSteps', o.levelSteps, Number.isInteger(o.levelSteps) && o.levelSteps >= 1, 'must be an integer of at least 1');
  check('riseAgreement', o.riseAgreement, Number.isInteger(o.riseAgreement) && o.riseAgreement >= 1, 'must be an integer of at least 1');
  check('maxScaleDownFraction', o.maxScaleDownFraction, o.maxScaleDownFraction > 0 && o.maxScaleDownFraction <= 1, 'must be above 0 and at most 1');
  // Durations no shorter than a step, and counts of whole steps or seasons.
  for (const name of ['leadTimeSeconds', 'seasonSeconds', 'shortSeasonSeconds', 'errorWindowSeconds', 'calibrationWindowSeconds', 'podStartSeconds'] as const) {
    check(name, o[name], o[name] >= o.stepSeconds && Number.isFinite(o[name]), `must be at least 'stepSeconds' (${o.stepSeconds})`);
  }
  for (const name of ['seasons', 'shortSeasons', 'smoothingSteps', 'riseSeasons', 'riseJitterSteps'] as const) {
    check(name, o[name], Number.isInteger(o[name]) && o[name] >= 0, 'must be an integer of at least 0');
  }
  if (!Array.isArray(o.reportQuantiles) || o.reportQuantiles.some((q) => !(q > 0 && q < 1))) {
    throw new PlannerOptionError('reportQuantiles', o.reportQuantiles, 'must be a list of numbers above 0 and below 1');
  }
  return o;
}

/** The key of a quantile in `quantiles`: 0.5 is "p50", 0.975 is "p97.5". */
export function quantileKey(q: number): string {
  return `p${Number((q * 100).toFixed(3))}`;
}
