import { Chart, Testing } from 'cdk8s';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CeleryWorker,
  Dashboards,
  DashboardsProps,
  GrafanaDashboard,
  KedaScaledJob,
  KedaScaledObject,
  QueueExporter,
  QueueWorker,
  RedisCluster,
  RedisConnection,
  RedisQueue,
} from '../../constructs';
import { ExternalLabels, KedaMetrics, KubeStateMetrics, RedisExporterMetrics } from '../../constructs/private/external-metrics';
import { CeleryMetrics, ConsistencyMetrics, MetricLabels, Metrics } from '../../runtime/contract';
import { all, Doc, synth, testChart } from './helpers';

/** Every concern of a chart, with or without explicit names. */
function fleetChart(options: { named?: boolean; chart?: Chart; props?: DashboardsProps } = {}) {
  const chart = options.chart ?? testChart();
  const name = (n: string) => (options.named ? n : undefined);
  const queue = new RedisQueue(chart, 'queue', { name: name('redis'), exporter: {} });
  const worker = new QueueWorker(chart, 'worker', { name: name('workers'), queue });
  const exporter = new QueueExporter(chart, 'exporter', { name: name('queue-exporter'), queues: [queue] });
  const scaler = new KedaScaledObject(chart, 'scaler', { name: name('workers-scaler'), target: worker.deployment, triggers: worker.scalingTriggers() });
  const job = new KedaScaledJob(chart, 'consumer', {
    name: name('consumer'),
    triggers: [queue.listTrigger()],
    container: { args: ['consume', '--once'], envVariables: queue.envVariables() },
  });
  const celeryConnection = RedisConnection.external(chart, { host: 'cache.example.net', port: 6380, tls: true });
  const celery = new CeleryWorker(chart, 'celery', { name: name('celery'), connection: celeryConnection });
  const celeryScaler = new KedaScaledObject(chart, 'celery-scaler', { name: name('celery-scaler'), target: celery.deployment, triggers: celery.scalingTriggers() });
  const dashboards = new Dashboards(chart, 'dashboards', options.props);
  const fleet = dashboards.addQueueFleet(worker, { scaler, exporter });
  const jobs = dashboards.addJobPerEvent(job, { exporter });
  const tasks = dashboards.addCelery(celery, { scaler: celeryScaler });
  const redis = dashboards.addRedis({ queue, exporter });
  const cluster = new RedisCluster(chart, 'cluster', { name: name('cache'), exporter: {}, consistencyChecker: {} });
  const clusterDashboard = dashboards.addRedisCluster(cluster);
  return { chart, queue, worker, exporter, scaler, job, celery, celeryScaler, dashboards, fleet, jobs, tasks, redis, cluster, clusterDashboard };
}

const dashboardConfigMaps = (docs: Doc[]) => all(docs, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard !== undefined);
const model = (d: GrafanaDashboard) => JSON.parse(d.json);
const panelsOf = (d: GrafanaDashboard) => model(d).panels.filter((p: Doc) => p.type !== 'row');

/** Metric names a query may read: ours from the contract, the others' from external-metrics.ts; histograms as `_bucket`. */
const HISTOGRAMS = [Metrics.LATENCY_SECONDS, Metrics.PROCESSING_SECONDS, CeleryMetrics.TASK_SECONDS];
const KNOWN_METRICS = new Set<string>([
  ...Object.values(Metrics),
  ...Object.values(CeleryMetrics),
  ...Object.values(ConsistencyMetrics),
  ...Object.values(RedisExporterMetrics),
  ...Object.values(KubeStateMetrics),
  ...Object.values(KedaMetrics),
  ...HISTOGRAMS.map((h) => `${h}_bucket`),
]);
/** Every other word a query may hold: PromQL's functions and keywords, and label names from the same modules. */
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'by', 'or', 'rate', 'histogram_quantile', ...Object.values(MetricLabels), ...Object.values(ExternalLabels)]);

function wordsOf(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[\$__rate_interval\]/g, '');
  return [...bare.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]);
}

/** A pod name as Kubernetes gives the pods of a Deployment or a ScaledJob's Job. */
const podOf = (workload: string) => `${workload}-7d9f8b6c5-x2x7k`;
const matchesPod = (regex: string, pod: string) => new RegExp(`^(?:${regex})$`).test(pod);

describe('Dashboards', () => {
  test('one ConfigMap per dashboard in the chart namespace, labelled for the sidecar, annotated with the folder, data key <uid>.json', () => {
    const { chart, dashboards } = fleetChart();
    const maps = dashboardConfigMaps(synth(chart));
    expect(maps).toHaveLength(5);
    expect(dashboards.dashboards.map((d) => d.configMap.name).sort()).toEqual(maps.map((m) => m.metadata.name).sort());
    for (const d of dashboards.dashboards) {
      const map = maps.find((m) => m.metadata.name === d.configMap.name)!;
      expect(map.metadata.namespace).toBe('test-ns');
      expect(map.metadata.labels).toEqual({ grafana_dashboard: '1' });
      expect(map.metadata.annotations).toEqual({ 'k8s-sidecar-target-directory': 'redis-keda' });
      expect(d.fileName).toBe(`${d.uid}.json`);
      expect(map.data).toEqual({ [`${d.uid}.json`]: d.json });
      expect(model(d)).toMatchObject({ uid: d.uid, title: d.title });
    }
  });

  test('namespace, extra labels, folder and its annotation as props', () => {
    const { chart, dashboards } = fleetChart({
      props: { namespace: 'monitoring', labels: { release: 'kube-prometheus-stack', grafana_dashboard: 'true' }, folder: 'Queues', folderAnnotation: 'grafana_folder' },
    });
    const maps = dashboardConfigMaps(synth(chart));
    expect(maps).toHaveLength(5);
    for (const map of maps) {
      expect(map.metadata.namespace).toBe('monitoring');
      expect(map.metadata.labels).toEqual({ grafana_dashboard: 'true', release: 'kube-prometheus-stack' });
      expect(map.metadata.annotations).toEqual({ grafana_folder: 'Queues' });
    }
    expect(dashboards.namespace).toBe('monitoring');
    // The queries still select the workloads' namespace, not the ConfigMaps'.
    expect(dashboards.dashboards.map((d) => d.variables)).toEqual(Array(5).fill({ namespace: 'test-ns' }));
  });

  test('every panel and every target reads the datasource variable; namespace is a text box holding the chart namespace', () => {
    const { dashboards } = fleetChart({ props: { datasource: 'prometheus' } });
    for (const d of dashboards.dashboards) {
      const m = model(d);
      expect(m.templating.list.map((v: Doc) => [v.type, v.name])).toEqual([
        ['datasource', 'datasource'],
        ['textbox', 'namespace'],
      ]);
      expect(m.templating.list[0]).toMatchObject({ query: 'prometheus', current: { text: 'prometheus', value: 'prometheus' } });
      expect(m.templating.list[1]).toMatchObject({ query: 'test-ns', current: { text: 'test-ns', value: 'test-ns' } });
      expect(d.variables).toEqual({ namespace: 'test-ns', datasource: 'prometheus' });
      const panels = panelsOf(d);
      expect(panels.length).toBeGreaterThan(0);
      for (const p of panels) {
        expect({ panel: p.title, datasource: p.datasource }).toEqual({ panel: p.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
        expect(p.targets.length).toBeGreaterThan(0);
        for (const t of p.targets) expect({ panel: p.title, datasource: t.datasource }).toEqual({ panel: p.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
      }
      expect(d.queries).toHaveLength(panels.reduce((n: number, p: Doc) => n + p.targets.length, 0));
      for (const q of d.queries) expect(q.datasource).toBe('${datasource}');
    }
  });

  test('without a datasource prop the variable has no current value: Grafana picks its default Prometheus', () => {
    const { fleet } = fleetChart();
    expect(model(fleet).templating.list[0].current).toBeUndefined();
    expect(fleet.variables).toEqual({ namespace: 'test-ns' });
  });

  test('every query names only contract and external metric names, and selects by $namespace', () => {
    const { dashboards } = fleetChart();
    const used = new Set<string>();
    for (const q of dashboards.dashboards.flatMap((d) => d.queries)) {
      const words = wordsOf(q.expr);
      const metrics = words.filter((w) => !PROMQL_WORDS.has(w));
      expect({ expr: q.expr, unknown: metrics.filter((w) => !KNOWN_METRICS.has(w)) }).toEqual({ expr: q.expr, unknown: [] });
      expect(metrics.length).toBeGreaterThan(0);
      metrics.forEach((m) => used.add(m));
      // Our pods by the target label; objects (kube-state-metrics, KEDA) by their own namespace, whichever way it was scraped.
      const selectors = [...q.expr.matchAll(/([a-z_]+)\{([a-z_]+)="\$namespace", /g)].map(([, metric, label]) => [metric, label]);
      expect(selectors.map(([metric]) => metric)).toEqual([...q.expr.matchAll(/([a-z_]+)\{/g)].map((x) => x[1]));
      const objects = selectors.filter(([metric]) => metric.startsWith('kube_') || metric.startsWith('keda_'));
      expect(objects.map(([, label]) => label)).toEqual(objects.map((_, i) => (i % 2 === 0 ? 'exported_namespace' : 'namespace')));
      expect(selectors.filter(([metric]) => !objects.some(([o]) => o === metric)).every(([, label]) => label === 'namespace')).toBe(true);
    }
    // The panels the issue asks for read these series.
    expect([...used].sort()).toEqual(
      [
        Metrics.QUEUE_DEPTH,
        Metrics.QUEUE_OLDEST_READY_AGE,
        Metrics.QUEUE_EXPORTER_UP,
        Metrics.PROCESSED,
        Metrics.FAILED,
        Metrics.RETRIED,
        Metrics.REDELIVERED,
        Metrics.DEAD_LETTERED,
        Metrics.IN_FLIGHT,
        `${Metrics.LATENCY_SECONDS}_bucket`,
        `${Metrics.PROCESSING_SECONDS}_bucket`,
        CeleryMetrics.TASKS,
        `${CeleryMetrics.TASK_SECONDS}_bucket`,
        CeleryMetrics.TASKS_ACTIVE,
        CeleryMetrics.RESTORED,
        CeleryMetrics.DEAD_LETTERED,
        RedisExporterMetrics.UP,
        RedisExporterMetrics.MEMORY_USED_BYTES,
        RedisExporterMetrics.MEMORY_MAX_BYTES,
        RedisExporterMetrics.CONNECTED_CLIENTS,
        RedisExporterMetrics.COMMANDS_PROCESSED,
        RedisExporterMetrics.EVICTED_KEYS,
        RedisExporterMetrics.REJECTED_CONNECTIONS,
        RedisExporterMetrics.CLUSTER_STATE,
        RedisExporterMetrics.CLUSTER_SIZE,
        RedisExporterMetrics.CLUSTER_SLOTS_OK,
        RedisExporterMetrics.CLUSTER_SLOTS_ASSIGNED,
        RedisExporterMetrics.CLUSTER_SLOTS_PFAIL,
        RedisExporterMetrics.CLUSTER_SLOTS_FAIL,
        RedisExporterMetrics.CLUSTER_KNOWN_NODES,
        RedisExporterMetrics.MASTER_REPL_OFFSET,
        RedisExporterMetrics.MASTER_LINK_UP,
        RedisExporterMetrics.CONNECTED_SLAVES,
        ...Object.values(ConsistencyMetrics),
        KubeStateMetrics.DEPLOYMENT_SPEC_REPLICAS,
        KubeStateMetrics.DEPLOYMENT_READY_REPLICAS,
        KubeStateMetrics.HPA_DESIRED_REPLICAS,
        KubeStateMetrics.HPA_MAX_REPLICAS,
        KubeStateMetrics.JOB_ACTIVE,
        KubeStateMetrics.JOB_SUCCEEDED,
        KubeStateMetrics.JOB_FAILED,
        KedaMetrics.SCALER_METRICS_VALUE,
        KedaMetrics.SCALER_ACTIVE,
        KedaMetrics.SCALER_DETAIL_ERRORS,
        KedaMetrics.SCALED_OBJECT_ERRORS,
      ].sort(),
    );
  });

  test('every query parses as PromQL (promtool, with the variables substituted)', () => {
    const { dashboards } = fleetChart();
    const queries = dashboards.dashboards.flatMap((d) => d.queries);
    const substituted = queries.map((q) => q.expr.replace(/\$namespace/g, 'test-ns').replace(/\$__rate_interval/g, '1m'));
    for (const expr of substituted) expect(expr).not.toContain('$');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-promql-'));
    try {
      const file = path.join(dir, 'queries.yml');
      // A recording rule per query: promtool parses each expression as Prometheus would.
      const rules = substituted.map((expr, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`).join('\n');
      fs.writeFileSync(file, `groups:\n  - name: dashboards\n    rules:\n${rules}\n`);
      const out = execFileSync(process.env.PROMTOOL_BINARY ?? 'promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(out).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the queue fleet: exact queries with explicit names', () => {
    const { fleet } = fleetChart({ named: true });
    const pods = 'namespace="$namespace", pod=~"workers-[a-z0-9]+-[a-z0-9]+"';
    const exporter = 'namespace="$namespace", pod=~"queue-exporter-[a-z0-9]+-[a-z0-9]+", list="events"';
    const either = (metric: string, labels: string, wrap = (x: string) => x) =>
      `${wrap(`${metric}{exported_namespace="$namespace", ${labels}}`)} or ${wrap(`${metric}{namespace="$namespace", ${labels}}`)}`;
    const so = 'scaledObject="workers-scaler"';
    const rate = (x: string) => `rate(${x}[$__rate_interval])`;
    expect(fleet.title).toBe('Queue fleet workers (test-ns)');
    expect(fleet.queries.map((q) => [q.panel, q.refId, q.expr])).toEqual([
      ['Depth by state', 'A', `max by (state) (redis_keda_queue_depth{${exporter}})`],
      ['Oldest ready event', 'A', `max(redis_keda_queue_oldest_ready_age_seconds{${exporter}})`],
      ['Events per second', 'A', `sum(rate(redis_keda_events_processed_total{${pods}}[$__rate_interval]))`],
      ['Events per second', 'B', `sum(rate(redis_keda_events_failed_total{${pods}}[$__rate_interval]))`],
      ['Events per second', 'C', `sum(rate(redis_keda_events_retried_total{${pods}}[$__rate_interval]))`],
      ['Events per second', 'D', `sum(rate(redis_keda_events_redelivered_total{${pods}}[$__rate_interval]))`],
      ['Events per second', 'E', `sum by (reason) (rate(redis_keda_events_dead_lettered_total{${pods}}[$__rate_interval]))`],
      ['Events in flight', 'A', `sum(redis_keda_events_in_flight{${pods}})`],
      ['End-to-end latency', 'A', `histogram_quantile(0.5, sum by (le) (rate(redis_keda_event_latency_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['End-to-end latency', 'B', `histogram_quantile(0.95, sum by (le) (rate(redis_keda_event_latency_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['End-to-end latency', 'C', `histogram_quantile(0.99, sum by (le) (rate(redis_keda_event_latency_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['Handler time', 'A', `histogram_quantile(0.5, sum by (le) (rate(redis_keda_event_processing_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['Handler time', 'B', `histogram_quantile(0.95, sum by (le) (rate(redis_keda_event_processing_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['Handler time', 'C', `histogram_quantile(0.99, sum by (le) (rate(redis_keda_event_processing_seconds_bucket{${pods}}[$__rate_interval])))`],
      ['Replicas', 'A', `max(${either('kube_deployment_spec_replicas', 'deployment="workers"')})`],
      ['Replicas', 'B', `max(${either('kube_deployment_status_replicas_ready', 'deployment="workers"')})`],
      ['Replicas', 'C', `max(${either('kube_horizontalpodautoscaler_status_desired_replicas', 'horizontalpodautoscaler="keda-hpa-workers-scaler"')})`],
      ['Replicas', 'D', `max(${either('kube_horizontalpodautoscaler_spec_max_replicas', 'horizontalpodautoscaler="keda-hpa-workers-scaler"')})`],
      ['Scaler metric value', 'A', `max by (scaler, metric) (${either('keda_scaler_metrics_value', so)})`],
      ['Scaler active', 'A', `max by (scaler, metric) (${either('keda_scaler_active', so)})`],
      ['Scaler errors', 'A', `sum by (scaler) (${either('keda_scaler_detail_errors_total', so, rate)})`],
      ['Scaler errors', 'B', `sum(${either('keda_scaled_object_errors_total', so, rate)})`],
    ]);
    expect(
      model(fleet)
        .panels.filter((p: Doc) => p.type === 'row')
        .map((p: Doc) => p.title),
    ).toEqual(['Queue', 'Throughput', 'Latency', 'Scaling', 'KEDA']);
  });

  test('the other concerns: panels by title, with explicit names', () => {
    const { jobs, tasks, redis } = fleetChart({ named: true });
    const titles = (d: GrafanaDashboard) => panelsOf(d).map((p: Doc) => p.title);
    expect(titles(jobs)).toEqual(['Depth by state', 'Oldest ready event', 'Jobs', 'Scaler metric value', 'Scaler active', 'Scaler errors']);
    expect(jobs.queries.find((q) => q.panel === 'Jobs')!.expr).toBe(
      'sum(kube_job_status_active{exported_namespace="$namespace", job_name=~"consumer-[a-z0-9]+"} or kube_job_status_active{namespace="$namespace", job_name=~"consumer-[a-z0-9]+"})',
    );
    expect(jobs.queries.find((q) => q.panel === 'Scaler active')!.expr).toBe(
      'max by (scaler, metric) (keda_scaler_active{exported_namespace="$namespace", scaledObject="consumer"} or keda_scaler_active{namespace="$namespace", scaledObject="consumer"})',
    );
    expect(titles(tasks)).toEqual([
      'Tasks per second by state',
      'Tasks per second by task',
      'Task time',
      'Tasks held',
      'Restored and dead-lettered',
      'Replicas',
      'Scaler metric value',
      'Scaler active',
      'Scaler errors',
    ]);
    expect(tasks.queries[0].expr).toBe('sum by (state) (rate(redis_keda_celery_tasks_total{namespace="$namespace", pod=~"celery-[a-z0-9]+-[a-z0-9]+"}[$__rate_interval]))');
    expect(titles(redis)).toEqual([
      'Up',
      'Clients',
      'Memory used vs max',
      'Commands, evictions and rejected connections',
      'Exporter up',
      'Depth by list and state',
      'Oldest ready event by list',
    ]);
    expect(redis.queries.filter((q) => q.panel === 'Memory used vs max').map((q) => q.expr)).toEqual([
      'sum(redis_memory_used_bytes{namespace="$namespace", pod=~"redis-[0-9]+"})',
      'sum(redis_memory_max_bytes{namespace="$namespace", pod=~"redis-[0-9]+"})',
    ]);
    expect(model(redis).panels.find((p: Doc) => p.title === 'Up')).toMatchObject({ type: 'stat', fieldConfig: { defaults: { unit: 'none' } } });
  });

  test.each([true, false])('every workload a query names is one of the chart, with explicit names: %s', (named) => {
    const { chart, fleet, jobs, tasks, redis } = fleetChart({ named });
    const docs = synth(chart);
    const deployment = (component: string) =>
      all(docs, 'Deployment').find((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component)!.metadata.name as string;
    const scaledObject = (target: string) => all(docs, 'ScaledObject').find((s) => s.spec.scaleTargetRef.name === target)!.metadata.name as string;
    const workers = deployment('worker');
    const exporter = deployment('queue-exporter');
    const celery = deployment('celery-worker');
    const scaledJob = all(docs, 'ScaledJob')[0].metadata.name as string;
    const redisSts = all(docs, 'StatefulSet')[0].metadata.name as string;
    const others = [workers, exporter, celery, scaledJob];

    const podRegexes = (d: GrafanaDashboard) => [...new Set(d.queries.flatMap((q) => [...q.expr.matchAll(/pod=~"([^"]+)"/g)].map((m) => m[1].replace(/\\\\/g, '\\'))))];
    const fleetPods = podRegexes(fleet);
    expect(fleetPods).toHaveLength(2);
    const [exporterRegex, workerRegex] = fleetPods;
    expect(matchesPod(workerRegex, podOf(workers))).toBe(true);
    expect(matchesPod(exporterRegex, podOf(exporter))).toBe(true);
    for (const other of others.filter((o) => o !== workers)) expect(matchesPod(workerRegex, podOf(other))).toBe(false);
    expect(fleet.queries.map((q) => q.expr).join('\n')).toContain(`deployment="${workers}"`);
    expect(fleet.queries.map((q) => q.expr).join('\n')).toContain(`horizontalpodautoscaler="keda-hpa-${scaledObject(workers)}"`);
    expect(fleet.queries.map((q) => q.expr).join('\n')).toContain(`scaledObject="${scaledObject(workers)}"`);

    const jobRegex = jobs.queries.find((q) => q.panel === 'Jobs')!.expr.match(/job_name=~"([^"]+)"/)![1];
    expect(new RegExp(`^(?:${jobRegex})$`).test(`${scaledJob}-x2x7k`)).toBe(true);
    expect(jobs.queries.map((q) => q.expr).join('\n')).toContain(`scaledObject="${scaledJob}"`);

    const [celeryRegex] = podRegexes(tasks);
    expect(matchesPod(celeryRegex, podOf(celery))).toBe(true);
    expect(tasks.queries.map((q) => q.expr).join('\n')).toContain(`scaledObject="${scaledObject(celery)}"`);

    const [redisRegex] = podRegexes(redis);
    expect(matchesPod(redisRegex, `${redisSts}-0`)).toBe(true);
    expect(matchesPod(redisRegex, podOf(redisSts))).toBe(false);
  });

  test('the Redis Cluster: exact queries by node with explicit names; the checker row only with a checker; an exporter is required', () => {
    const { clusterDashboard } = fleetChart({ named: true });
    const nodes = 'namespace="$namespace", pod=~"cache-[0-9]+"';
    const checker = 'namespace="$namespace", pod=~"cache-consistency-[a-z0-9]+-[a-z0-9]+"';
    expect(clusterDashboard.title).toBe('Redis Cluster cache (test-ns)');
    expect(clusterDashboard.queries.map((q) => [q.panel, q.expr])).toEqual([
      ['Cluster state', `min(redis_cluster_state{${nodes}})`],
      ['Nodes up', `sum(redis_up{${nodes}})`],
      ['Masters serving slots', `min(redis_cluster_size{${nodes}})`],
      ['Slots not ok', `16384 - min(redis_cluster_slots_ok{${nodes}})`],
      ['Slots ok, assigned and failing', `min(redis_cluster_slots_assigned{${nodes}})`],
      ['Slots ok, assigned and failing', `min(redis_cluster_slots_ok{${nodes}})`],
      ['Slots ok, assigned and failing', `max(redis_cluster_slots_pfail{${nodes}})`],
      ['Slots ok, assigned and failing', `max(redis_cluster_slots_fail{${nodes}})`],
      ['Known nodes by node', `max by (pod) (redis_cluster_known_nodes{${nodes}})`],
      ['Memory used of maxmemory by node', `max by (pod) (redis_memory_used_bytes{${nodes}}) / (max by (pod) (redis_memory_max_bytes{${nodes}}) > 0)`],
      ['Commands per second by node', `sum by (pod) (rate(redis_commands_processed_total{${nodes}}[$__rate_interval]))`],
      ['Connected clients by node', `max by (pod) (redis_connected_clients{${nodes}})`],
      ['Replication offset by node', `max by (pod) (redis_master_repl_offset{${nodes}})`],
      ['Replication links', `sum(redis_master_link_up{${nodes}})`],
      ['Replication links', `sum(redis_connected_slaves{${nodes}})`],
      ['Lost writes', `sum(redis_keda_consistency_lost_writes_total{${checker}})`],
      ['Not-acknowledged writes', `sum(redis_keda_consistency_not_acknowledged_writes_total{${checker}})`],
      ['Longest write gap', `max(redis_keda_consistency_longest_write_gap_seconds{${checker}})`],
      ['Checker reads and writes per second', `sum(rate(redis_keda_consistency_writes_total{${checker}}[$__rate_interval]))`],
      ['Checker reads and writes per second', `sum(rate(redis_keda_consistency_reads_total{${checker}}[$__rate_interval]))`],
      ['Checker reads and writes per second', `sum(rate(redis_keda_consistency_failed_writes_total{${checker}}[$__rate_interval]))`],
      ['Checker reads and writes per second', `sum(rate(redis_keda_consistency_failed_reads_total{${checker}}[$__rate_interval]))`],
    ]);
    // The node pattern matches the StatefulSet's pods and not the checker's; the checker's pattern the reverse.
    expect(matchesPod('cache-[0-9]+', 'cache-5')).toBe(true);
    expect(matchesPod('cache-[0-9]+', podOf('cache-consistency'))).toBe(false);
    expect(matchesPod('cache-consistency-[a-z0-9]+-[a-z0-9]+', podOf('cache-consistency'))).toBe(true);

    const chart = testChart();
    const dashboards = new Dashboards(chart, 'dashboards');
    const plain = dashboards.addRedisCluster(new RedisCluster(chart, 'plain', { exporter: {} }));
    expect(
      model(plain)
        .panels.filter((p: Doc) => p.type === 'row')
        .map((p: Doc) => p.title),
    ).toEqual(['Cluster', 'Nodes']);
    const bare = new RedisCluster(chart, 'bare');
    expect(() => dashboards.addRedisCluster(bare)).toThrow(`test/dashboards: 'cluster' ("test/bare") must run the redis_exporter sidecar ('exporter' of the RedisCluster)`);
  });

  test('uids: derived from the construct path, at most 40 characters, unique, the same on every synth; an explicit uid is kept', () => {
    const first = fleetChart().dashboards.dashboards.map((d) => d.uid);
    const again = fleetChart().dashboards.dashboards.map((d) => d.uid);
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(5);
    for (const uid of first) expect(uid).toMatch(/^[a-z0-9-]{1,40}$/);
    // The kind and the subject's path in its chart, and a hash of the whole construct path.
    expect(first.map((uid) => uid.slice(0, -8))).toEqual(['queue-fleet-worker-', 'job-per-event-consumer-', 'celery-celery-', 'redis-queue-', 'redis-cluster-cluster-']);
    for (const uid of first) expect(uid).toMatch(/-[0-9a-f]{8}$/);
    const long = fleetChart();
    const longWorker = new QueueWorker(long.chart, 'a-very-long-construct-id-for-the-workers-of-this-fleet', { queue: long.queue });
    const longUid = long.dashboards.addQueueFleet(longWorker).uid;
    expect(longUid).toMatch(/^queue-fleet-a-very-long-constru-[0-9a-f]{8}$/);
    expect(longUid.length).toBeLessThanOrEqual(40);
    // Another Dashboards of the same chart gets other uids.
    const { chart, worker } = fleetChart();
    const second = new Dashboards(chart, 'more').addQueueFleet(worker);
    expect(first).not.toContain(second.uid);
    expect(new Dashboards(testChart(), 'explicit').addRedis({ exporter: new QueueExporter(Chart.of(worker), 'x', { queues: [worker.queue] }), uid: 'redis_Overview-1' }).uid).toBe(
      'redis_Overview-1',
    );
  });

  test('a ConfigMap over the 256 KiB kubectl apply takes is refused, naming the path, the dashboard and its size', () => {
    const chart = testChart();
    const queue = new RedisQueue(chart, 'queue');
    const worker = new QueueWorker(chart, 'worker', { queue });
    const dashboards = new Dashboards(chart, 'dashboards');
    // The data is not an annotation, but its copy in the last-applied configuration is.
    const fits = dashboards.addQueueFleet(worker, { title: 't'.repeat(240_000), uid: 'fits' });
    expect(fits.json.length).toBeGreaterThan(240_000);
    let message = '';
    try {
      new Dashboards(chart, 'big').addQueueFleet(worker, { title: 't'.repeat(250_000) });
    } catch (e) {
      message = (e as Error).message;
    }
    const m = message.match(
      /^test\/big: 'queue-fleet' \("queue-fleet-worker-[0-9a-f]{8}: (\d+) bytes of annotations"\) must fit the 262144 bytes the API server takes: client-side 'kubectl apply' copies the whole ConfigMap into 'kubectl.kubernetes.io\/last-applied-configuration'/,
    );
    expect(message).not.toBe('');
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(262_144);
    expect(Number(m![1])).toBeLessThan(262_144 + 20_000);
    // Nothing half-made was kept.
    expect(dashboardConfigMaps(synth(chart)).map((c) => Object.keys(c.data))).toEqual([['fits.json']]);
    // What is added to the ConfigMap afterwards is measured again at synth.
    fits.configMap.addData('notes.txt', 'n'.repeat(30_000));
    expect(() => synth(chart)).toThrow(/test\/dashboards: 'queue-fleet' \("fits: \d+ bytes of annotations"\) must fit the 262144 bytes/);
  });

  test('invalid props and arguments are refused with the path, the prop and the value', () => {
    const { chart, queue, worker, exporter, scaler, celeryScaler, job } = fleetChart();
    const d = (props: DashboardsProps = {}) => new Dashboards(chart, `d${Math.random().toString(36).slice(2, 8)}`, props);
    expect(() => new Dashboards(chart, 'a', { folder: 'a/b' })).toThrow(`test/a: 'folder' ("a/b") must be a folder name`);
    expect(() => new Dashboards(chart, 'b', { namespace: 'Monitoring' })).toThrow(`test/b: 'namespace' ("Monitoring") must be a DNS-1123 label`);
    expect(() => new Dashboards(chart, 'c', { labels: { release: 'kube prometheus' } })).toThrow(`test/c: 'labels.release' ("kube prometheus") must be a label value`);
    expect(() => new Dashboards(chart, 'e', { labels: { 'a/b/c': 'x' } })).toThrow(`test/e: 'labels' ("a/b/c") must be a label key`);
    expect(() => new Dashboards(chart, 'f', { folderAnnotation: 'bad key' })).toThrow(`test/f: 'folderAnnotation' ("bad key") must be an annotation key`);
    expect(() => new Dashboards(chart, 'g', { datasource: '' })).toThrow(`test/g: 'datasource' ("") must be the name or uid of a data source`);
    const ds = new Dashboards(chart, 'h');
    expect(() => ds.addQueueFleet(worker, { uid: 'x'.repeat(41) })).toThrow(`test/h: 'uid' ("${'x'.repeat(41)}") must be 1 to 40 letters, digits, "-" or "_"`);
    expect(() => ds.addQueueFleet(worker, { uid: 'has space' })).toThrow(`test/h: 'uid' ("has space")`);
    ds.addQueueFleet(worker, { uid: 'fleet' });
    expect(() => ds.addQueueFleet(worker)).toThrow(`test/h: 'queue-fleet' ("test/worker") already has a queue-fleet dashboard in test/h`);
    expect(() => ds.addRedis({ queue, uid: 'fleet' })).toThrow(`test/h: 'uid' ("fleet") must be unique: test/h already has a dashboard with it`);
    expect(() => d().addQueueFleet(worker, { scaler: celeryScaler })).toThrow(
      /'scaler' \("test\/celery-scaler"\) must scale Deployment test-worker-deployment-c8[0-9a-f]+ \(it scales Deployment test-celery-deployment-c8[0-9a-f]+\)/,
    );
    const other = new RedisQueue(chart, 'other', { listName: 'orders' });
    const otherWorker = new QueueWorker(chart, 'other-worker', { queue: other });
    expect(() => d().addQueueFleet(otherWorker, { exporter })).toThrow(`'exporter' ("orders") must be a list the exporter test/exporter exports (events)`);
    const two = new QueueExporter(chart, 'two', { queues: [queue, { connection: queue.connection, listName: 'more' }] });
    expect(() => d().addJobPerEvent(job, { exporter: two })).toThrow(`'queue' (undefined) must name which of the exporter's lists (events, more) the Jobs consume`);
    expect(d().addJobPerEvent(job, { exporter: two, queue }).queries[0].expr).toContain('list="events"');
    expect(() => d().addRedis({ queue: other })).toThrow(`'queue' ("test/other") must run the redis_exporter sidecar ('exporter' of the RedisQueue)`);
    expect(() => d().addRedis({})).toThrow(`'queue' (undefined) or 'exporter' must be given`);
    expect(scaler).toBeDefined();
  });

  test('a workload in a chart without a namespace is refused: its series are selected by namespace', () => {
    const chart = testChart(null);
    const queue = new RedisQueue(chart, 'queue');
    const worker = new QueueWorker(chart, 'worker', { queue });
    expect(() => new Dashboards(chart, 'dashboards', { namespace: 'monitoring' }).addQueueFleet(worker)).toThrow(
      `test/dashboards: 'queue-fleet' ("test/worker") is in a chart without a namespace; the dashboards select its series by namespace: set the chart's 'namespace'`,
    );
  });

  test('a queue fleet without exporter or scaler reads the depth from the workers and has no KEDA row', () => {
    const chart = testChart();
    const worker = new QueueWorker(chart, 'worker', { name: 'w', queue: new RedisQueue(chart, 'queue') });
    const d = new Dashboards(chart, 'dashboards').addQueueFleet(worker);
    expect(d.queries[0].expr).toBe('max by (state) (redis_keda_queue_depth{namespace="$namespace", pod=~"w-[a-z0-9]+-[a-z0-9]+"})');
    expect(
      model(d)
        .panels.filter((p: Doc) => p.type === 'row')
        .map((p: Doc) => p.title),
    ).toEqual(['Queue', 'Throughput', 'Latency', 'Scaling']);
    expect(d.queries.filter((q) => q.panel === 'Replicas')).toHaveLength(2);
  });

  test('panels do not overlap and ids are unique', () => {
    for (const d of fleetChart().dashboards.dashboards) {
      const panels = model(d).panels as Doc[];
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      for (const [i, a] of panels.entries()) {
        expect(a.gridPos.x + a.gridPos.w).toBeLessThanOrEqual(24);
        for (const b of panels.slice(i + 1)) {
          const apart =
            a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
            b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
            a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
            b.gridPos.y + b.gridPos.h <= a.gridPos.y;
          expect({ a: a.title, b: b.title, apart }).toEqual({ a: a.title, b: b.title, apart: true });
        }
      }
    }
  });

  test('the Dashboards of another chart read the workloads of theirs', () => {
    const app = Testing.app();
    const workloads = new Chart(app, 'workloads', { namespace: 'queues' });
    const monitoring = new Chart(app, 'monitoring', { namespace: 'monitoring' });
    const worker = new QueueWorker(workloads, 'worker', { name: 'w', queue: new RedisQueue(workloads, 'queue') });
    const d = new Dashboards(monitoring, 'dashboards').addQueueFleet(worker);
    expect(d.variables).toEqual({ namespace: 'queues' });
    expect(d.configMap.metadata.namespace).toBe('monitoring');
    expect(d.title).toBe('Queue fleet w (queues)');
  });
});
