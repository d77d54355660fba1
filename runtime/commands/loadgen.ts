/** `redis-keda loadgen`: HTTP load by one of the example's patterns, or a trace replayed, against a target URL. */
import type { CommandModule } from 'yargs';
import { Commands, DEFAULT_LOADGEN_TIMEOUT_MS, DemoAppPaths, Env, LOAD_PATTERNS } from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { lazyHandler } from './lazy';
import { METRICS_OPTIONS } from './options';

const OPTIONS = {
  target: { env: Env.LOADGEN_TARGET_URL, type: 'string', describe: 'Base URL of the app, e.g. http://api:8080 (required)' },
  path: { env: Env.LOADGEN_PATH, type: 'string', default: DemoAppPaths.TASK, describe: 'Path requested' },
  pattern: { env: Env.LOADGEN_PATTERN, type: 'string', choices: LOAD_PATTERNS, describe: 'The load pattern (give this or --trace)' },
  trace: { env: Env.LOADGEN_TRACE_FILE, type: 'string', describe: 'A ts,value CSV (unix seconds, requests per second) replayed in a loop (give this or --pattern)' },
  'time-scale': {
    env: Env.LOADGEN_TIME_SCALE,
    type: 'number',
    above: 0,
    max: 1e6,
    default: 1,
    describe: 'Pattern seconds per wall-clock second (60: an hour of the pattern in a minute)',
  },
  'rate-scale': { env: Env.LOADGEN_RATE_SCALE, type: 'number', min: 0, max: 1e6, default: 1, describe: 'Factor on the rate the pattern or trace gives' },
  start: {
    env: Env.LOADGEN_START,
    type: 'string',
    describe: "Where the pattern's (or trace's) clock starts, ISO 8601 or unix seconds",
    defaultDescription: 'now (a trace: its first row)',
  },
  duration: {
    env: Env.LOADGEN_DURATION,
    type: 'number',
    above: 0,
    max: MAX_DURATION_SECONDS,
    describe: 'Seconds to run, then print {"sent", "failed"} and exit 0 (default: until SIGTERM)',
  },
  timeout: {
    env: Env.LOADGEN_TIMEOUT,
    type: 'number',
    above: 0,
    max: MAX_DURATION_SECONDS * 1000,
    default: DEFAULT_LOADGEN_TIMEOUT_MS,
    describe: 'Milliseconds a request may take before it counts as failed',
  },
  ...METRICS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type LoadgenArgs = OptionValues<typeof OPTIONS>;

/** `--start` in milliseconds since the epoch, or an error saying what was given. */
export function parseStart(start: string): number {
  const ms = /^\d+(\.\d+)?$/.test(start) ? Number(start) * 1000 : Date.parse(start);
  if (!Number.isFinite(ms)) throw new Error(`--start (env ${Env.LOADGEN_START}) ${JSON.stringify(start)} is neither ISO 8601 nor unix seconds`);
  return ms;
}

export const loadgenCommand: CommandModule = {
  command: Commands.LOADGEN,
  describe: 'Send HTTP requests at the rate a load pattern or a trace gives for now; /metrics counts them',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .check((argv) => {
        const args = argv as unknown as LoadgenArgs;
        if (!args.target) throw new Error(`give --target (env ${Env.LOADGEN_TARGET_URL})`);
        if (!/^https?:\/\/[^/\s]+/.test(args.target)) throw new Error(`--target ${JSON.stringify(args.target)} must be an http:// or https:// URL`);
        if ((args.pattern === undefined) === (args.trace === undefined))
          throw new Error(`give one of --pattern (env ${Env.LOADGEN_PATTERN}) and --trace (env ${Env.LOADGEN_TRACE_FILE})`);
        if (!args.path.startsWith('/')) throw new Error(`--path ${JSON.stringify(args.path)} must begin with /`);
        if (args.start !== undefined) parseStart(args.start);
        return true;
      })
      .example('$0 loadgen --target http://api:8080 --pattern hourly-spike', "the example API app's load")
      .example('$0 loadgen --target http://localhost:8080 --pattern business-hours --time-scale 3600 --start 2026-12-02T08:00:00Z --duration 10', 'a business day in 10 seconds'),
  handler: lazyHandler(() => import('./run/loadgen')),
};
