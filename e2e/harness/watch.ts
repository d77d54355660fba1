/** Watches of the cluster as admin, for tests that record what controllers do over time. */
import { join } from 'path';
import type { ControlPlane } from './control-plane';
import { ApiClient, WatchEvent } from './node-agent/api';
import { waitFor } from './wait';

/** An API client as the cluster admin (system:masters). */
export function adminApi(plane: ControlPlane): ApiClient {
  return new ApiClient(plane.access.server, plane.access.caFile, { cert: join(plane.pkiDir, 'admin.crt'), key: join(plane.pkiDir, 'admin.key') });
}

const LIST_TIMEOUT_MS = 30_000;

/**
 * A list-and-watch of `path` (e.g. `/apis/batch/v1/namespaces/x/jobs`) calling `onEvent` until stop().
 * It resolves once the first list was passed on, so every change a test makes after it is seen (a list
 * made after the changes would show only where they ended).
 */
export async function watchObjects<T extends { metadata: { resourceVersion?: string } }>(
  plane: ControlPlane,
  path: string,
  onEvent: (event: WatchEvent<T>) => void,
): Promise<{ stop(): Promise<void> }> {
  const api = adminApi(plane);
  const abort = new AbortController();
  let listed = false;
  let lastError: unknown;
  // The watch retries on its own (resuming from the last resourceVersion); its last error explains a list that never came.
  const running = api.listAndWatch<T>(
    path,
    onEvent,
    abort.signal,
    (error) => (lastError = error),
    () => (listed = true),
  );
  const stop = async () => {
    abort.abort();
    await running;
    api.close();
  };
  try {
    await waitFor(
      `the watch of ${path} to list`,
      () => {
        if (listed) return true;
        if (lastError !== undefined) throw lastError;
        return undefined;
      },
      LIST_TIMEOUT_MS,
      20,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
