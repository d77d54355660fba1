/**
 * The publisher's rate read from a file and followed live. The kubelet updates a mounted ConfigMap
 * by writing a new timestamped directory and renaming a `..data` symlink over the old one: the
 * file's own inode never changes, so the directory is watched, not the file, and a cheap periodic
 * re-read catches any event fs.watch misses (some filesystems send none).
 */
import { FSWatcher, readFile, watch } from 'fs';
import { dirname } from 'path';
import { RATE_FILE_POLL_SECONDS } from '../contract';
import { errorMessage, Logger } from '../log';

/** A rate that can change while the publisher runs. */
export interface RateSource {
  /** Events per second now; 0 pauses the publisher. */
  current(): number;
  /** Calls `listener` after each change of {@link current}; returns a function that removes it. */
  onChange(listener: () => void): () => void;
  close(): void;
}

/** A rate that never changes. */
export function fixedRate(rate: number): RateSource {
  return { current: () => rate, onChange: () => () => undefined, close: () => undefined };
}

/** A rate from a file's content: a number of events per second, at least 0 (surrounding blanks allowed). */
export function parseRate(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const rate = Number(trimmed);
  return Number.isFinite(rate) && rate >= 0 ? rate : undefined;
}

export interface RateFileOptions {
  readonly path: string;
  /** The rate until the file gives a valid one. @default 0 (paused) */
  readonly initial?: number;
  readonly log: Logger;
  /** @default RATE_FILE_POLL_SECONDS * 1000 */
  readonly pollMs?: number;
}

/**
 * Reads `path` now and after every change in its directory (and every `pollMs`). A missing file or
 * a malformed value keeps the last good rate and is logged once per distinct content, never thrown.
 */
export async function watchRateFile(options: RateFileOptions): Promise<RateSource> {
  const { path, log } = options;
  let rate = options.initial ?? 0;
  // What the file held at the last read (or the read error), so a warning is logged once per change.
  let lastSeen: string | undefined;
  let closed = false;
  const listeners = new Set<() => void>();

  const read = () =>
    new Promise<void>((resolve) => {
      readFile(path, 'utf8', (error, text) => {
        if (closed) return resolve();
        const seen = error ? `error: ${error.code ?? errorMessage(error)}` : text;
        if (seen === lastSeen) return resolve();
        lastSeen = seen;
        const parsed = error ? undefined : parseRate(text);
        if (parsed === undefined) {
          const problem = error
            ? `cannot be read (${error.code ?? errorMessage(error)})`
            : `does not hold a rate (a number of events per second, at least 0): ${JSON.stringify(text.slice(0, 80))}`;
          log.warn(`rate file ${problem}; keeping the rate`, { rateFile: path, rate });
        } else if (parsed !== rate) {
          log.info('rate changed', { rateFile: path, from: rate, rate: parsed });
          rate = parsed;
          for (const listener of listeners) listener();
        }
        resolve();
      });
    });

  // One read at a time, so an older content never lands after a newer one.
  let reading: Promise<void> | undefined;
  let again = false;
  const refresh = (): void => {
    if (reading) {
      again = true;
      return;
    }
    reading = read().finally(() => {
      reading = undefined;
      if (again) {
        again = false;
        refresh();
      }
    });
  };

  await read();
  let watcher: FSWatcher | undefined;
  try {
    // Any event in the directory (the `..data` rename, an edit in place) triggers a re-read.
    watcher = watch(dirname(path), { persistent: false }, () => refresh());
    watcher.on('error', (error) => log.warn('cannot watch the rate file directory; re-reading it periodically only', { rateFile: path, error: errorMessage(error) }));
  } catch (error) {
    log.warn('cannot watch the rate file directory; re-reading it periodically only', { rateFile: path, error: errorMessage(error) });
  }
  const poll = setInterval(refresh, options.pollMs ?? RATE_FILE_POLL_SECONDS * 1000);
  poll.unref();

  return {
    current: () => rate,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      closed = true;
      clearInterval(poll);
      watcher?.close();
    },
  };
}
