#!/usr/bin/env node
/**
 * `redis-keda <command>`: the runtime programs the constructs' containers run (package.json
 * `bin`, the image's ENTRYPOINT). One module per command in ./commands.
 */
import yargs, { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { celerySendCommand } from './commands/celery-send';
import { celeryWorkerCommand } from './commands/celery-worker';
import { consumeCommand } from './commands/consume';
import { LOG_OPTIONS } from './commands/common';
import { publishCommand } from './commands/publish';
import { queueCommand } from './commands/queue';
import { VERSION } from './contract';
import { addEnvOptions } from './config';
import { createLogger } from './log';

/** Exit code of a usage error (yargs' own exit code would be 1, the code of a failure). */
export const USAGE_EXIT_CODE = 2;

export function buildCli(args: string[]): Argv {
  return addEnvOptions(yargs(args), LOG_OPTIONS)
    .scriptName('redis-keda')
    .usage('$0 <command> [options]\n\nRuntime programs of cdk8s-redis-keda: publish and consume events on a Redis list that KEDA scales on, and run Celery tasks.')
    .command(publishCommand)
    .command(consumeCommand)
    .command(queueCommand)
    .command(celeryWorkerCommand)
    .command(celerySendCommand)
    .demandCommand(1, 'name a command: publish, consume, queue, celery-worker or celery-send')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(process.stdout.columns ? Math.min(120, process.stdout.columns) : 100)
    .fail((msg, error) => {
      // Command bodies catch their own failures (runCommand), so what arrives here is misuse.
      createLogger().error(`usage error: ${msg ?? error?.message}`, { help: 'redis-keda <command> --help' });
      process.exit(USAGE_EXIT_CODE);
    });
}

async function main(): Promise<void> {
  await buildCli(hideBin(process.argv)).parseAsync();
  // Exit even if a user's handler left a timer or socket behind.
  process.exit(process.exitCode ?? 0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    createLogger().error(error instanceof Error ? error.message : String(error), { stack: error instanceof Error ? error.stack : undefined });
    process.exit(1);
  });
}
