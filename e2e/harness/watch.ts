/** Watches of the cluster as admin, for tests that record what controllers do over time. */
import { join } from 'path';
import type { ControlPlane } from './control-plane';
import { ApiClient, WatchEvent } from './node-agent/api';

/** An API client as the cluster admin (system:masters). */
export function adminApi(plane: ControlPlane): ApiClient {
  return new ApiClient(plane.access.server, plane.access.caFile, { cert: join(plane.pkiDir, 'admin.crt'), key: join(plane.pkiDir, 'admin.key') });
}

/** A list-and-watch of `path` (e.g. `/apis/batch/v1/namespaces/x/jobs`) calling `onEvent` until stop(). */
export function watchObjects<T extends { metadata: { resourceVersion?: string } }>(
  plane: ControlPlane,
  path: string,
  onEvent: (event: WatchEvent<T>) => void,
): { stop(): Promise<void> } {
  const api = adminApi(plane);
  const abort = new AbortController();
  const running = api.listAndWatch<T>(path, onEvent, abort.signal, () => undefined);
  return {
    stop: async () => {
      abort.abort();
      await running;
      api.close();
    },
  };
}
