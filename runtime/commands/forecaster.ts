/**
 * `redis-keda forecaster`: forecasts workloads from Prometheus into Redis (`forecast:<workload>`) for the external
 * scaler. One workload from the flags, or many from `--config` (the Forecaster's ConfigMap). Only the options here;
 * the work is in ./run/forecaster, loaded when it runs.
 */
import type { CommandModule } from 'yargs';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues, UsageError } from '../config';
import { Commands, Env, FORECAST_CONFIG_FILE, FORECAST_DEFAULTS, ForecasterPaths } from '../contract';
import { lazyHandler } from './lazy';
import { helpSections, METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

/** The options describing the one workload of the flags, by the field of ForecastWorkloadConfig each sets. */
export const WORKLOAD_FLAGS = {
  workload: { field: 'name', env: Env.FORECAST_WORKLOAD, type: 'string', describe: "The workload's name (a DNS label): its forecast is forecast:<name>" },
  query: { field: 'query', env: Env.FORECAST_QUERY, type: 'string', describe: 'PromQL giving one series: the load (e.g. sum(rate(http_requests_total[1m])))' },
  'target-per-pod': { field: 'targetPerPod', env: Env.FORECAST_TARGET_PER_POD, type: 'number', describe: 'Load one pod serves' },
  'min-replicas': { field: 'minReplicas', env: Env.FORECAST_MIN_REPLICAS, type: 'number', describe: 'Fewest replicas ever desired' },
  'max-replicas': { field: 'maxReplicas', env: Env.FORECAST_MAX_REPLICAS, type: 'number', describe: 'Most replicas ever desired' },
  'lead-time': {
    field: 'leadTimeSeconds',
    env: Env.FORECAST_LEAD_TIME,
    type: 'number',
    describe: 'Seconds ahead the scaler looks (max desired replicas over [now, now + lead time])',
  },
  interval: {
    field: 'intervalSeconds',
    env: Env.FORECAST_INTERVAL,
    type: 'number',
    max: MAX_DURATION_SECONDS,
    defaultDescription: String(FORECAST_DEFAULTS.intervalSeconds),
    describe: 'Seconds between runs (query, plan, write); the lease lasts three of them',
  },
  step: {
    field: 'stepSeconds',
    env: Env.FORECAST_STEP,
    type: 'number',
    defaultDescription: String(FORECAST_DEFAULTS.stepSeconds),
    describe: 'Seconds between two points of the history and of the forecast',
  },
  window: {
    field: 'windowSeconds',
    env: Env.FORECAST_WINDOW,
    type: 'number',
    defaultDescription: `${FORECAST_DEFAULTS.windowSeconds} (4 days)`,
    describe: 'Seconds of history queried each run',
  },
  horizon: {
    field: 'horizonSeconds',
    env: Env.FORECAST_HORIZON,
    type: 'number',
    defaultDescription: 'the lead time + the stale-after, in whole steps',
    describe: 'Seconds the forecast covers',
  },
  'stale-after': {
    field: 'staleAfterSeconds',
    env: Env.FORECAST_STALE_AFTER,
    type: 'number',
    defaultDescription: String(FORECAST_DEFAULTS.staleAfterSeconds),
    describe: "Seconds after its generatedAt at which a forecast is stale: the key's TTL ends it then",
  },
  headroom: { field: 'headroom', env: Env.FORECAST_HEADROOM, type: 'number', defaultDescription: "the planner's", describe: 'Factor over the sizing quantile' },
  quantile: { field: 'quantile', env: Env.FORECAST_QUANTILE, type: 'number', defaultDescription: "the planner's", describe: 'The quantile of the forecast that sizes the pods' },
  model: { field: 'model', env: Env.FORECAST_MODEL, type: 'string', describe: "Other options of the capacity planner, a JSON object (the config file's model)" },
} satisfies Record<string, EnvOption & { field: string }>;

const OPTIONS = {
  config: {
    env: Env.FORECAST_CONFIG,
    type: 'string',
    describe: `Config file of many workloads, JSON or YAML: {"prometheus": URL, "workloads": [{"name", "query", "targetPerPod", ...}]} (the Forecaster mounts it at ${FORECAST_CONFIG_FILE}); without it the workload flags describe one`,
  },
  'prometheus-url': {
    env: Env.PROMETHEUS_URL,
    type: 'string',
    sensitive: true,
    describe: "Prometheus' base URL, http(s)://[user:password@]host:port; wins over the config file's",
  },
  ...WORKLOAD_FLAGS,
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type ForecasterArgs = OptionValues<typeof OPTIONS>;

/** Which workload flags were given (flag or env). */
export function givenWorkloadFlags(args: Partial<Record<string, unknown>>): string[] {
  return Object.keys(WORKLOAD_FLAGS).filter((name) => args[name] !== undefined);
}

export const forecasterCommand: CommandModule = {
  command: Commands.FORECASTER,
  describe: `Forecast workloads' load from Prometheus into Redis (forecast:<workload>, with a TTL) for the external scaler; one replica writes each workload (a lease), the others stand by; ${ForecasterPaths.CURRENT}?workload=, ${ForecasterPaths.WORKLOADS}, /healthz, /readyz and /metrics`,
  builder: (yargs) =>
    helpSections(addEnvOptions(yargs, OPTIONS))
      .check((argv) => {
        const given = givenWorkloadFlags(argv);
        if (argv.config !== undefined && given.length > 0) {
          throw new UsageError(`give either --config (env ${Env.FORECAST_CONFIG}) or the workload flags, not both (given: --${given.join(', --')})`);
        }
        if (argv.config === undefined && argv.workload === undefined) {
          throw new UsageError(`name the workloads: --config <file> (env ${Env.FORECAST_CONFIG}), or --workload and its flags (env ${Env.FORECAST_WORKLOAD}, ...)`);
        }
        return true;
      })
      .example('$0 forecaster --config /etc/redis-keda/forecast/workloads.json', 'what the Forecaster Deployment runs')
      .example(
        '$0 forecaster --prometheus-url http://prometheus:9090 --workload api --query "sum(rate(http_requests_total[1m]))" --target-per-pod 50 --min-replicas 1 --max-replicas 20 --lead-time 300',
        'one workload from flags',
      )
      .epilogue(REDIS_EPILOGUE),
  handler: lazyHandler(() => import('./run/forecaster')),
};
