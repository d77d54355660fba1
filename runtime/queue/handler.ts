/**
 * What a consumer does with each event: the demo's sleep, or a user's module (`--handler`).
 *
 * A handler module exports `async (event, context) => void` as its default export, as
 * `module.exports` itself, or as a named export `handle`. It finishes the event by returning and
 * fails it by throwing (the event is retried with backoff, then dead-lettered). CommonJS and ES
 * modules both load.
 */
import { resolve } from 'path';
import { pathToFileURL } from 'url';
import type { QueueEvent } from '../contract';
import type { Logger } from '../log';
import { sleep } from '../sleep';

export interface HandlerContext {
  /** The event exactly as published. */
  readonly raw: string;
  /** This delivery's claim token. */
  readonly token: string;
  /** 1 for the first delivery; more when consumers died holding this event before. */
  readonly delivery: number;
  /** A logger that tags lines with the event id. */
  readonly log: Logger;
}

export type EventHandler = (event: QueueEvent, context: HandlerContext) => Promise<void> | void;

/** The demo: sleeps `wait * sleepScale` seconds. */
export function demoHandler(sleepScale = 1): EventHandler {
  return async (event, context) => {
    const seconds = event.wait * sleepScale;
    context.log.info('working on event', { seconds });
    await sleep(seconds * 1000);
  };
}

/** Loads a handler module, resolved against `cwd`; throws saying what the module should export. */
export async function loadHandler(modulePath: string, cwd: string = process.cwd()): Promise<EventHandler> {
  const path = resolve(cwd, modulePath);
  let loaded: unknown;
  try {
    loaded = require(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw new Error(`cannot load handler '${path}': ${(error as Error).message}`);
    loaded = await importEsm(pathToFileURL(path).href);
  }
  const candidates = [loaded, (loaded as { default?: unknown })?.default, (loaded as { handle?: unknown })?.handle];
  const handler = candidates.find((c): c is EventHandler => typeof c === 'function');
  if (!handler) {
    throw new Error(`handler '${path}' exports no function: export one as default, as module.exports, or as 'handle'`);
  }
  return handler;
}

// TypeScript compiles import() to require() for CommonJS output; this keeps a real import().
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
