/** The chart the AlertRules tests share: a worker fleet and a Job-per-event consumer on one Redis, with every alert. */
import { Duration } from 'cdk8s';
import { AlertRules, CeleryWorker, ExternalScaler, Forecaster, KedaScaledJob, KedaScaledObject, QueueExporter, QueueWorker, RedisCluster, RedisQueue } from '../../constructs';
import { Commands } from '../../runtime/contract';
import { Doc, only, synth, testChart } from './helpers';

export const NAMESPACE = 'test-ns';

/**
 * RedisQueue (list `events`, exporter scraped), a QueueWorker fleet on `events` scaled 0..3 by a
 * KedaScaledObject, a KedaScaledJob (at most 4 Jobs) on `jobs`, a QueueExporter of both lists, a
 * CeleryWorker fleet, a RedisCluster (exporter scraped), a Forecaster of two workloads and an ExternalScaler,
 * and AlertRules with all of their alerts. `named` false leaves every name to cdk8s.
 */
export function alertChart(named = true) {
  const chart = testChart(NAMESPACE);
  const name = (n: string) => (named ? n : undefined);
  const queue = new RedisQueue(chart, 'queue', { name: name('redis'), listName: 'events', exporter: { podMonitor: true } });
  const jobs = { connection: queue.connection, listName: 'jobs' };
  const exporter = new QueueExporter(chart, 'exporter', { name: name('queue-exporter'), queues: [queue, jobs], podMonitor: { labels: { release: 'kps' } } });
  const worker = new QueueWorker(chart, 'worker', { name: name('worker'), queue, podMonitor: true });
  const scaler = new KedaScaledObject(chart, 'worker-scaler', { name: name('worker'), target: worker.deployment, triggers: worker.scalingTriggers(), maxReplicas: 3 });
  const consumer = new KedaScaledJob(chart, 'consumer', {
    name: name('consumer'),
    triggers: [queue.listTrigger()],
    container: { args: ['consume', '--once'], envVariables: queue.envVariables() },
    maxReplicas: 4,
  });
  const celery = new CeleryWorker(chart, 'celery', { name: name('celery-worker'), connection: queue.connection, podMonitor: true });
  const rules = new AlertRules(chart, 'alerts', { name: name('redis-keda'), labels: { release: 'kps' }, alertLabels: { team: 'queues' } });
  rules.addQueue(queue, { exporter, consumers: worker, scaler, oldestReadyAge: Duration.minutes(5) });
  rules.addQueue(jobs, { exporter, consumers: consumer });
  rules.addRedis(queue);
  rules.addQueueExporter(exporter);
  rules.addCeleryWorker(celery);
  // Last, so the groups above keep their indexes.
  const cluster = new RedisCluster(chart, 'cluster', { name: name('rc'), exporter: { podMonitor: true } });
  rules.addRedis(cluster);
  // Predictive scaling on the same Redis: workloads api (stale after the default 2 minutes) and worker (90 s).
  const forecaster = new Forecaster(chart, 'forecaster', {
    name: name('forecaster'),
    prometheus: 'http://prometheus:9090',
    redis: queue,
    podMonitor: true,
    workloads: [
      { name: 'api', query: 'sum(rate(api_requests_total[1m]))', targetPerPod: 50, maxReplicas: 20, leadTime: Duration.minutes(5) },
      { name: 'worker', query: 'sum(rate(api_requests_total[1m]))', targetPerPod: 40, maxReplicas: 15, leadTime: Duration.minutes(5), staleAfter: Duration.seconds(90) },
    ],
  });
  rules.addForecaster(forecaster);
  rules.addExternalScaler(new ExternalScaler(chart, 'forecast-scaler', { name: name('forecast-scaler'), redis: queue, podMonitor: true }));
  const docs = synth(chart);
  const nameOf = (kind: string, pick: (d: Doc) => boolean) => docs.filter((d) => d.kind === kind).find(pick)!.metadata.name as string;
  return {
    chart,
    docs,
    rule: only(docs, 'PrometheusRule'),
    names: {
      exporter: nameOf('Deployment', (d) => d.spec.template.spec.containers[0].name === 'exporter'),
      worker: nameOf('Deployment', (d) => d.spec.template.spec.containers[0].args[0] === Commands.CONSUME),
      celery: nameOf('Deployment', (d) => d.spec.template.spec.containers[0].args[0] === Commands.CELERY_WORKER),
      consumer: nameOf('ScaledJob', () => true),
      // The cluster's exporter runs with --is-cluster.
      redis: nameOf('StatefulSet', (d) => !JSON.stringify(d).includes('--is-cluster')),
      cluster: nameOf('StatefulSet', (d) => JSON.stringify(d).includes('--is-cluster')),
      forecaster: nameOf('Deployment', (d) => d.spec.template.spec.containers[0].args[0] === Commands.FORECASTER),
      scaler: nameOf('Deployment', (d) => d.spec.template.spec.containers[0].args[0] === Commands.SCALER),
    },
  };
}
