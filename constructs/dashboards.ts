import { ApiObject, Chart, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct, IConstruct } from 'constructs';
import type { CeleryWorker } from './celery-worker';
import type { ExternalScaler } from './external-scaler';
import type { Forecaster } from './forecaster';
import type { KedaScaledJob } from './keda-scaled-job';
import type { KedaScaledObject } from './keda-scaled-object';
import { celeryDashboard, DashboardHeader, jobPerEventDashboard, queueFleetDashboard } from './private/dashboards/fleets';
import { forecastDashboard, ForecastWorkloadInput } from './private/dashboards/forecast';
import { buildDashboard, DashboardSpec, DATASOURCE_VARIABLE, NAMESPACE_VARIABLE } from './private/dashboards/model';
import { redisDashboard } from './private/dashboards/redis';
import { redisClusterDashboard } from './private/dashboards/redis-cluster';
import { checkName, propError } from './private/validation';
import type { QueueExporter } from './queue-exporter';
import type { QueueWorker } from './queue-worker';
import type { RedisCluster } from './redis-cluster';
import type { RedisQueue } from './redis-queue';
import type { LeasedList } from './triggers';

/** The label kube-prometheus-stack's Grafana sidecar selects dashboard ConfigMaps by (`sidecar.dashboards.label`). */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';
/** The value kube-prometheus-stack's sidecar wants on that label (`sidecar.dashboards.labelValue`). */
export const GRAFANA_DASHBOARD_LABEL_VALUE = '1';
/** The annotation the k8s-sidecar reads a ConfigMap's target folder from unless `FOLDER_ANNOTATION` names another. */
export const DEFAULT_FOLDER_ANNOTATION = 'k8s-sidecar-target-directory';
/** Total size of an object's annotations the API server accepts: client-side `kubectl apply` copies the whole object into one. */
export const ANNOTATIONS_SIZE_LIMIT_BYTES = 256 * 1024;
/** The annotation client-side `kubectl apply` writes the applied object into. */
const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Grafana's limit on a dashboard uid. */
const UID_MAX_LENGTH = 40;

/** Props of Dashboards. */
export interface DashboardsProps {
  /**
   * Namespace of the ConfigMaps: one the Grafana sidecar searches (kube-prometheus-stack searches all,
   * `sidecar.dashboards.searchNamespace: ALL`; the plain Grafana chart only Grafana's own).
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * More labels on every ConfigMap, after `grafana_dashboard: "1"` (so a Grafana whose sidecar wants another
   * value can have it).
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * Folder the sidecar writes the dashboards into, relative to its dashboards directory; Grafana shows it
   * as a folder with `sidecar.dashboards.provider.foldersFromFilesStructure: true`.
   * @default "redis-keda"
   */
  readonly folder?: string;
  /**
   * The annotation carrying `folder`: the sidecar's `FOLDER_ANNOTATION` (the Grafana chart's
   * `sidecar.dashboards.folderAnnotation`, which leaves the sidecar's default when unset).
   * @default DEFAULT_FOLDER_ANNOTATION ("k8s-sidecar-target-directory")
   */
  readonly folderAnnotation?: string;
  /**
   * The Prometheus data source (name or uid) the dashboards open with; the viewer can pick another in the
   * `datasource` variable. kube-prometheus-stack's is `prometheus`.
   * @default - Grafana's default Prometheus data source
   */
  readonly datasource?: string;
}

/** What every dashboard takes. */
export interface DashboardOptions {
  /**
   * Title of the dashboard.
   * @default - the kind of dashboard, the workload's name and namespace
   */
  readonly title?: string;
  /**
   * The dashboard's uid (letters, digits, `-` and `_`, at most 40): its URL and what a link to it keeps.
   * @default - derived from the construct path, stable while the path is
   */
  readonly uid?: string;
}

/** Options of a queue fleet's dashboard. */
export interface QueueFleetDashboardOptions extends DashboardOptions {
  /**
   * The ScaledObject scaling the fleet: its HPA's replicas and KEDA's view of its triggers.
   * @default - no KEDA panels
   */
  readonly scaler?: KedaScaledObject;
  /**
   * A QueueExporter of the fleet's list: the depth by state and the oldest event's age even while no worker runs.
   * @default - the depth as the workers serve it (none at zero workers), no oldest event age
   */
  readonly exporter?: QueueExporter;
}

/** Options of a Job-per-event dashboard. */
export interface JobPerEventDashboardOptions extends DashboardOptions {
  /**
   * A QueueExporter of the list the Jobs consume: its depth by state and oldest event's age.
   * @default - no queue panels (Jobs serve no metrics)
   */
  readonly exporter?: QueueExporter;
  /**
   * The list the Jobs consume, one of the exporter's.
   * @default - the exporter's list, when it exports only one
   */
  readonly queue?: LeasedList;
}

/** Options of a Celery worker fleet's dashboard. */
export interface CeleryDashboardOptions extends DashboardOptions {
  /**
   * The ScaledObject scaling the workers.
   * @default - no KEDA panels
   */
  readonly scaler?: KedaScaledObject;
}

/** Options of a Redis dashboard: the queue's Redis, the queue exporter, or both. */
export interface RedisDashboardOptions extends DashboardOptions {
  /**
   * The RedisQueue, with its `exporter` sidecar: up, memory used against maxmemory, clients, commands.
   * @default - no Redis panels
   */
  readonly queue?: RedisQueue;
  /**
   * A QueueExporter: its up, and the depth and oldest event's age of each of its lists.
   * @default - no exporter panels
   */
  readonly exporter?: QueueExporter;
}

/** Options of a forecast dashboard. */
export interface ForecastDashboardOptions extends DashboardOptions {
  /**
   * The ExternalScaler serving the forecasts: its calls, errors and latency.
   * @default - no scaler panels
   */
  readonly scaler?: ExternalScaler;
  /**
   * The ScaledObjects with the forecaster's triggers: per workload, the HPA's desired and the Deployment's ready
   * replicas beside the forecast's (each is matched to its workload by its external trigger).
   * @default - only the forecast's replicas
   */
  readonly scaledObjects?: KedaScaledObject[];
}

/** One panel query as the dashboard holds it, before Grafana substitutes its variables. */
export interface DashboardQuery {
  /** Title of the panel. */
  readonly panel: string;
  /** The query's refId within the panel (`A`, `B`, ...). */
  readonly refId: string;
  /** The PromQL, with `$namespace` and Grafana's `$__rate_interval` in it. */
  readonly expr: string;
  /** The data source uid the target names: always the `datasource` variable. */
  readonly datasource: string;
}

/** A dashboard as written to its ConfigMap. */
export interface GrafanaDashboard {
  /** The dashboard's uid. */
  readonly uid: string;
  /** The dashboard's title. */
  readonly title: string;
  /** The ConfigMap holding it. */
  readonly configMap: kplus.ConfigMap;
  /** The ConfigMap's data key, `<uid>.json`. */
  readonly fileName: string;
  /** Grafana's JSON model of the dashboard, exactly the ConfigMap's data. */
  readonly json: string;
  /** Every panel's queries, in panel order. */
  readonly queries: DashboardQuery[];
  /**
   * The dashboard variables' initial values by name: `namespace`, and `datasource` unless Grafana picks its
   * default Prometheus data source.
   */
  readonly variables: Record<string, string>;
}

/**
 * Grafana dashboards of the chart's workloads, built with the Grafana Foundation SDK, one ConfigMap each,
 * labelled for the Grafana sidecar of kube-prometheus-stack. Every panel reads the data source variable
 * `datasource`; every query selects the workloads' series by `namespace` (the `namespace` variable, the
 * workloads' chart namespace) and `pod`.
 */
export class Dashboards extends Construct {
  /** Namespace of the ConfigMaps, undefined when neither the prop nor the chart sets one. */
  public readonly namespace?: string;
  /** Labels of every ConfigMap. */
  public readonly labels: Record<string, string>;
  /** Folder the sidecar puts the dashboards in. */
  public readonly folder: string;
  /** The annotation carrying the folder. */
  public readonly folderAnnotation: string;
  /** The data source the dashboards open with, undefined for Grafana's default. */
  public readonly datasource?: string;
  /** The dashboards added so far. */
  public readonly dashboards: GrafanaDashboard[] = [];

  public constructor(scope: Construct, id: string, props: DashboardsProps = {}) {
    super(scope, id);
    checkName(this, 'namespace', props.namespace);
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    this.folder = props.folder ?? 'redis-keda';
    if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(this.folder) || this.folder.length > 100) {
      throw propError(this, 'folder', this.folder, 'must be a folder name: letters, digits, space, ".", "_" and "-", at most 100 characters, no "/"');
    }
    this.folderAnnotation = props.folderAnnotation ?? DEFAULT_FOLDER_ANNOTATION;
    if (!isQualifiedName(this.folderAnnotation)) throw propError(this, 'folderAnnotation', this.folderAnnotation, 'must be an annotation key: [prefix/]name');
    for (const [key, value] of Object.entries(props.labels ?? {})) {
      if (!isQualifiedName(key)) throw propError(this, 'labels', key, 'must be a label key: [prefix/]name');
      if (!/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) || value.length > 63) {
        throw propError(this, `labels.${key}`, value, 'must be a label value: at most 63 letters, digits, "-", "_" and ".", starting and ending alphanumeric');
      }
    }
    this.labels = { [GRAFANA_DASHBOARD_LABEL]: GRAFANA_DASHBOARD_LABEL_VALUE, ...props.labels };
    if (props.datasource !== undefined && !/^\S+( \S+)*$/.test(props.datasource)) {
      throw propError(this, 'datasource', props.datasource, 'must be the name or uid of a data source');
    }
    this.datasource = props.datasource;
  }

  /**
   * A QueueWorker fleet: its list's depth by state and oldest event (with `exporter`), events processed, failed,
   * retried, redelivered and dead-lettered per second, end-to-end latency and handler time p50/p95/p99, events
   * in flight, replicas desired and ready, and KEDA's view of the `scaler`.
   */
  public addQueueFleet(worker: QueueWorker, options: QueueFleetDashboardOptions = {}): GrafanaDashboard {
    const list = worker.queue.listName;
    if (options.exporter) this.checkExports(options.exporter, list, 'exporter');
    if (options.scaler) this.checkScales(options.scaler, worker.deployment);
    const deployment = worker.deployment.name;
    return this.add('queue-fleet', worker, options, `Queue fleet ${deployment}`, (header) =>
      queueFleetDashboard(header, { deployment, list, scaledObject: options.scaler?.apiObject.name, exporter: options.exporter?.deployment.name }),
    );
  }

  /** A ScaledJob starting a Job per event: its list's depth and oldest event (with `exporter`), its Jobs, and KEDA's view of it. */
  public addJobPerEvent(job: KedaScaledJob, options: JobPerEventDashboardOptions = {}): GrafanaDashboard {
    let list = options.queue?.listName;
    if (options.exporter) {
      if (list !== undefined) this.checkExports(options.exporter, list, 'queue');
      else if (options.exporter.listNames.length === 1) list = options.exporter.listNames[0];
      else throw propError(this, 'queue', undefined, `must name which of the exporter's lists (${options.exporter.listNames.join(', ')}) the Jobs consume`);
    }
    const scaledJob = job.apiObject.name;
    return this.add('job-per-event', job, options, `Job per event ${scaledJob}`, (header) =>
      jobPerEventDashboard(header, { scaledJob, exporter: options.exporter?.deployment.name, list: options.exporter ? list : undefined }),
    );
  }

  /** A CeleryWorker fleet: tasks per second by state and by task, task time p50/p95/p99, tasks held, restores, replicas, KEDA. */
  public addCelery(worker: CeleryWorker, options: CeleryDashboardOptions = {}): GrafanaDashboard {
    if (options.scaler) this.checkScales(options.scaler, worker.deployment);
    const deployment = worker.deployment.name;
    return this.add('celery', worker, options, `Celery workers ${deployment}`, (header) =>
      celeryDashboard(header, { deployment, queues: worker.queues, scaledObject: options.scaler?.apiObject.name }),
    );
  }

  /**
   * A Forecaster's workloads: forecast vs actual, the forecast's desired replicas vs the HPA's and the ready ones
   * (with `scaledObjects`), the forecast's age against its staleness limit, the forecaster's errors, and the
   * ExternalScaler's calls, errors and latency (with `scaler`).
   */
  public addForecast(forecaster: Forecaster, options: ForecastDashboardOptions = {}): GrafanaDashboard {
    const targets = new Map<string, { deployment?: string; scaledObject: string }>();
    for (const scaled of options.scaledObjects ?? []) {
      const spec = ApiObject.of(scaled.apiObject).toJson().spec ?? {};
      const workload = (spec.triggers ?? []).find((t: { type?: string }) => t.type === 'external')?.metadata?.workload as string | undefined;
      if (!workload || !forecaster.workloads.some((w) => w.name === workload)) {
        throw propError(this, 'scaledObjects', scaled.node.path, `must carry a trigger of the forecaster ${forecaster.node.path} (forecaster.trigger())`);
      }
      const kind = spec.scaleTargetRef?.kind ?? 'Deployment';
      targets.set(workload, { deployment: kind === 'Deployment' ? spec.scaleTargetRef?.name : undefined, scaledObject: scaled.apiObject.name });
    }
    const workloads: ForecastWorkloadInput[] = forecaster.workloads.map((w) => ({ name: w.name, staleAfterSeconds: w.staleAfter.toSeconds(), ...targets.get(w.name) }));
    if (workloads.length === 0) throw propError(this, 'forecaster', forecaster.node.path, 'must have a workload (addWorkload()) before its dashboard is added');
    const name = forecaster.deployment.name;
    return this.add('forecast', forecaster, options, `Forecasts ${name}`, (header) =>
      forecastDashboard(header, { forecaster: name, scaler: options.scaler?.deployment.name, workloads }),
    );
  }

  /** A queue's Redis (through its redis_exporter sidecar) and a QueueExporter, either or both. */
  public addRedis(options: RedisDashboardOptions): GrafanaDashboard {
    const { queue, exporter } = options;
    if (queue && queue.exporterImage === undefined) throw propError(this, 'queue', queue.node.path, "must run the redis_exporter sidecar ('exporter' of the RedisQueue)");
    const subject = queue ?? exporter;
    if (!subject) throw propError(this, 'queue', undefined, "or 'exporter' must be given");
    const name = queue ? queue.statefulSet.name : exporter!.deployment.name;
    return this.add('redis', subject, options, `Redis ${name}`, (header) => redisDashboard(header, { statefulSet: queue?.statefulSet.name, exporter: exporter?.deployment.name }));
  }

  /**
   * A RedisCluster, through its nodes' redis_exporter sidecars (`--is-cluster`): cluster state, slots ok, assigned
   * and failing, masters, known nodes, and per node memory against maxmemory, commands per second, clients and
   * replication; with its `consistencyChecker`, the lost and not-acknowledged writes, the longest write gap and its
   * reads and writes per second.
   */
  public addRedisCluster(cluster: RedisCluster, options: DashboardOptions = {}): GrafanaDashboard {
    if (cluster.exporterImage === undefined) throw propError(this, 'cluster', cluster.node.path, "must run the redis_exporter sidecar ('exporter' of the RedisCluster)");
    const statefulSet = cluster.statefulSet.name;
    return this.add('redis-cluster', cluster, options, `Redis Cluster ${statefulSet}`, (header) =>
      redisClusterDashboard(header, { statefulSet, checker: cluster.consistencyChecker?.name }),
    );
  }

  private add(kind: string, subject: IConstruct, options: DashboardOptions, defaultTitle: string, build: (header: DashboardHeader) => DashboardSpec): GrafanaDashboard {
    const namespace = Chart.of(subject).namespace;
    if (!namespace) {
      throw propError(this, kind, subject.node.path, "is in a chart without a namespace; the dashboards select its series by namespace: set the chart's 'namespace'");
    }
    const id = `${kind}-${relativePath(subject)}`;
    if (this.node.tryFindChild(id)) throw propError(this, kind, subject.node.path, `already has a ${kind} dashboard in ${this.node.path}`);
    const scope = new Construct(this, id);
    try {
      return this.render(scope, kind, namespace, options, defaultTitle, build);
    } catch (e) {
      // Nothing half-made stays in the tree: the call can be made again, corrected.
      this.node.tryRemoveChild(id);
      throw e;
    }
  }

  private render(
    scope: Construct,
    kind: string,
    namespace: string,
    options: DashboardOptions,
    defaultTitle: string,
    build: (header: DashboardHeader) => DashboardSpec,
  ): GrafanaDashboard {
    const uid = options.uid ?? defaultUid(kind, scope);
    if (!/^[A-Za-z0-9_-]+$/.test(uid) || uid.length > UID_MAX_LENGTH) throw propError(this, 'uid', uid, 'must be 1 to 40 letters, digits, "-" or "_"');
    if (this.dashboards.some((d) => d.uid === uid)) throw propError(this, 'uid', uid, `must be unique: ${this.node.path} already has a dashboard with it`);
    const title = options.title ?? `${defaultTitle} (${namespace})`;
    if (title.trim() === '') throw propError(this, 'title', title, 'must not be empty');

    const json = JSON.stringify(buildDashboard(build({ uid, title, datasource: this.datasource, namespace })), null, 2);
    const fileName = `${uid}.json`;
    const configMap = new kplus.ConfigMap(scope, 'config-map', {
      metadata: {
        // Named after the dashboard's uid (unique, stable), so `kubectl get configmap` says which dashboard it holds.
        name: configMapName(uid),
        ...(this.namespace !== undefined ? { namespace: this.namespace } : {}),
        labels: this.labels,
        annotations: { [this.folderAnnotation]: this.folder },
      },
      data: { [fileName]: json },
    });
    const tooLarge = () => this.sizeError(kind, uid, configMap);
    const now = tooLarge();
    if (now) throw now;
    // Labels, annotations or data added to the ConfigMap later count too: measured again at synth.
    this.node.addValidation({ validate: () => [tooLarge()?.message].filter((m): m is string => m !== undefined) });
    const dashboard: GrafanaDashboard = {
      uid,
      title,
      configMap,
      fileName,
      json,
      queries: queriesOf(json),
      variables: { [NAMESPACE_VARIABLE]: namespace, ...(this.datasource !== undefined ? { [DATASOURCE_VARIABLE]: this.datasource } : {}) },
    };
    this.dashboards.push(dashboard);
    return dashboard;
  }

  /** Client-side `kubectl apply` copies the whole object into an annotation; all annotations together must fit the API server's limit. */
  private sizeError(kind: string, uid: string, configMap: kplus.ConfigMap): Error | undefined {
    const manifest = ApiObject.of(configMap).toJson();
    const annotations: Record<string, string> = { ...manifest.metadata?.annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(manifest) };
    const bytes = Object.entries(annotations).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (bytes <= ANNOTATIONS_SIZE_LIMIT_BYTES) return undefined;
    return propError(
      this,
      kind,
      `${uid}: ${bytes} bytes of annotations`,
      `must fit the ${ANNOTATIONS_SIZE_LIMIT_BYTES} bytes the API server takes: client-side 'kubectl apply' copies the whole ConfigMap into '${LAST_APPLIED_ANNOTATION}' (shorten the dashboard, or apply with --server-side)`,
    );
  }

  private checkExports(exporter: QueueExporter, list: string, prop: string): void {
    if (!exporter.listNames.includes(list)) throw propError(this, prop, list, `must be a list the exporter ${exporter.node.path} exports (${exporter.listNames.join(', ')})`);
  }

  private checkScales(scaler: KedaScaledObject, deployment: kplus.Deployment): void {
    const target = ApiObject.of(scaler.apiObject).toJson().spec?.scaleTargetRef;
    if (target?.name !== deployment.name || (target.kind ?? 'Deployment') !== 'Deployment') {
      throw propError(this, 'scaler', scaler.node.path, `must scale Deployment ${deployment.name} (it scales ${target?.kind ?? 'Deployment'} ${target?.name})`);
    }
  }
}

/**
 * `<kind>-<subject's path in its chart>`, shortened, then the hash cdk8s derives from the whole construct path:
 * readable, at most 40 characters, and the same on every synth while the path is.
 */
function defaultUid(kind: string, scope: Construct): string {
  const hash = Names.toLabelValue(scope).slice(-8);
  const readable = scope.node.id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, UID_MAX_LENGTH - hash.length - 1)
    .replace(/^-+|-+$/g, '');
  return `${readable || kind}-${hash}`;
}

/** The subject's path inside its chart, `-`-joined (a construct id holds no `/`). */
function relativePath(subject: IConstruct): string {
  const chart = Chart.of(subject);
  const scopes = subject.node.scopes;
  return scopes
    .slice(scopes.indexOf(chart) + 1)
    .map((s) => s.node.id)
    .join('-');
}

/** `[prefix/]name` as Kubernetes has label and annotation keys. */
function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const nameOk = name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
  const prefixOk = prefix === undefined || (prefix.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix));
  return nameOk && prefixOk;
}

function queriesOf(json: string): DashboardQuery[] {
  const model = JSON.parse(json) as { panels?: Array<{ title: string; targets?: Array<{ refId: string; expr: string; datasource: { uid: string } }> }> };
  return (model.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr, datasource: t.datasource.uid })));
}

/** `dashboard-<uid>` as a DNS subdomain name: lower case, other characters as '-', at most 253. */
function configMapName(uid: string): string {
  return `dashboard-${uid}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/-+$/, '')
    .slice(0, 253);
}
