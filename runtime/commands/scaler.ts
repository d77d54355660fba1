/** `redis-keda scaler`: KEDA's external scaler over gRPC, answering from the forecasts in Redis. */
import type { CommandModule } from 'yargs';
import { Commands, EXTERNAL_SCALER_PORT, Env, SCALER_DEFAULTS, SCALER_TLS_DIR, ScalerMetadata } from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { lazyHandler } from './lazy';
import { METRICS_OPTIONS, REDIS_EPILOGUE, REDIS_OPTIONS } from './options';

const OPTIONS = {
  port: {
    env: Env.SCALER_PORT,
    type: 'number',
    integer: true,
    min: 0,
    max: 65535,
    default: EXTERNAL_SCALER_PORT,
    describe: 'Port of the gRPC service externalscaler.ExternalScaler, on all interfaces (0: any free port, logged)',
  },
  deadline: {
    env: Env.SCALER_DEADLINE,
    type: 'number',
    integer: true,
    min: 1,
    max: 600_000,
    default: SCALER_DEFAULTS.deadlineMs,
    describe: 'Milliseconds a read of a forecast from Redis may take (KEDA sets no deadline); a slower Redis ends the call with DEADLINE_EXCEEDED',
  },
  'stale-after': {
    env: Env.SCALER_STALE_AFTER,
    type: 'number',
    above: 0,
    max: MAX_DURATION_SECONDS,
    default: SCALER_DEFAULTS.staleAfterSeconds,
    describe: `Seconds after its generatedAt at which a forecast is refused (FAILED_PRECONDITION), unless the trigger metadata's '${ScalerMetadata.STALE_AFTER}' says otherwise`,
  },
  'tls-dir': {
    env: Env.SCALER_TLS_DIR,
    type: 'string',
    describe: `Serve TLS with tls.crt and tls.key of this folder (the ExternalScaler mounts ${SCALER_TLS_DIR}); with a ca.crt there, clients must present a certificate it signed`,
  },
  'stream-interval': {
    env: Env.SCALER_STREAM_INTERVAL,
    type: 'number',
    above: 0,
    max: 3600,
    default: SCALER_DEFAULTS.streamIntervalSeconds,
    describe: 'Seconds between two checks of a StreamIsActive call, which sends the state at once and then each change',
  },
  'cache-ttl': {
    env: Env.SCALER_CACHE_TTL,
    type: 'number',
    integer: true,
    min: 0,
    max: 60_000,
    default: SCALER_DEFAULTS.cacheTtlMs,
    describe: 'Milliseconds a forecast read from Redis is reused for the same workload (0: read on every call); staleness is checked on every call',
  },
  ...METRICS_OPTIONS,
  ...REDIS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type ScalerArgs = OptionValues<typeof OPTIONS>;

export const scalerCommand: CommandModule = {
  command: Commands.SCALER,
  describe: "Serve KEDA's external scaler (gRPC) from the forecasts in Redis: the largest desired replicas over each workload's lead time",
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .example('$0 scaler', `what the ExternalScaler Deployment runs (gRPC on ${EXTERNAL_SCALER_PORT}, /metrics on 9090)`)
      .example('$0 scaler --tls-dir /etc/redis-keda/scaler-tls', 'TLS, client certificates required when the folder holds ca.crt')
      .epilogue(
        `The trigger metadata names the workload ('${ScalerMetadata.WORKLOAD}'), and may set '${ScalerMetadata.LEAD_TIME}' (default: the forecast's own) and '${ScalerMetadata.STALE_AFTER}' ` +
          `(durations: 300s, 5m, 1m30s or plain seconds). Errors: INVALID_ARGUMENT bad metadata, NOT_FOUND no forecast, FAILED_PRECONDITION stale, unreadable or too short a forecast, ` +
          `UNAVAILABLE Redis down, DEADLINE_EXCEEDED past --deadline. ${REDIS_EPILOGUE}`,
      ),
  handler: lazyHandler(() => import('./run/scaler')),
};
