/**
 * `demo-app`'s server: answers the example's requests and counts each in the example's request counter
 * (`api_requests_total{endpoint, method, status}`) and latency histogram, as Prometheus scrapes them.
 */
import { createServer, Server } from 'http';
import { Counter, Histogram, Registry } from 'prom-client';
import { DemoAppMetrics, DemoAppPaths, MetricLabels } from '../contract';
import { closeServer, listen } from '../http/listen';
import type { Logger } from '../log';

/** The `endpoint` label of a path: one of the app's paths, else `other` (a label per unknown path would grow without bound). */
function endpointOf(path: string): string {
  return (Object.values(DemoAppPaths) as string[]).includes(path) ? path : 'other';
}

export interface DemoAppOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Milliseconds each request waits before its answer (the heavy endpoint four times as long). */
  readonly latencyMs: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** The pod's name in the answers. */
  readonly pod?: string;
}

export interface DemoApp {
  readonly port: number;
  close(): Promise<void>;
}

export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const requests = new Counter({
    name: DemoAppMetrics.REQUESTS,
    help: 'Requests answered, by endpoint, method and status',
    labelNames: [MetricLabels.ENDPOINT, MetricLabels.METHOD, MetricLabels.STATUS],
    registers: [options.registry],
  });
  const seconds = new Histogram({
    name: DemoAppMetrics.REQUEST_SECONDS,
    help: 'Seconds from a request to its answer, by endpoint',
    labelNames: [MetricLabels.ENDPOINT],
    registers: [options.registry],
  });
  // The series of the paths the load generator requests exist at zero, so rate() sees the first request.
  requests.labels(DemoAppPaths.TASK, 'GET', '200').inc(0);
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0];
    const endpoint = endpointOf(path);
    const method = req.method ?? 'GET';
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      requests.labels(endpoint, method, String(status)).inc();
      seconds.labels(endpoint).observe(Number(process.hrtime.bigint() - started) / 1e9);
    };
    if (endpoint === 'other') return answer(404, { error: `no such path: ${path}` });
    if (method !== 'GET' && method !== 'HEAD') return answer(405, { error: `method ${method} not allowed` });
    const wait = endpoint === DemoAppPaths.HEAVY ? 4 * options.latencyMs : options.latencyMs;
    const reply = () => answer(200, { message: endpoint === DemoAppPaths.HEAVY ? 'heavy work done' : 'ok', pod: options.pod, timestamp: new Date().toISOString() });
    if (wait <= 0) return reply();
    const timer = setTimeout(() => {
      timers.delete(timer);
      reply();
    }, wait);
    timers.add(timer);
  });
  const port = await listen(server, options.port);
  options.log.info('demo app listening', { port, paths: Object.values(DemoAppPaths) });
  return {
    port,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      return closeServer(server);
    },
  };
}
