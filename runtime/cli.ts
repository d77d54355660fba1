#!/usr/bin/env node
/**
 * `redis-keda <command>`: the runtime programs the constructs' containers run (package.json
 * `bin`, the image's ENTRYPOINT). One module per command in ./commands.
 */
import { format } from 'util';
import yargs, { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { celerySendCommand } from './commands/celery-send';
import { celeryWorkerCommand } from './commands/celery-worker';
import { clusterCommand } from './commands/cluster';
import { consumeCommand } from './commands/consume';
import { forecasterCommand } from './commands/forecaster';
import { demoAppCommand } from './commands/demo-app';
import { loadgenCommand } from './commands/loadgen';
import { LOG_OPTIONS } from './commands/options';
import { publishCommand } from './commands/publish';
import { queueCommand } from './commands/queue';
import { scalerCommand } from './commands/scaler';
import { Commands, Env, VERSION } from './contract';
import { addEnvOptions, GENERAL_OPTIONS, rememberCommandLine, typedValue, UsageError } from './config';
import { createLogger, defaultLogFormat, errorMessage, flushStderr, isLogLevel, Logger } from './log';

/** Exit code of a usage error (yargs' own exit code would be 1, the code of a failure). */
export const USAGE_EXIT_CODE = 2;

const COMMANDS: readonly string[] = Object.values(Commands);

export function buildCli(args: string[]): Argv {
  rememberCommandLine(args);
  return (
    addEnvOptions(yargs(args), LOG_OPTIONS)
      .scriptName('redis-keda')
      .usage('$0 <command> [options]\n\nRuntime programs of cdk8s-redis-keda: publish and consume events on a Redis list that KEDA scales on, and run Celery tasks.')
      .command(publishCommand)
      .command(consumeCommand)
      .command(queueCommand)
      .command(celeryWorkerCommand)
      .command(celerySendCommand)
      .command(clusterCommand)
      .command(forecasterCommand)
      .command(scalerCommand)
      .command(demoAppCommand)
      .command(loadgenCommand)
      .demandCommand(1, `name a command: ${COMMANDS.join(', ')}`)
      .strict()
      .recommendCommands()
      .help()
      .alias('help', 'h')
      .version(VERSION)
      .group(['help', 'version'], GENERAL_OPTIONS)
      .wrap(process.stdout.columns ? Math.min(120, process.stdout.columns) : 100)
      // main() ends the process once stdout has drained, also after --help.
      .exitProcess(false)
      .fail((msg, error) => {
        // Command bodies catch their own failures (runCommand), so what arrives here is misuse.
        throw new UsageError(usageMessage(msg ?? error?.message ?? 'invalid command line', args));
      })
  );
}

/** yargs' message, made to say what was wrong with what was typed. */
export function usageMessage(msg: string, args: readonly string[]): string {
  const words = leadingWords(args);
  const unknown = words.find((w, i) => (i === 0 ? !COMMANDS.includes(w) : (words[0] === Commands.QUEUE || words[0] === Commands.CLUSTER) && i === 1));
  // recommendCommands() reports only its guess; the word typed is what the user must see.
  const guess = /^Did you mean (.+)\?$/.exec(msg);
  if (guess) return `unknown command${unknown ? ` '${unknown}'` : ''}; did you mean ${guess[1]}?`;
  const argument = /^Unknown arguments?: (.+)$/.exec(msg);
  if (argument && unknown && argument[1].split(', ').includes(unknown)) {
    return `unknown command '${words.slice(0, words.indexOf(unknown) + 1).join(' ')}'`;
  }
  return msg;
}

/** The command words typed before the first option. */
function leadingWords(args: readonly string[]): string[] {
  const end = args.findIndex((a) => a.startsWith('-'));
  return [...(end < 0 ? args : args.slice(0, end))];
}

/** The logger of what happens outside a command body (usage errors, warnings), in the format and level asked for. */
function cliLogger(): Logger {
  const level = typedValue('log-level') ?? process.env[Env.LOG_LEVEL];
  return createLogger({ level: isLogLevel(level) ? level : 'info', format: defaultLogFormat(typedValue('log-format') ?? process.env[Env.LOG_FORMAT]) });
}

/**
 * Warnings of Node (e.g. a timer overflow) and of libraries (ioredis writes its own with
 * console.warn / console.error) become log lines, so stderr holds nothing but log lines.
 */
function routeWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log.warn(warning.message, { warning: warning.name }));
  console.warn = (...parts: unknown[]) => log.warn(format(...parts));
  console.error = (...parts: unknown[]) => log.error(format(...parts));
}

/** Resolves once everything written to `stream` so far has been handed to the OS (or the stream failed). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.write('', () => resolve());
  });
}

/** A reader that went away (`| head`) ends the command quietly: what it wanted it has. */
function onOutputError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') {
    flushStderr();
    process.exit(0);
  }
  throw error;
}

/**
 * A failure outside every promise chain (an unhandled rejection, an error thrown from a callback) ends the
 * process as Node would (exit 1), but as a log line: a pod's logs stay JSON and say why it stopped.
 */
function logCrashes(log: Logger): void {
  const crash = (kind: string) => (error: unknown) => {
    log.error(`${kind}: ${errorMessage(error)}`, { stack: error instanceof Error ? error.stack : undefined });
    flushStderr();
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught error'));
  process.on('unhandledRejection', crash('unhandled rejection'));
}

async function main(): Promise<void> {
  const log = cliLogger();
  routeWarnings(log);
  logCrashes(log);
  process.stdout.on('error', onOutputError);
  // With nobody reading stderr there is no one to tell.
  process.stderr.on('error', () => undefined);
  let code: number;
  try {
    await buildCli(hideBin(process.argv)).parseAsync();
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof UsageError) {
      const [command] = leadingWords(hideBin(process.argv));
      log.error(`usage error: ${error.message}`, { help: `redis-keda ${COMMANDS.includes(command) ? command : '<command>'} --help` });
      code = USAGE_EXIT_CODE;
    } else {
      log.error(errorMessage(error));
      log.debug('stack of the error above', { stack: error instanceof Error ? error.stack : undefined });
      code = 1;
    }
  }
  // Output first (a pipe may be full: process.exit() would drop what is pending), then exit,
  // even if a user's handler left a timer or socket behind.
  flushStderr();
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

if (require.main === module) void main();
