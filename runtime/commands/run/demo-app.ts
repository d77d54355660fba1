/** The work of `redis-keda demo-app`, loaded when it runs. */
import { Env } from '../../contract';
import { startDemoApp } from '../../demo/demo-app';
import { startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import type { Logger } from '../../log';
import { sleep } from '../../sleep';
import { runCommand, stopSignal } from '../common';
import type { DemoAppArgs } from '../demo-app';

async function serveDemoApp(args: DemoAppArgs, log: Logger): Promise<number> {
  const stop = stopSignal(log);
  const registry = createRegistry();
  const health = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted });
  try {
    const app = await startDemoApp({ port: args.port, latencyMs: args.latency, registry, log, pod: process.env[Env.POD_NAME] });
    await sleep(Infinity, stop.signal);
    await app.close();
    return 0;
  } finally {
    await health.close();
    stop.dispose();
  }
}

export const run = runCommand(serveDemoApp);
