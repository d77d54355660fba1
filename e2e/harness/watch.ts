/** Watches of the cluster as admin, for tests that record what controllers do over time. */
import { join } from 'path';
import type { ControlPlane } from './control-plane';
import { ApiClient, WatchEvent } from './node-agent/api';

/** An API client as the cluster admin (system:masters). */
export function adminApi(plane: ControlPlane): ApiClient {
  return new ApiClient(plane.access.server, plane.access.caFile, { cert: join(plane.pkiDir, 'admin.crt'), key: join(plane.pkiDir, 'admin.key') });
}

const SYNC_TIMEOUT_MS = 30_000;

/** A watch of objects: `synced` resolves once the first list was passed on; every change after it is seen. */
export interface ObjectWatch {
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A list-and-watch of `path` (e.g. `/apis/batch/v1/namespaces/x/jobs`) calling `onEvent` until stop().
 * A test that records changes awaits `synced` before it makes them: a list made after them would show
 * only where they ended.
 */
export function watchObjects<T extends { metadata: { resourceVersion?: string } }>(plane: ControlPlane, path: string, onEvent: (event: WatchEvent<T>) => void): ObjectWatch {
  const api = adminApi(plane);
  const abort = new AbortController();
  let listed!: () => void;
  let lastError: unknown;
  let timer: NodeJS.Timeout | undefined;
  const synced = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the watch of ${path} had no list after ${SYNC_TIMEOUT_MS} ms: ${String(lastError ?? 'no answer')}`)), SYNC_TIMEOUT_MS);
    listed = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  // Unawaited, `synced` must not turn into an unhandled rejection.
  synced.catch(() => undefined);
  // The watch retries on its own (resuming from the last resourceVersion); the error is kept for `synced`'s message.
  const running = api.listAndWatch<T>(path, onEvent, abort.signal, (error) => (lastError = error), listed);
  return {
    synced,
    stop: async () => {
      clearTimeout(timer);
      abort.abort();
      await running;
      api.close();
    },
  };
}
