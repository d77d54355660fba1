/**
 * The forecaster's workloads: one from the flags (FORECAST_* env), or many from a config file (JSON or YAML, the
 * contract's {@link ForecasterConfig}). Every field is checked before anything runs; an error names the workload,
 * the field and the value (a usage error: exit 2).
 */
import { readFileSync } from 'fs';
import { load } from 'js-yaml';
import { UsageError } from '../config';
import { FORECAST_DEFAULTS, ForecastWorkloadConfig, WORKLOAD_NAME_PATTERN } from '../contract';
import { createCapacityPlanner, PlannerOptionError } from '../forecast';
import type { CapacityPlannerOptions } from '../forecast';
import { resolvePlannerOptions } from '../forecast/options';

/** A workload with every default applied, and the options its planner is made with. */
export type ForecastWorkload = Readonly<Required<Omit<ForecastWorkloadConfig, 'headroom' | 'quantile' | 'model'>>> & {
  /** The planner plans the whole horizon (its lead time); the band stops widening at the workload's lead time. */
  readonly planner: CapacityPlannerOptions;
};

/** The most points per series Prometheus returns for one range query (it refuses more). */
const PROMETHEUS_MAX_POINTS = 11_000;

/** The fields of a workload the file may hold. */
const FIELDS = [
  'name',
  'query',
  'targetPerPod',
  'minReplicas',
  'maxReplicas',
  'leadTimeSeconds',
  'intervalSeconds',
  'stepSeconds',
  'windowSeconds',
  'horizonSeconds',
  'staleAfterSeconds',
  'headroom',
  'quantile',
  'model',
] as const satisfies readonly (keyof ForecastWorkloadConfig)[];

/** The planner's own option names (what `model` may set). */
const PLANNER_OPTIONS = Object.keys(resolvePlannerOptions({ targetPerPod: 1, maxReplicas: 1, leadTimeSeconds: 60 }));
/** Planner options that are fields of the workload itself (set there, not in `model`). */
const WORKLOAD_OWNED: readonly string[] = ['targetPerPod', 'minReplicas', 'maxReplicas', 'leadTimeSeconds', 'stepSeconds', 'headroom', 'quantile'];

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

/**
 * Checks one workload (`where` says where it came from, e.g. `workloads[1]`) and applies the defaults. `spelled`
 * names a field as the user wrote it (a flag, for the flags' workload).
 */
export function resolveWorkload(raw: unknown, where: string, spelled: (field: string) => string = (field) => `'${field}'`): ForecastWorkload {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${where}: a workload must be an object, got ${show(raw)}`);
  const w = raw as Record<string, unknown>;
  const name = w.name;
  const who = typeof name === 'string' ? `workload '${name}' (${where})` : where;
  const fail = (field: string, value: unknown, valid: string): never => {
    throw new UsageError(value === undefined ? `${who}: ${spelled(field)} is missing; it ${valid}` : `${who}: ${spelled(field)} (${show(value)}) ${valid}`);
  };
  for (const key of Object.keys(w)) if (!(FIELDS as readonly string[]).includes(key)) fail(key, w[key], `is not a field of a workload; the fields are ${FIELDS.join(', ')}`);
  if (typeof name !== 'string' || !WORKLOAD_NAME_PATTERN.test(name)) fail('name', name, 'must be a DNS label: lower-case letters, digits and -, at most 63');
  if (typeof w.query !== 'string' || w.query.trim() === '') fail('query', w.query, 'must be a PromQL expression');
  const number = (field: string, fallback: number | undefined, ok: (n: number) => boolean, valid: string): number => {
    const value = w[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) return fail(field, w[field], valid);
    return value;
  };
  const targetPerPod = number('targetPerPod', undefined, (n) => n > 0, 'must be a positive number');
  const minReplicas = number('minReplicas', undefined, (n) => Number.isInteger(n) && n >= 0, 'must be an integer of at least 0');
  const maxReplicas = number(
    'maxReplicas',
    undefined,
    (n) => Number.isInteger(n) && n >= Math.max(1, minReplicas),
    `must be an integer of at least 1 and of 'minReplicas' (${minReplicas})`,
  );
  const stepSeconds = number('stepSeconds', FORECAST_DEFAULTS.stepSeconds, (n) => Number.isInteger(n) && n >= 1, 'must be a whole number of seconds, at least 1');
  const leadTimeSeconds = number('leadTimeSeconds', undefined, (n) => n >= stepSeconds, `must be at least 'stepSeconds' (${stepSeconds})`);
  const intervalSeconds = number('intervalSeconds', FORECAST_DEFAULTS.intervalSeconds, (n) => n > 0, 'must be a positive number of seconds');
  const windowSeconds = number(
    'windowSeconds',
    FORECAST_DEFAULTS.windowSeconds,
    (n) => n >= stepSeconds && n / stepSeconds < PROMETHEUS_MAX_POINTS,
    `must be at least 'stepSeconds' (${stepSeconds}) and under ${PROMETHEUS_MAX_POINTS} steps (${stepSeconds * PROMETHEUS_MAX_POINTS} s): Prometheus refuses a range query of more points`,
  );
  const staleAfterSeconds = number(
    'staleAfterSeconds',
    FORECAST_DEFAULTS.staleAfterSeconds,
    (n) => n > Math.max(stepSeconds, intervalSeconds),
    `must be more than 'stepSeconds' (${stepSeconds}) and 'intervalSeconds' (${intervalSeconds}): a forecast would go stale before the next one is written`,
  );
  const horizonSeconds = number(
    'horizonSeconds',
    // A forecast keeps reaching now + leadTime until it is stale, so the scaler refuses it for its age, not its length.
    Math.ceil((leadTimeSeconds + staleAfterSeconds) / stepSeconds) * stepSeconds,
    (n) => n >= leadTimeSeconds && n % stepSeconds === 0,
    `must be a whole number of steps (${stepSeconds} s) of at least 'leadTimeSeconds' (${leadTimeSeconds}): the scaler looks that far ahead`,
  );
  const model = w.model ?? {};
  if (model === null || typeof model !== 'object' || Array.isArray(model)) fail('model', model, "must be an object of the capacity planner's options");
  for (const [key, value] of Object.entries(model as Record<string, unknown>)) {
    if (WORKLOAD_OWNED.includes(key)) fail(`model.${key}`, value, `is a field of the workload itself: set '${key}' there`);
    if (!PLANNER_OPTIONS.includes(key))
      fail(`model.${key}`, value, `is not an option of the capacity planner; its options are ${PLANNER_OPTIONS.filter((o) => !WORKLOAD_OWNED.includes(o)).join(', ')}`);
  }
  const planner: CapacityPlannerOptions = {
    targetPerPod,
    minReplicas,
    maxReplicas,
    leadTimeSeconds: horizonSeconds,
    stepSeconds,
    podStartSeconds: leadTimeSeconds,
    ...(w.headroom === undefined ? {} : { headroom: w.headroom as number }),
    ...(w.quantile === undefined ? {} : { quantile: w.quantile as number }),
    ...(model as Partial<CapacityPlannerOptions>),
  };
  try {
    createCapacityPlanner(planner);
  } catch (error) {
    if (!(error instanceof PlannerOptionError)) throw error;
    const [, option] = /'([^']+)'/.exec(error.message) ?? [];
    const field = option === undefined || WORKLOAD_OWNED.includes(option) ? '' : 'model.';
    throw new UsageError(`${who}: ${error.message.replace(/^capacity planner: '([^']+)'/, (_, name: string) => spelled(`${field}${name}`))}`);
  }
  return {
    name: name as string,
    query: w.query as string,
    targetPerPod,
    minReplicas,
    maxReplicas,
    leadTimeSeconds,
    intervalSeconds,
    stepSeconds,
    windowSeconds,
    horizonSeconds,
    staleAfterSeconds,
    planner,
  };
}

/** Checks a whole config (`where`: its file) and returns its Prometheus URL (if any) and workloads; names must be unique. */
export function resolveConfig(raw: unknown, where: string): { prometheus?: string; workloads: ForecastWorkload[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new UsageError(`${where}: must be an object { "prometheus": ..., "workloads": [...] }, got ${show(raw)}`);
  const config = raw as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (key !== 'prometheus' && key !== 'workloads') throw new UsageError(`${where}: '${key}' is not a field of the forecaster's config; the fields are prometheus, workloads`);
  }
  if (config.prometheus !== undefined && typeof config.prometheus !== 'string') throw new UsageError(`${where}: 'prometheus' (${show(config.prometheus)}) must be a URL`);
  if (!Array.isArray(config.workloads) || config.workloads.length === 0) throw new UsageError(`${where}: 'workloads' (${show(config.workloads)}) must be a non-empty list`);
  const workloads = config.workloads.map((w, i) => resolveWorkload(w, `${where}: workloads[${i}]`));
  const seen = new Set<string>();
  for (const [i, w] of workloads.entries()) {
    if (seen.has(w.name)) throw new UsageError(`${where}: workloads[${i}]: 'name' ('${w.name}') is given to another workload already`);
    seen.add(w.name);
  }
  return { prometheus: config.prometheus as string | undefined, workloads };
}

/** Reads and checks a config file: JSON or YAML (YAML's parser reads both). */
export function loadConfigFile(file: string): { prometheus?: string; workloads: ForecastWorkload[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the forecaster's config ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = load(text, { filename: file });
  } catch (error) {
    throw new UsageError(`the forecaster's config ${file} is neither JSON nor YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return resolveConfig(parsed, file);
}
