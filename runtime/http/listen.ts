/** Starting and stopping an HTTP server the way every long-running command does. */
import type { Server } from 'http';
import { AddressInfo } from 'net';

/** Listens on `port` (0: any free port) and resolves with the port used; rejects when it cannot listen. */
export async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops taking connections and drops the open ones (keep-alive clients must not hold a stopping process). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
