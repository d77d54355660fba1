/** The work of `redis-keda loadgen`, loaded when it runs. */
import { readFileSync } from 'fs';
import { LoadPatternName } from '../../contract';
import { generateLoad, patternSchedule, RateSchedule, traceSchedule } from '../../demo/load-generator';
import { LOAD_PATTERN_FUNCTIONS } from '../../demo/patterns';
import { parseTrace } from '../../demo/trace';
import { startHealthServer } from '../../http/health-server';
import { createRegistry } from '../../http/registry';
import type { Logger } from '../../log';
import { runCommand, stopSignal } from '../common';
import { LoadgenArgs, parseStart } from '../loadgen';

function schedule(args: LoadgenArgs, t0Ms: number): RateSchedule {
  const scales = { t0Ms, timeScale: args['time-scale'], rateScale: args['rate-scale'] };
  if (args.trace !== undefined) {
    const trace = parseTrace(readFileSync(args.trace, 'utf8'), args.trace);
    const startOffset = args.start === undefined ? 0 : parseStart(args.start) / 1000 - trace.timestamps[0];
    return traceSchedule(trace, { ...scales, startOffset });
  }
  const startMs = args.start === undefined ? t0Ms : parseStart(args.start);
  return patternSchedule(LOAD_PATTERN_FUNCTIONS[args.pattern as LoadPatternName], { ...scales, startMs });
}

async function runLoadgen(args: LoadgenArgs, log: Logger): Promise<number> {
  const t0Ms = Date.now();
  const rates = schedule(args, t0Ms);
  const stop = stopSignal(log);
  // SIGTERM or the end of --duration, whichever comes first.
  const controller = new AbortController();
  stop.signal.addEventListener('abort', () => controller.abort());
  const timer = args.duration === undefined ? undefined : setTimeout(() => controller.abort(), args.duration * 1000);
  const registry = createRegistry();
  const health = await startHealthServer({ port: args['metrics-port'], registry, log, isHealthy: () => !controller.signal.aborted });
  try {
    const url = `${args.target!.replace(/\/+$/, '')}${args.path}`;
    const counts = await generateLoad({ url, schedule: rates, timeoutMs: args.timeout, registry, log, signal: controller.signal });
    log.info('load generator stopped', { ...counts });
    process.stdout.write(`${JSON.stringify(counts)}\n`);
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    await health.close();
    stop.dispose();
  }
}

export const run = runCommand(runLoadgen);
