/** The forecaster's Prometheus client against a real Prometheus, a port nobody listens on and a server that never answers. */
import { createServer, Server, Socket } from 'net';
import { createPrometheusClient, PrometheusError, withoutCredentials } from '../../../runtime/forecaster/prometheus-client';
import { PrometheusServer, startPrometheus } from '../../support/prometheus-server';
import { freePort } from '../../support/redis-server';

let prometheus: PrometheusServer;
beforeAll(async () => {
  prometheus = await startPrometheus();
}, 30_000);
afterAll(async () => prometheus?.stop());

async function failure(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PrometheusError) return error;
    throw error;
  }
  throw new Error('it did not fail');
}

test('a range query of a constant gives its grid; credentials never leave the URL it reports', async () => {
  const client = createPrometheusClient({ url: prometheus.url.replace('http://', 'http://user:secret@'), timeoutMs: 5000 });
  expect(client.url).toBe(prometheus.url);
  expect(await client.queryRange('vector(7)', 1_800_000_000, 1_800_000_120, 60)).toEqual([
    { labels: {}, timestamps: [1_800_000_000, 1_800_000_060, 1_800_000_120], values: [7, 7, 7] },
  ]);
  expect(withoutCredentials('https://u:p@prom.example:9090/prefix/')).toBe('https://prom.example:9090/prefix');
});

test('each failure says which kind it is', async () => {
  const client = createPrometheusClient({ url: prometheus.url, timeoutMs: 5000 });
  const refused = await failure(client.queryRange('sum(', 1_800_000_000, 1_800_000_120, 60));
  expect(refused.kind).toBe('query');
  expect(refused.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query \(HTTP 400\): bad_data: .*parse error/);

  const port = await freePort();
  const nobody = await failure(createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 }).queryRange('up', 0, 60, 60));
  expect({ kind: nobody.kind, message: nobody.message }).toEqual({ kind: 'unreachable', message: `Prometheus at http://127.0.0.1:${port} is not reachable: ECONNREFUSED` });

  // A server that takes the connection and never answers.
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as { port: number }).port;
  try {
    const started = Date.now();
    const slow = await failure(createPrometheusClient({ url: `http://127.0.0.1:${silentPort}`, timeoutMs: 300 }).queryRange('up', 0, 60, 60));
    expect({ kind: slow.kind, message: slow.message }).toEqual({ kind: 'timeout', message: `Prometheus at http://127.0.0.1:${silentPort} did not answer within 0.3s` });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  }
  expect(() => createPrometheusClient({ url: 'ftp://prom:2121', timeoutMs: 1 })).toThrow("the Prometheus URL must be http:// or https://, got 'ftp://prom:2121'");
});
