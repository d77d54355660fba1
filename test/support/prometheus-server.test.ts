import { PrometheusServer, startPrometheus } from './prometheus-server';

describe('startPrometheus', () => {
  let prometheus: PrometheusServer;
  afterAll(async () => prometheus?.stop());

  it('scrapes a target with the labels given, answers queries, and reports parse errors', async () => {
    prometheus = await startPrometheus();
    await prometheus.reconfigure({ targets: [{ job: 'self', address: `127.0.0.1:${prometheus.port}`, labels: { namespace: 'test-ns', pod: 'self-0' } }] });
    await prometheus.waitForTargetsUp();
    const up = await prometheus.query('up{job="self"}');
    expect(up).toHaveLength(1);
    expect(up[0].metric).toEqual({ __name__: 'up', job: 'self', instance: `127.0.0.1:${prometheus.port}`, namespace: 'test-ns', pod: 'self-0' });
    expect(up[0].value[1]).toBe('1');
    expect(await prometheus.query('1 + 2')).toEqual([{ metric: {}, value: [expect.any(Number), '3'] }]);
    await expect(prometheus.query('sum(')).rejects.toThrow(/bad_data: .*parse error/);
  }, 30_000);
});
