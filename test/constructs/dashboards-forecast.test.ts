import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Dashboards, DemoApp, ExternalScaler, Forecaster, GrafanaDashboard, KedaScaledObject, PrometheusTrigger, RedisQueue } from '../../constructs';
import { KubeStateMetrics } from '../../constructs/private/external-metrics';
import { ForecastMetrics, ScalerMetrics } from '../../runtime/contract';
import { all, Doc, synth, testChart } from './helpers';

/** A forecaster of two demo apps, its scaler and the apps' ScaledObjects; `named` false leaves every name to cdk8s. */
function forecastChart(named: boolean) {
  const chart = testChart();
  const name = (n: string) => (named ? n : undefined);
  const redis = new RedisQueue(chart, 'redis', { name: name('redis') });
  const forecaster = new Forecaster(chart, 'forecaster', { name: name('forecaster'), prometheus: 'http://prometheus:9090', redis, podMonitor: true });
  const scaler = new ExternalScaler(chart, 'scaler', { name: name('forecast-scaler'), redis, podMonitor: true });
  const scaledObjects = ['api', 'worker'].map((app) => {
    const demo = new DemoApp(chart, app, { name: name(app) });
    const workload = forecaster.addWorkload({
      name: app,
      query: demo.requestRateQuery(),
      targetPerPod: 50,
      maxReplicas: 20,
      leadTime: Duration.minutes(5),
      staleAfter: Duration.seconds(app === 'api' ? 120 : 90),
    });
    const reactive = new PrometheusTrigger(chart, `${app}-reactive`, { serverAddress: 'http://prometheus:9090', query: workload.query, threshold: 50 });
    return new KedaScaledObject(chart, `${app}-scaler`, {
      name: name(app),
      target: demo.deployment,
      triggers: [forecaster.trigger({ workload, scaler }), reactive],
      maxReplicas: 20,
    });
  });
  const dashboards = new Dashboards(chart, 'dashboards');
  const dashboard = dashboards.addForecast(forecaster, { scaler, scaledObjects });
  return { chart, forecaster, scaler, scaledObjects, dashboard, dashboards };
}

const rowsOf = (d: GrafanaDashboard) =>
  JSON.parse(d.json)
    .panels.filter((p: Doc) => p.type === 'row')
    .map((p: Doc) => p.title);

describe('Dashboards.addForecast', () => {
  test('exact queries with explicit names: forecast vs actual, desired vs ready replicas, forecast age per workload; forecaster and scaler', () => {
    const { dashboard } = forecastChart(true);
    const pods = 'namespace="$namespace", pod=~"forecaster-[a-z0-9]+-[a-z0-9]+"';
    const scalerPods = 'namespace="$namespace", pod=~"forecast-scaler-[a-z0-9]+-[a-z0-9]+"';
    const either = (metric: string, labels: string) => `${metric}{exported_namespace="$namespace", ${labels}} or ${metric}{namespace="$namespace", ${labels}}`;
    const workload = (w: string, stale: number) => [
      [`${w}: forecast vs actual`, 'A', `max(redis_keda_forecast_actual_value{${pods}, workload="${w}"})`],
      [`${w}: forecast vs actual`, 'B', `max(redis_keda_forecast_predicted_value{${pods}, workload="${w}", at="now"})`],
      [`${w}: forecast vs actual`, 'C', `max(redis_keda_forecast_predicted_value{${pods}, workload="${w}", at="lead"})`],
      [`${w}: desired vs ready replicas`, 'A', `max(redis_keda_forecast_desired_replicas{${pods}, workload="${w}"})`],
      [`${w}: desired vs ready replicas`, 'B', `max(${either('kube_horizontalpodautoscaler_status_desired_replicas', `horizontalpodautoscaler="keda-hpa-${w}"`)})`],
      [`${w}: desired vs ready replicas`, 'C', `max(${either('kube_deployment_status_replicas_ready', `deployment="${w}"`)})`],
      [`${w}: forecast age`, 'A', `min(redis_keda_forecast_age_seconds{${pods}, workload="${w}"})`],
      [`${w}: forecast age`, 'B', `vector(${stale})`],
    ];
    expect(dashboard.title).toBe('Forecasts forecaster (test-ns)');
    expect(dashboard.queries.map((q) => [q.panel, q.refId, q.expr])).toEqual([
      ...workload('api', 120),
      ...workload('worker', 90),
      ['Forecaster errors', 'A', `sum by (workload, stage) (rate(redis_keda_forecast_errors_total{${pods}}[$__rate_interval]))`],
      ['Degraded', 'A', `max by (workload) (redis_keda_forecast_degraded{${pods}})`],
      ['Scaler calls', 'A', `sum by (method, code) (rate(redis_keda_scaler_calls_total{${scalerPods}}[$__rate_interval]))`],
      ['Scaler errors', 'A', `sum by (method, reason) (rate(redis_keda_scaler_errors_total{${scalerPods}}[$__rate_interval]))`],
      ...[0.5, 0.95, 0.99].map((q, i) => [
        'Scaler latency',
        'ABC'[i],
        `histogram_quantile(${q}, sum by (le) (rate(redis_keda_scaler_call_duration_seconds_bucket{${scalerPods}}[$__rate_interval])))`,
      ]),
    ]);
    expect(rowsOf(dashboard)).toEqual(['Workload api', 'Workload worker', 'Forecaster', 'External scaler']);
    // Every metric a query reads is a name of the contract or of external-metrics.ts.
    const known = new Set<string>([...Object.values(ForecastMetrics), ...Object.values(ScalerMetrics), `${ScalerMetrics.CALL_SECONDS}_bucket`, ...Object.values(KubeStateMetrics)]);
    const metrics = dashboard.queries.flatMap((q) => [...q.expr.matchAll(/([a-z_]+)\{/g)].map((m) => m[1]));
    expect(metrics.filter((m) => !known.has(m))).toEqual([]);
  });

  test.each([true, false])('named %s: the pod selectors match the forecaster, scaler and apps as Kubernetes names them, and nothing else', (named) => {
    const { chart, dashboard } = forecastChart(named);
    const docs = synth(chart);
    const deployments = all(docs, 'Deployment').map((d) => d.metadata.name as string);
    const regexes = [...new Set(dashboard.queries.flatMap((q) => [...q.expr.matchAll(/pod=~"([^"]+)"/g)].map((m) => m[1])))];
    expect(regexes).toHaveLength(2);
    for (const regex of regexes) {
      const matching = deployments.filter((d) => new RegExp(`^(?:${regex})$`).test(`${d}-7d9f8b6c5-x2x7k`));
      expect({ regex, matching: matching.length }).toEqual({ regex, matching: 1 });
    }
    const scaledObjects = all(docs, 'ScaledObject').map((s) => s.metadata.name);
    const hpas = dashboard.queries.flatMap((q) => [...q.expr.matchAll(/horizontalpodautoscaler="keda-hpa-([^"]+)"/g)].map((m) => m[1]));
    expect([...new Set(hpas)].sort()).toEqual([...scaledObjects].sort());
  });

  test('without a scaler or ScaledObjects: only the forecast series; a ScaledObject without the forecaster trigger is rejected', () => {
    const { chart, forecaster } = forecastChart(true);
    const bare = new Dashboards(chart, 'bare').addForecast(forecaster, { uid: 'bare' });
    expect(bare.queries.filter((q) => q.panel === 'api: desired vs ready replicas').map((q) => q.expr)).toEqual([
      'max(redis_keda_forecast_desired_replicas{namespace="$namespace", pod=~"forecaster-[a-z0-9]+-[a-z0-9]+", workload="api"})',
    ]);
    expect(rowsOf(bare)).toEqual(['Workload api', 'Workload worker', 'Forecaster']);
    const other = new kplus.Deployment(chart, 'other', { containers: [{ image: 'example/other:1.0.0' }] });
    const unrelated = new KedaScaledObject(chart, 'other-scaler', {
      target: other,
      triggers: [new PrometheusTrigger(chart, 'other-trigger', { serverAddress: 'http://prometheus:9090', query: 'up', threshold: 1 })],
    });
    expect(() => new Dashboards(chart, 'wrong').addForecast(forecaster, { scaledObjects: [unrelated] })).toThrow(
      'test/wrong: \'scaledObjects\' ("test/other-scaler") must carry a trigger of the forecaster test/forecaster (forecaster.trigger())',
    );
  });
});
