/** The work of `redis-keda cluster consistency-check`, loaded when it runs. */
import { ConsistencyChecker } from '../../cluster/consistency';
import { startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import { sleep } from '../../sleep';
import { ConsistencyArgs } from '../cluster';
import { runCommand, stopSignal } from '../common';
import { memberNodes, nodeConnectionOptions } from './cluster-nodes';

const REPORT_EVERY_MS = 1000;

export const run = runCommand<ConsistencyArgs>(async (args, log) => {
  const nodes = await memberNodes(args);
  const stop = stopSignal(log);
  const registry = createRegistry();
  const checker = new ConsistencyChecker({
    nodes,
    connection: nodeConnectionOptions(args),
    keys: args.keys,
    prefix: args['key-prefix'],
    rate: args.rate,
    log,
    registry,
  });
  const server = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !stop.signal.aborted, isReady: () => checker.ready });
  const deadline = args.duration === undefined ? Infinity : Date.now() + args.duration * 1000;
  try {
    await checker.start();
    log.info('consistency check running', { keys: args.keys, prefix: args['key-prefix'], rate: args.rate, ...(args.duration ? { seconds: args.duration } : {}) });
    while (!stop.signal.aborted && Date.now() < deadline) {
      await sleep(Math.min(REPORT_EVERY_MS, deadline - Date.now()), stop.signal);
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...checker.tick() }) + '\n');
    }
    const summary = await checker.stop();
    process.stdout.write(JSON.stringify({ summary: true, time: new Date().toISOString(), ...summary }) + '\n');
    if (summary.lostWrites > 0) log.error('writes were lost', { lostWrites: summary.lostWrites });
    return args.duration !== undefined && summary.lostWrites > 0 ? 1 : 0;
  } finally {
    stop.dispose();
    await server.close();
  }
});
