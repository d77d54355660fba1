/**
 * The capacity policy: forecast load per step -> desired replicas per step -> what the scaler reports. Pure.
 *
 * desired[k] = ceil(load[k] * headroom / targetPerPod), limited to `maxScaleUpFactor` times and to
 * `1 - maxScaleDownFraction` of the step before it (the first step is limited against `previous`, the previous
 * plan's first step), then clamped to [minReplicas, maxReplicas]. The scaler reports the largest desired count over
 * the lead time, so pods ordered now are ready when the load arrives.
 */

/** The sizing part of the options. */
export interface CapacityPolicy {
  readonly targetPerPod: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly headroom: number;
  readonly maxScaleUpFactor: number;
  readonly maxScaleDownFraction: number;
}

/** Floating-point noise (6.000000000000001 pods) must not order a seventh pod. */
const EPSILON = 1e-9;

/** Replicas desired at each forecast step, chained from `previous` (undefined: no limit on the first step). */
export function desiredReplicas(policy: CapacityPolicy, loads: readonly number[], previous: number | undefined): number[] {
  const out: number[] = [];
  let prev = previous;
  for (const load of loads) {
    let d = Math.ceil((Math.max(0, load) * policy.headroom) / policy.targetPerPod - EPSILON);
    if (prev !== undefined) {
      d = Math.min(d, Math.ceil(prev * policy.maxScaleUpFactor));
      d = Math.max(d, Math.floor(prev * (1 - policy.maxScaleDownFraction)));
    }
    d = Math.min(policy.maxReplicas, Math.max(policy.minReplicas, d));
    out.push(d);
    prev = d;
  }
  return out;
}

/** What the scaler reports now: the largest desired count over the lead time (`steps` points from now). */
export function leadTimeMax(desired: readonly number[], steps: number): number {
  return Math.max(...desired.slice(0, steps));
}
