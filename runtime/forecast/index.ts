/** The forecasting core: pure models and the capacity policy, no IO. */
export { createCapacityPlanner } from './planner';
export type { CapacityPlan, CapacityPlanner } from './planner';
export { PlannerOptionError, quantileKey } from './options';
export type { CapacityPlannerOptions } from './options';
