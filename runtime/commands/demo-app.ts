/** `redis-keda demo-app`: the example's app, answering HTTP requests and counting them for Prometheus. */
import type { CommandModule } from 'yargs';
import { Commands, DEMO_APP_PORT, DemoAppMetrics, Env } from '../contract';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues } from '../config';
import { lazyHandler } from './lazy';
import { METRICS_OPTIONS } from './options';

const OPTIONS = {
  port: { env: Env.DEMO_APP_PORT, type: 'number', integer: true, min: 0, max: 65535, default: DEMO_APP_PORT, describe: 'Port of the app (0: any free port, logged)' },
  latency: {
    env: Env.DEMO_APP_LATENCY,
    type: 'number',
    min: 0,
    max: MAX_DURATION_SECONDS * 1000,
    default: 0,
    describe: 'Milliseconds each request waits before its answer (/api/heavy four times as long)',
  },
  ...METRICS_OPTIONS,
} satisfies Record<string, EnvOption>;

export type DemoAppArgs = OptionValues<typeof OPTIONS>;

export const demoAppCommand: CommandModule = {
  command: Commands.DEMO_APP,
  describe: `Answer HTTP requests (/, /api/task, /api/heavy) and count them in ${DemoAppMetrics.REQUESTS} on /metrics`,
  builder: (yargs) => addEnvOptions(yargs, OPTIONS).example('$0 demo-app --port 8080 --latency 50', 'the example app, 50 ms a request'),
  handler: lazyHandler(() => import('./run/demo-app')),
};
