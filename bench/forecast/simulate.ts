/**
 * The walk-forward evaluation, one step a minute, with eval.js' header definitions: a target decided at the end of
 * minute t serves from minute t + 2 (pod start) and a removal takes effect at t + 1, so the pods ready in minute m
 * are min(R[m-2], R[m-1]) and the pods billed are R[m-1]. Every policy is clamped to [1, 50]; the last 2 days are
 * scored after a 60-minute warm-up; everything before is history.
 */
import { CapacityPlannerOptions, createCapacityPlanner } from '../../runtime/forecast';
import { evalPlannerOptions } from '../../runtime/forecast/eval-policy';
import { kedastralBaseline } from './kedastral-baseline';
import { TARGET_PER_POD, Trace } from './traces';

export const MIN_REPLICAS = 1;
export const MAX_REPLICAS = 50;
export const SCORED_MINUTES = 2 * 1440;
export const WARM_UP_MINUTES = 60;
export const POD_START_MINUTES = 2;
export const LEAD_MINUTES = 5;
const STABILISATION_MINUTES = 5;
/** Kedastral's planner: fixed headroom, x2 up and -50 % down per step. */
const KEDASTRAL_HEADROOM = 1.2;

/** The policies side by side, in table order. */
export const POLICIES = ['oracle', 'reactive', 'persistence', 'kedastral-baseline', 'ours', 'reactive+ours'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** One policy's figures over the scored minutes of one trace. */
export interface PolicyResult {
  readonly under: number;
  readonly podMinutes: number;
  readonly underVsReactive: number | null;
  readonly podMinutesVsOracle: number;
  readonly mae1?: number;
  readonly mae5?: number;
}

/** A trace's run: figures per policy, and the series the plot draws (from the warm-up on). */
export interface TraceRun {
  readonly results: Record<PolicyName, PolicyResult>;
  readonly from: number;
  readonly targets: Record<PolicyName, Float64Array>;
  /** Our planner's forecast made 1 minute before each minute. */
  readonly forecast1: Float64Array;
}

const clamp = (r: number) => Math.min(MAX_REPLICAS, Math.max(MIN_REPLICAS, r));

/** Kedastral's capacity planner over one forecast, chained from the previous step's first count. */
function kedastralReplicas(previous: number, forecast: readonly number[]): number[] {
  const out: number[] = [];
  let prev = previous;
  for (const v of forecast) {
    const wanted = clamp(Math.ceil((Math.max(0, v) * KEDASTRAL_HEADROOM) / TARGET_PER_POD));
    prev = clamp(Math.min(Math.ceil(prev * 2), Math.max(Math.floor(prev * 0.5), wanted)));
    out.push(prev);
  }
  return out;
}

/** Runs every policy over one trace. */
export function runTrace(trace: Trace, overrides: Partial<CapacityPlannerOptions> = {}): TraceRun {
  const y = trace.values;
  const n = y.length;
  const scoredFrom = n - SCORED_MINUTES;
  const from = scoredFrom - WARM_UP_MINUTES;
  if (from < 1440) throw new Error(`${trace.file}: needs at least a day of history before the last 2 days`);
  const series = () => new Float64Array(n);
  const targets = Object.fromEntries(POLICIES.map((p) => [p, series()])) as Record<PolicyName, Float64Array>;
  const nan = () => new Float64Array(n).fill(NaN);
  const errors: Partial<Record<PolicyName, { f1: Float64Array; f5: Float64Array }>> = {
    persistence: { f1: nan(), f5: nan() },
    'kedastral-baseline': { f1: nan(), f5: nan() },
    ours: { f1: nan(), f5: nan() },
  };
  const record = (policy: PolicyName, t: number, forecast: readonly number[]) => {
    const e = errors[policy]!;
    if (t + 1 < n) e.f1[t + 1] = forecast[0];
    if (t + 5 < n) e.f5[t + 5] = forecast[4];
  };

  const planner = createCapacityPlanner(
    evalPlannerOptions({ targetPerPod: TARGET_PER_POD, minReplicas: MIN_REPLICAS, maxReplicas: MAX_REPLICAS, leadMinutes: LEAD_MINUTES, stepSeconds: 60 }, overrides),
  );
  const chained: Partial<Record<PolicyName, number>> = { persistence: MIN_REPLICAS, 'kedastral-baseline': MIN_REPLICAS };
  const forecasters = {
    persistence: (t: number) => new Array<number>(LEAD_MINUTES + 1).fill(y[t]),
    'kedastral-baseline': (t: number) => kedastralBaseline(y, trace.timestamps, t, LEAD_MINUTES + 1),
  } as const;
  for (let t = from; t < n; t++) {
    const needed = clamp(Math.ceil(y[t] / TARGET_PER_POD));
    let reactive = needed;
    // Scale-down stabilisation: the highest need of the last 5 minutes (from the warm-up on).
    for (let j = Math.max(from, t - STABILISATION_MINUTES + 1); j < t; j++) reactive = Math.max(reactive, clamp(Math.ceil(y[j] / TARGET_PER_POD)));
    targets.reactive[t] = reactive;
    let peak = 0;
    for (let j = t + 1; j <= Math.min(n - 1, t + POD_START_MINUTES); j++) peak = Math.max(peak, y[j]);
    targets.oracle[t] = clamp(Math.ceil(peak / TARGET_PER_POD));
    for (const [policy, forecast] of Object.entries(forecasters) as [keyof typeof forecasters, (t: number) => number[]][]) {
      const f = forecast(t);
      const desired = kedastralReplicas(chained[policy]!, f);
      chained[policy] = desired[0];
      targets[policy][t] = Math.max(...desired);
      record(policy, t, f);
    }
    const plan = planner.plan(trace.timestamps.subarray(0, t + 1), y.subarray(0, t + 1));
    targets.ours[t] = clamp(Math.ceil(plan.replicas));
    targets['reactive+ours'][t] = Math.max(targets.ours[t], reactive);
    record('ours', t, plan.forecast);
  }

  const score = (R: Float64Array) => {
    let under = 0;
    let podMinutes = 0;
    for (let m = scoredFrom; m < n; m++) {
      if (Math.min(R[m - 2], R[m - 1]) * TARGET_PER_POD < y[m]) under++;
      podMinutes += R[m - 1];
    }
    return { under, podMinutes };
  };
  const mae = (f: Float64Array) => {
    let sum = 0;
    let count = 0;
    for (let m = scoredFrom; m < n; m++) {
      if (Number.isNaN(f[m])) continue;
      sum += Math.abs(f[m] - y[m]);
      count++;
    }
    return sum / count / TARGET_PER_POD;
  };
  const raw = Object.fromEntries(POLICIES.map((p) => [p, score(targets[p])])) as Record<PolicyName, { under: number; podMinutes: number }>;
  const results = Object.fromEntries(
    POLICIES.map((p) => {
      const e = errors[p];
      const result: PolicyResult = {
        ...raw[p],
        underVsReactive: raw.reactive.under ? raw[p].under / raw.reactive.under : null,
        podMinutesVsOracle: raw[p].podMinutes / raw.oracle.podMinutes,
        ...(e ? { mae1: mae(e.f1), mae5: mae(e.f5) } : {}),
      };
      return [p, result];
    }),
  ) as Record<PolicyName, PolicyResult>;
  return { results, from, targets, forecast1: errors.ours!.f1 };
}

/** The median of the finite numbers among `xs`, or null. */
export function median(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
