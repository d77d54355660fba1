// Predictive scaling: a Forecaster writes the app's forecast to Redis, one shared ExternalScaler answers KEDA
// from it, and the app's ScaledObject takes the higher of the forecast (5 minutes ahead) and the load now, so
// the forecast alone never scales it in. No `name` anywhere: every reference follows the generated names.
// Expects the Secret `redis-auth` (key `password`) in namespace `forecast`, and Prometheus scraping the PodMonitors.
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { AlertRules, Dashboards, DemoApp, ExternalScaler, Forecaster, GitOpsApp, KedaScaledObject, PrometheusTrigger, RedisQueue } from 'cdk8s-redis-keda';

const prometheus = 'http://prometheus-operated.monitoring.svc:9090';
const app = new GitOpsApp({ namespaces: true });
const chart = new Chart(app, 'forecast', { namespace: 'forecast' });
const redis = new RedisQueue(chart, 'redis', { password: { secret: kplus.Secret.fromSecretName(chart, 'auth', 'redis-auth'), key: 'password' } });
const forecaster = new Forecaster(chart, 'forecaster', { prometheus, redis, podMonitor: true });
const scaler = new ExternalScaler(chart, 'scaler', { redis, podMonitor: true });
const api = new DemoApp(chart, 'api', { podMonitor: true });
const workload = forecaster.addWorkload({
  name: 'api',
  query: api.requestRateQuery(),
  targetPerPod: 50,
  headroom: 1.2,
  minReplicas: 2,
  maxReplicas: 20,
  leadTime: Duration.minutes(5),
});
const scaled = new KedaScaledObject(chart, 'api-scaler', {
  target: api.deployment,
  triggers: [forecaster.trigger({ workload, scaler }), new PrometheusTrigger(chart, 'reactive', { serverAddress: prometheus, query: workload.query, threshold: 50 })],
  minReplicas: 2,
  maxReplicas: 20,
  fallback: { failureThreshold: 3, replicas: 4 },
});
new Dashboards(chart, 'dashboards').addForecast(forecaster, { scaler, scaledObjects: [scaled] });
const rules = new AlertRules(chart, 'alerts');
rules.addForecaster(forecaster);
rules.addExternalScaler(scaler);
app.synth();
