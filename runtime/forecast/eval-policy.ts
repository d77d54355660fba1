/**
 * The product's planner as a whole-policy plug-in of ../shared/tools/forecast-eval (its `--policy` format):
 *
 *   npm run build && node ../shared/tools/forecast-eval/eval.js --policy lib/runtime/forecast/eval-policy.js
 *
 * A few lines over createCapacityPlanner with its defaults; FORECAST_OPTIONS (JSON) overrides options when tuning.
 */
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

/** One planner per trace; eval.js calls the returned function once per minute with the history so far. */
export function create(ctx: EvalPolicyContext): (values: ArrayLike<number>, ts: ArrayLike<number>) => number {
  const planner = createCapacityPlanner({
    targetPerPod: ctx.targetPerPod,
    minReplicas: ctx.minReplicas,
    maxReplicas: ctx.maxReplicas,
    leadTimeSeconds: ctx.leadMinutes * 60,
    stepSeconds: ctx.stepSeconds,
    ...(process.env.FORECAST_OPTIONS ? JSON.parse(process.env.FORECAST_OPTIONS) : {}),
  });
  return (values, ts) => planner.plan(ts, values).replicas;
}
