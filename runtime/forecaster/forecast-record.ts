/**
 * A plan turned into the record `forecast:<workload>` holds (the contract's ForecastRecord). Pure.
 *
 * The planner's arrays start one step after now; the record's start at generatedAt (the plan's now, a step of the
 * grid). Its first point is what the plan one step earlier made for this instant, the forecast the planner's own
 * step limits chain from; with no earlier plan, the value measured now and the replicas the policy gives for it.
 */
import type { ForecastRecord } from '../contract';
import type { CapacityPlan } from '../forecast';
import { desiredReplicas } from '../forecast/capacity-policy';
import { resolvePlannerOptions } from '../forecast/options';
import type { ForecastWorkload } from './workload-config';

/** The model's name in records. */
export const MODEL_NAME = 'capacity-planner';

/** The first point of a record: the forecast for generatedAt itself. */
export interface PointNow {
  readonly value: number;
  readonly quantiles: Readonly<Record<string, number>>;
  readonly desiredReplicas: number;
}

/** The point for now from the plan made one step earlier. */
export function pointFromPlan(plan: CapacityPlan): PointNow {
  return {
    value: plan.forecast[0],
    quantiles: Object.fromEntries(Object.entries(plan.quantiles).map(([key, values]) => [key, values[0]])),
    desiredReplicas: plan.desiredReplicas[0],
  };
}

/** The point for now when no plan was made a step earlier: the measured value, and the policy's replicas for it. */
export function pointFromSample(workload: ForecastWorkload, plan: CapacityPlan, value: number): PointNow {
  return {
    value,
    quantiles: Object.fromEntries(Object.keys(plan.quantiles).map((key) => [key, value])),
    desiredReplicas: desiredReplicas(resolvePlannerOptions(workload.planner), [value], undefined)[0],
  };
}

export interface RecordInput {
  readonly workload: ForecastWorkload;
  /** The plan's now, unix seconds. */
  readonly generatedAt: number;
  readonly now: PointNow;
  readonly plan: CapacityPlan;
  /** Prometheus' URL without credentials. */
  readonly prometheus: string;
  readonly samples: number;
  /** Unix seconds of the newest sample. */
  readonly lastSampleAt: number;
  readonly writer: string;
}

export function forecastRecord(input: RecordInput): ForecastRecord {
  const { workload, plan, now } = input;
  return {
    workload: workload.name,
    metric: workload.query,
    generatedAt: new Date(input.generatedAt * 1000).toISOString(),
    step: workload.stepSeconds,
    horizon: workload.horizonSeconds,
    values: [now.value, ...plan.forecast],
    quantiles: Object.fromEntries(Object.entries(plan.quantiles).map(([key, values]) => [key, [now.quantiles[key], ...values]])),
    desiredReplicas: [now.desiredReplicas, ...plan.desiredReplicas],
    model: { name: MODEL_NAME, options: { ...workload.planner } },
    source: {
      prometheus: input.prometheus,
      query: workload.query,
      window: workload.windowSeconds,
      step: workload.stepSeconds,
      samples: input.samples,
      lastSampleAt: new Date(input.lastSampleAt * 1000).toISOString(),
    },
    leadTime: workload.leadTimeSeconds,
    writer: input.writer,
  };
}

/** The largest desired replicas over [generatedAt, generatedAt + leadTime]: what the scaler reports right after the write. */
export function leadTimeReplicas(record: ForecastRecord): number {
  return Math.max(...record.desiredReplicas.slice(0, Math.floor(record.leadTime / record.step) + 1));
}
