/**
 * `/healthz`, `/readyz` and `/metrics` for long-running commands, on one port. Liveness says only
 * that the process serves requests: a Redis outage must not get every pod restarted. Readiness
 * says whether it can work now (Redis reachable, not stopping).
 */
import { createServer, Server } from 'http';
import type { Registry } from 'prom-client';
import { HEALTH_PATH, METRICS_PATH, READY_PATH } from '../contract';
import { errorMessage, Logger } from '../log';
import { closeServer, listen } from './listen';

export interface HealthServerOptions {
  /** 0 picks a free port (tests); the port actually used is logged and returned. */
  readonly port: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** False turns `/healthz` into 503, e.g. while stopping. @default - always healthy */
  readonly isHealthy?: () => boolean;
  /** False turns `/readyz` into 503, e.g. while Redis is unreachable. @default - ready whenever healthy */
  readonly isReady?: () => boolean;
  /** More GET paths a command serves on the same port (e.g. the forecaster's), by path. @default - none */
  readonly routes?: Readonly<Record<string, Route>>;
}

/** A command's own path: the request's URL (with its query) in, the answer out. */
export type Route = (url: URL) => Promise<RouteAnswer>;

export interface RouteAnswer {
  readonly status: number;
  /** Sent as it is. */
  readonly body: string;
  /** @default application/json */
  readonly contentType?: string;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    } else if (path === HEALTH_PATH) {
      const healthy = options.isHealthy?.() ?? true;
      res.writeHead(healthy ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: healthy ? 'ok' : 'stopping' }));
    } else if (path === READY_PATH) {
      const ready = (options.isHealthy?.() ?? true) && (options.isReady?.() ?? true);
      res.writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
    } else if (path === METRICS_PATH) {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
        (error: unknown) => {
          options.log.error('metrics collection failed', { error: errorMessage(error) });
          res.writeHead(500).end();
        },
      );
    } else if (options.routes && Object.prototype.hasOwnProperty.call(options.routes, path)) {
      options.routes[path](new URL(req.url ?? '/', 'http://localhost')).then(
        (answer) => res.writeHead(answer.status, { 'Content-Type': answer.contentType ?? 'application/json' }).end(answer.body),
        (error: unknown) => {
          options.log.error('request failed', { path, error: errorMessage(error) });
          res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: errorMessage(error) }));
        },
      );
    } else {
      res.writeHead(404).end();
    }
  });
  // Probes must not keep a stopping process alive.
  server.keepAliveTimeout = 1000;

  const port = await listen(server, options.port);
  options.log.info('health server listening', { port, paths: [HEALTH_PATH, READY_PATH, METRICS_PATH, ...Object.keys(options.routes ?? {})] });

  return { port, close: () => closeServer(server) };
}
