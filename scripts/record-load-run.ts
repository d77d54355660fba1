/**
 * Records a load run of the event-driven setup (e2e/harness/event-driven.ts: the live control plane,
 * KEDA, a real Prometheus, the pods run by the node agent) for the README's plot: a publisher on the
 * host follows a rate file changed step by step (`--rate-file`, as a mounted ConfigMap would be),
 * KEDA scales the consumers on the Prometheus query, and at the end Prometheus' range queries for
 * the published and processed rate, the backlog, the end-to-end latency p99, plus the Deployment's
 * replicas sampled from the API every second (no kube-state-metrics here), go to one JSON file:
 * `{ "series": [{ "name", "unit", "points": [[unixSeconds, value], ...] }], "recordedAt", "command" }`.
 *
 *   npx ts-node --transpile-only scripts/record-load-run.ts [--steps 5,30,60,20,0] [--step-seconds 40] [--out load-run.json]
 *
 * Needs what `npm run e2e` needs (`npm run e2e:build` first). Takes steps x step-seconds plus about 2 min.
 */
import { randomBytes } from 'crypto';
import { renameSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { Duration } from 'cdk8s';
import { series } from '../constructs/private/promql';
import { EVENT_DRIVEN, EventDriven, startEventDriven, stopEventDriven } from '../e2e/harness/event-driven';
import { freePort } from '../test/support/redis-server';
import { transpiledCli } from '../test/support/runtime-build';
import { Metrics, MetricLabels } from '../runtime/contract';
import { sleep } from '../runtime/sleep';

const NS = 'event-driven';
const LIST = 'events';

interface Series {
  readonly name: string;
  readonly unit: string;
  /** How the plotter (scripts/plot-load-run.ts) draws it: steps for set values and counts of pods. @default 'line' */
  readonly style?: 'step' | 'line';
  readonly points: [number, number][];
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const steps = option('steps', '5,30,60,20,0').split(',').map(Number);
  const stepSeconds = Number(option('step-seconds', '40'));
  const out = resolve(option('out', 'load-run.json'));
  if (steps.some((r) => !Number.isFinite(r) || r < 0) || !(stepSeconds > 0)) throw new Error('--steps must be rates >= 0 separated by commas, --step-seconds above 0');

  const password = randomBytes(16).toString('hex');
  let setup: Partial<EventDriven> = {};
  const stop = async () => {
    await stopEventDriven(setup);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    // The demo's values (threshold 10, polling 5 s, cooldown 30 s, 0..10); each event takes 0.5 s, 4 at a time per pod.
    setup = await startEventDriven(
      password,
      {
        namespace: NS,
        list: LIST,
        concurrency: 4,
        sleepScale: 0.5,
        threshold: 10,
        pollingInterval: Duration.seconds(5),
        cooldown: Duration.seconds(30),
        minReplicas: 0,
        maxReplicas: 10,
      },
      (parts) => (setup = parts),
    );
    const ready = setup as EventDriven;
    const { plane, prometheus, scrape, api } = ready;

    // The rate file, replaced atomically as the kubelet swaps a ConfigMap's files.
    const rateFile = join(plane.dir, 'rate');
    const setRate = (rate: number) => {
      writeFileSync(`${rateFile}.tmp`, `${rate}\n`);
      renameSync(`${rateFile}.tmp`, rateFile);
    };
    setRate(steps[0]);
    const metricsPort = await freePort();
    const publisher = plane.processes.start(
      'publisher',
      process.execPath,
      [
        transpiledCli(),
        'publish',
        '--forever',
        '--rate-file',
        rateFile,
        '--wait-min',
        '1',
        '--wait-max',
        '1',
        '--list',
        LIST,
        '--redis-host',
        '127.0.0.1',
        '--redis-port',
        String(ready.server.port),
        '--metrics-port',
        String(metricsPort),
      ],
      { REDIS_PASSWORD: password, LOG_FORMAT: 'json' },
    );
    await scrape.addTargets([{ job: `${NS}/publisher`, address: `127.0.0.1:${metricsPort}`, labels: { namespace: NS, pod: 'publisher-host' } }]);

    const replicas: [number, number][] = [];
    const readyReplicas: [number, number][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const begin = Date.now();
        try {
          const deployment = await api.get(`/apis/apps/v1/namespaces/${NS}/deployments/${EVENT_DRIVEN.worker}`);
          replicas.push([begin / 1000, deployment.spec?.replicas ?? 0]);
          readyReplicas.push([begin / 1000, deployment.status?.readyReplicas ?? 0]);
        } catch {
          // a missed sample: the plot shows the gap
        }
        await sleep(Math.max(0, 1000 - (Date.now() - begin)));
      }
    })();

    const start = Math.floor(Date.now() / 1000);
    for (const [i, rate] of steps.entries()) {
      if (i > 0) setRate(rate);
      process.stderr.write(`${new Date().toISOString()} rate ${rate}/s for ${stepSeconds} s\n`);
      await sleep(stepSeconds * 1000);
    }
    // The tail: the cooldown and the scale to zero.
    await sleep(45_000);
    const end = Math.ceil(Date.now() / 1000);
    sampling = false;
    await sampler;
    if (publisher.child.exitCode !== null) throw new Error(`the publisher exited early (${publisher.child.exitCode}); see ${publisher.logFile}`);

    const ns = { namespace: NS };
    const queries: { name: string; unit: string; style?: 'step'; expr: string }[] = [
      { name: 'target rate', unit: 'events/s', style: 'step', expr: `sum(${series(Metrics.PUBLISH_TARGET_RATE, ns)})` },
      { name: 'published', unit: 'events/s', expr: `sum(rate(${series(Metrics.PUBLISHED, ns)}[10s]))` },
      { name: 'processed', unit: 'events/s', expr: `sum(rate(${series(Metrics.PROCESSED, ns)}[10s]))` },
      { name: 'backlog (ready + in flight)', unit: 'events', expr: ready.query },
      { name: 'ready', unit: 'events', expr: `sum(${series(Metrics.QUEUE_DEPTH, { ...ns, [MetricLabels.LIST]: LIST, [MetricLabels.STATE]: 'ready' })})` },
      { name: 'latency p99', unit: 's', expr: `histogram_quantile(0.99, sum by (le) (rate(${series(`${Metrics.LATENCY_SECONDS}_bucket`, ns)}[30s])))` },
    ];
    const recorded: Series[] = [];
    for (const q of queries) {
      const result = await prometheus.queryRange(q.expr, start, end, 1);
      const points = (result[0]?.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v));
      recorded.push({ name: q.name, unit: q.unit, ...(q.style ? { style: q.style } : {}), points });
    }
    const inWindow = (points: [number, number][]) => points.filter(([t]) => t >= start && t <= end).map(([t, v]) => [Math.round(t * 1000) / 1000, v] as [number, number]);
    recorded.push({ name: 'replicas', unit: 'pods', style: 'step', points: inWindow(replicas) });
    recorded.push({ name: 'ready replicas', unit: 'pods', style: 'step', points: inWindow(readyReplicas) });
    const command = ['npx ts-node --transpile-only scripts/record-load-run.ts', '--steps', steps.join(','), '--step-seconds', String(stepSeconds)].join(' ');
    // One series a line; values to a thousandth (the plot needs no more).
    const round = (points: [number, number][]) => points.map(([t, v]) => [t, Math.round(v * 1000) / 1000]);
    const lines = recorded.map((r) => JSON.stringify({ ...r, points: round(r.points) }));
    writeFileSync(out, `{"series":[\n${lines.join(',\n')}\n],\n"recordedAt":${JSON.stringify(new Date().toISOString())},\n"command":${JSON.stringify(command)}}\n`);
    process.stderr.write(`wrote ${out}: ${recorded.map((s) => `${s.name} ${s.points.length} points`).join(', ')}\n`);
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
