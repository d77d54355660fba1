/**
 * The product's planner as a whole-policy plug-in of ../shared/tools/forecast-eval (its `--policy` format):
 *
 *   npm run build && node ../shared/tools/forecast-eval/eval.js --policy lib/runtime/forecast/eval-policy.js
 *
 * A few lines over createCapacityPlanner with its defaults and eval.js' pod start; FORECAST_OPTIONS (JSON) overrides
 * options when tuning (bench:forecast plans with the same options).
 */
import type { CapacityPlannerOptions } from './options';
import { createCapacityPlanner } from './planner';

/** The policy's name in eval.js' tables. */
export const name = 'redis-keda';

/** What eval.js passes to `create`. */
export interface EvalPolicyContext {
  readonly targetPerPod: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly leadMinutes: number;
  readonly stepSeconds: number;
}

/** eval.js' timing: a pod ordered at the end of a minute serves two minutes later. */
const POD_START_SECONDS = 120;

/** The planner's options for eval.js' context (bench/forecast.ts plans with the same). */
export function evalPlannerOptions(ctx: EvalPolicyContext, overrides: Partial<CapacityPlannerOptions> = {}): CapacityPlannerOptions {
  return {
    targetPerPod: ctx.targetPerPod,
    minReplicas: ctx.minReplicas,
    maxReplicas: ctx.maxReplicas,
    leadTimeSeconds: ctx.leadMinutes * 60,
    stepSeconds: ctx.stepSeconds,
    podStartSeconds: POD_START_SECONDS,
    ...overrides,
  };
}

/** One planner per trace; eval.js calls the returned function once per minute with the history so far. */
export function create(ctx: EvalPolicyContext): (values: ArrayLike<number>, ts: ArrayLike<number>) => number {
  const planner = createCapacityPlanner(evalPlannerOptions(ctx, process.env.FORECAST_OPTIONS ? JSON.parse(process.env.FORECAST_OPTIONS) : {}));
  return (values, ts) => planner.plan(ts, values).replicas;
}
