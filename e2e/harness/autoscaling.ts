/**
 * What KEDA and the HPA decided, read back from a {@link ControlPlane}: a ScaledObject's
 * conditions, the values KEDA's adapter serves to the HPA (external.metrics.k8s.io, through the
 * aggregator, as the HPA controller reads them), the HPA controller's own counters (how many syncs
 * happened, and how they ended), Events, and a timeline sampler that records replicas beside the
 * queue's counts while a test runs.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import type { ControlPlane } from './control-plane';
import { waitFor } from './wait';

/** A status condition of a Kubernetes or KEDA object. */
export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** The condition `type` of `object`'s status, as { type, status, reason, message }; undefined if it has none yet. */
export function conditionOf(object: any, type: string): Condition | undefined {
  const found = (object?.status?.conditions ?? []).find((c: any) => c.type === type);
  return found && { type: found.type, status: found.status, reason: found.reason, message: found.message };
}

/**
 * A probe for waitFor: reads an object with `read` and returns it once each condition type in `want` has that status;
 * until then it throws with the conditions it found (and a ScaledObject's trigger health), so a timeout says what was there.
 */
export function conditionsAre(read: () => Promise<any>, want: Readonly<Record<string, 'True' | 'False'>>): () => Promise<any> {
  return async () => {
    const object = await read();
    const found = Object.keys(want).map((type) => conditionOf(object, type) ?? { type });
    if (found.every((c) => 'status' in c && c.status === want[c.type])) return object;
    const health = object?.status?.health === undefined ? '' : `, health ${JSON.stringify(object.status.health)}`;
    throw new Error(`conditions ${JSON.stringify(found)}${health}`);
  };
}

/** The label the HPA's external metric selectors of a ScaledObject carry (KEDA's adapter finds the ScaledObject by it). */
export const SCALED_OBJECT_LABEL = 'scaledobject.keda.sh/name';

/**
 * The values KEDA's adapter serves for one external metric of a ScaledObject: a GET of
 * /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=scaledobject.keda.sh/name=<name>,
 * the request the HPA controller makes (the metric name percent-encoded, control characters included).
 */
export async function externalMetric(plane: ControlPlane, namespace: string, metricName: string, scaledObject: string): Promise<{ metricName: string; value: string }[]> {
  const selector = encodeURIComponent(`${SCALED_OBJECT_LABEL}=${scaledObject}`);
  const path = `/apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${encodeURIComponent(metricName)}?labelSelector=${selector}`;
  const list = JSON.parse(await plane.kubectl.ok(['get', '--raw', path]));
  if (list.kind !== 'ExternalMetricValueList') throw new Error(`GET ${path} returned a ${list.kind}`);
  return list.items.map((item: any) => ({ metricName: item.metricName, value: item.value }));
}

/** The HPA's status.currentMetrics of external metrics, by metric name -> current.averageValue (or .value). */
export function hpaCurrentMetrics(hpa: any): Record<string, string> {
  return Object.fromEntries(
    (hpa?.status?.currentMetrics ?? [])
      .filter((m: any) => m.type === 'External')
      .map((m: any) => [m.external.metric.name, m.external.current.averageValue ?? m.external.current.value]),
  );
}

/**
 * Waits until HPA `name`'s own readings (status.currentMetrics, per pod for AverageValue targets) are
 * exactly `expected`, by metric name; returns them. Throws with the last readings after `timeoutMs`.
 */
export async function hpaReadingsReach(
  plane: ControlPlane,
  namespace: string,
  name: string,
  expected: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Record<string, string>> {
  return waitFor(
    `HPA ${name} reading ${JSON.stringify(expected)}`,
    async () => {
      const current = hpaCurrentMetrics(await plane.kubectl.getJson([`hpa/${name}`, '-n', namespace]));
      if (JSON.stringify(current) === JSON.stringify(expected)) return current;
      throw new Error(`it reads ${JSON.stringify(current)}`);
    },
    timeoutMs,
  );
}

/** One counter of a Prometheus text exposition, by its label set rendered `k=v,k=v` (sorted), summed when repeated. */
export function counterSamples(text: string, name: string): Record<string, number> {
  const samples: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = [...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)]
      .map(([, k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
    samples[labels] = (samples[labels] ?? 0) + Number(match[2]);
  }
  return samples;
}

/** kube-controller-manager's HPA counters: reconciliations by `action,error`, and metric computations by `action,error,metric_type`. */
export async function hpaControllerCounters(plane: ControlPlane): Promise<{ reconciliations: Record<string, number>; computations: Record<string, number> }> {
  const text = await plane.componentMetrics('kube-controller-manager');
  return {
    reconciliations: counterSamples(text, 'horizontal_pod_autoscaler_controller_reconciliations_total'),
    computations: counterSamples(text, 'horizontal_pod_autoscaler_controller_metric_computation_total'),
  };
}

/** `after - before` of every label set of a counter (label sets absent before count from 0). */
export function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([labels, value]) => [labels, value - (before[labels] ?? 0)] as const)
      .filter(([, delta]) => delta !== 0),
  );
}

/** An Event of a namespace, as far as the tests read it. */
export interface ClusterEvent {
  readonly kind: string;
  readonly name: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
}

/** The Events about objects of `namespace` (core/v1 view: KEDA records events.k8s.io Events, whose `note` is the `message` here). */
export async function eventsOf(plane: ControlPlane, namespace: string): Promise<ClusterEvent[]> {
  const list = await plane.kubectl.getJson<{ items: any[] }>(['events', '-n', namespace]);
  return list.items.map((e) => ({
    kind: e.involvedObject?.kind,
    name: e.involvedObject?.name,
    type: e.type,
    reason: e.reason,
    message: e.message,
    count: e.series?.count ?? e.count ?? 1,
  }));
}

/** One reading of a timeline: `t` ms after the timeline's start when the reading began, `dt` how long it took. */
export type Sample<S> = { readonly t: number; readonly dt: number } & S;

/**
 * Reads `read()` every `intervalMs` (the next reading starts `intervalMs` after the previous one
 * began, or at once if it took longer) from start() to stop(), and keeps labelled marks of what the
 * test did, on the same clock. A reading that throws is counted, not kept.
 */
export class Timeline<S extends object> {
  readonly samples: Sample<S>[] = [];
  readonly marks: { readonly t: number; readonly mark: string }[] = [];
  /** Wall clock (ms since the epoch) of t = 0. */
  origin = 0;
  failedReads = 0;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly read: () => Promise<S>,
    readonly intervalMs = 500,
  ) {}

  start(): void {
    this.origin = Date.now();
    this.running = this.loop();
  }

  /** ms on the timeline's clock now. */
  now(): number {
    return Date.now() - this.origin;
  }

  /** Records what the test does now; returns the time on the timeline. */
  mark(mark: string): number {
    const t = this.now();
    this.marks.push({ t, mark });
    return t;
  }

  /** The samples that began at or after `from` and ended by `to` (timeline ms). */
  between(from: number, to = Infinity): Sample<S>[] {
    return this.samples.filter((s) => s.t >= from && s.t + s.dt <= to);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** The whole record as one JSON line, also written to `<dir>/timeline-<name>.json` when `dir` is given. */
  report(name: string, extra: object = {}, dir?: string): string {
    const line = JSON.stringify({
      timeline: name,
      origin: new Date(this.origin).toISOString(),
      intervalMs: this.intervalMs,
      ...extra,
      marks: this.marks,
      failedReads: this.failedReads,
      samples: this.samples,
    });
    if (dir) writeFileSync(join(dir, `timeline-${name}.json`), line + '\n');
    return line;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const begin = Date.now();
      try {
        const value = await this.read();
        this.samples.push({ t: begin - this.origin, dt: Date.now() - begin, ...value });
      } catch {
        this.failedReads++;
      }
      const wait = this.intervalMs - (Date.now() - begin);
      if (wait > 0 && !this.stopping) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
