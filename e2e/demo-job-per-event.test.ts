/**
 * The Job-per-event demo end to end, its pods really running (the node agent): a chart written as
 * a user writes it (Publisher, KedaScaledJob with the accurate strategy and claim readiness, the
 * reaper), Redis a real redis-server on loopback with its password in a Secret. The publisher
 * pushes one batch; KEDA creates Jobs; each consumer leases one event, turns Ready through its
 * claim marker, acknowledges and exits 0. Every event is processed exactly once and KEDA creates
 * exactly one Job per event, no more.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { KedaScaledJob, LeasedList, Publisher, RedisListTrigger, ScalingStrategy } from '../constructs';
import { Env } from '../runtime/contract';
import { EMPTY_QUEUE, queueState } from '../test/support/queue-state';
import { applyObjects, loopbackRedis, objectsOf, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { DemoCluster, podLogLines, startDemoCluster, stopDemoCluster } from './harness/demo-cluster';
import { accurateJobsToCreate, scaledJobPolls } from './harness/scaled-job-polls';
import { printLogsOnFailure } from './harness/logs';
import { waitFor } from './harness/wait';
import { watchObjects } from './harness/watch';

const NS = 'redis-demo';
const LIST = 'events';
/** One batch of this many events; at most MAX Jobs at once, so KEDA's cap is part of the run. */
const EVENTS = 12;
const MAX = 5;
const POLLING_SECONDS = 2;
/** KEDA's metric of the trigger: the list's length. */
const METRIC = `s0-redis-${LIST}`;
const PASSWORD = `pw-${process.pid}-${Date.now()}`;

let demo: Partial<DemoCluster> = {};
let jobsWatch: { stop(): Promise<void> } | undefined;
const it = printLogsOnFailure(test, () => demo.plane);
const cluster = (): ControlPlane => {
  if (!demo.plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return demo.plane;
};

/** Jobs of the ScaledJob by name, with when the watch first saw them. */
const jobsSeen = new Map<string, { createdAt: number; completedAt?: number }>();

beforeAll(async () => {
  // Debug: KEDA then logs the queue length it read at each poll.
  demo = await startDemoCluster(NS, PASSWORD, (parts) => (demo = parts), { operatorArgs: ['--zap-log-level=debug', '--zap-time-encoding=rfc3339nano'] });
}, 300_000);

afterAll(async () => {
  await jobsWatch?.stop();
  await stopDemoCluster(demo);
});

/** The demo chart as a user writes it, its Redis reached at 127.0.0.1. */
function demoChart(): ReturnType<typeof synthApp> {
  return synthApp(cluster(), (app) => {
    const chart = new Chart(app, 'redis-keda', { namespace: NS });
    const connection = loopbackRedis(chart, demo.server!.port, { name: 'redis' });
    const queue: LeasedList = { connection, listName: LIST };
    // One batch at start, then an hour's pause: the test knows exactly what was published.
    new Publisher(chart, 'publisher', { name: 'publisher', queue, batchSize: EVENTS, interval: Duration.hours(1), waitMin: 1, waitMax: 2 });
    new KedaScaledJob(chart, 'consumer', {
      name: 'consumer',
      triggers: [new RedisListTrigger(chart, connection, LIST, { listLength: 1 }, queue)],
      container: { args: ['consume', '--once'], envVariables: { ...connection.envVariables(), [Env.LIST_NAME]: kplus.EnvValue.fromValue(LIST) } },
      scalingStrategy: ScalingStrategy.accurate(),
      maxReplicas: MAX,
      pollingInterval: Duration.seconds(POLLING_SECONDS),
      successfulJobsHistoryLimit: EVENTS,
    });
  });
}

describe('the Job-per-event demo', () => {
  it('is applied and its ScaledJob becomes Ready (KEDA reached Redis with the password from the Secret)', async () => {
    const objects = demoChart();
    expect(objectsOf(objects, 'ScaledJob', 'consumer')).toHaveLength(1);
    jobsWatch = await watchObjects<any>(cluster(), `/apis/batch/v1/namespaces/${NS}/jobs?labelSelector=${encodeURIComponent('scaledjob.keda.sh/name=consumer')}`, (event) => {
      const name: string = event.object.metadata.name;
      if (!jobsSeen.has(name)) jobsSeen.set(name, { createdAt: Date.now() });
      const done = event.object.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True');
      if (done && jobsSeen.get(name)!.completedAt === undefined) jobsSeen.get(name)!.completedAt = Date.now();
    });
    await applyObjects(cluster(), objects);
    await cluster().kubectl.ok(['wait', '--for=condition=Ready', '--timeout=90s', 'scaledjob/consumer', '-n', NS]);
  }, 120_000);

  it('runs the publisher pod, which publishes one batch of exactly EVENTS events', async () => {
    const published = await waitFor(
      'the publisher to publish its batch',
      () => {
        const pod = readdirSync(cluster().logDir).find((f) => f.startsWith(`pod-${NS}-publisher-`));
        if (!pod) return undefined;
        const lines = readFileSync(join(cluster().logDir, pod), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"msg":"published batch"'))
          .map((l) => JSON.parse(l));
        return lines.length ? lines : undefined;
      },
      90_000,
    );
    expect(published.map((l: any) => ({ events: l.events, published: l.published }))).toEqual([{ events: EVENTS, published: EVENTS }]);
  }, 120_000);

  it('has every event processed exactly once, by one Job each, and no Job over-created', async () => {
    await waitFor(`${EVENTS} Jobs complete`, () => ([...jobsSeen.values()].filter((j) => j.completedAt !== undefined).length === EVENTS ? true : undefined), 150_000, 250);
    // A few more polls with the list empty: KEDA must create nothing more.
    const lastDone = Math.max(...[...jobsSeen.values()].map((j) => j.completedAt!));
    await waitFor(
      'three KEDA polls after the last Job completed',
      () => {
        const polls = scaledJobPolls(cluster().logOf('keda-operator'), 'consumer', METRIC);
        return polls.filter((p) => Date.parse(p.at) > lastDone).length >= 3 ? polls : undefined;
      },
      30_000,
    );
    // KEDA's decisions, poll by poll (the queue length it read, the Jobs it counted running and
    // pending, what it created), each exactly what the accurate formula of NOTES.md gives.
    const polls = scaledJobPolls(cluster().logOf('keda-operator'), 'consumer', METRIC);
    const created = polls.reduce((sum, p) => sum + p.created, 0);
    const timeline = polls
      .filter((p) => p.queueLength > 0 || p.running > 0 || p.created > 0)
      .map((p) => ({ at: p.at, queueLength: p.queueLength, running: p.running, pending: p.pending, created: p.created, formula: accurateJobsToCreate(p, 1, MAX) }));
    process.stdout.write(
      `${JSON.stringify({ demo: 'job-per-event', events: EVENTS, maxReplicas: MAX, pollingSeconds: POLLING_SECONDS, jobs: jobsSeen.size, createdByKeda: created, polls: timeline })}\n`,
    );
    expect(jobsSeen.size).toBe(EVENTS);

    // Redis: nothing waiting, leased, delayed or dead; no delivery counter left (every event reached an outcome).
    expect(await queueState(demo.redis!, LIST)).toEqual(EMPTY_QUEUE);

    // The consumers: one event each, first delivery, processed; none found the list empty (an over-created Job would).
    const logs = podLogLines(cluster(), NS, 'consumer-', 'consumer-reaper-');
    expect(logs.size).toBe(EVENTS);
    const processed: string[] = [];
    for (const [pod, lines] of logs) {
      const claimed = lines.filter((l) => l.msg === 'event claimed');
      const done = lines.filter((l) => l.msg === 'event processed');
      expect({ pod, claimed: claimed.map((l) => l.delivery), done: done.length, empty: lines.filter((l) => l.msg === 'list is empty, nothing to do').length }).toEqual({
        pod,
        claimed: [1],
        done: 1,
        empty: 0,
      });
      processed.push(done[0].eventId);
    }
    expect(new Set(processed).size).toBe(EVENTS);

    // Every Job's pod succeeded at the first try.
    const jobs = await cluster().kubectl.getJson<{ items: any[] }>(['jobs', '-n', NS, '-l', 'scaledjob.keda.sh/name=consumer']);
    expect(jobs.items.map((j) => ({ succeeded: j.status.succeeded, failed: j.status.failed ?? 0 }))).toEqual(Array.from({ length: EVENTS }, () => ({ succeeded: 1, failed: 0 })));

    expect(created).toBe(EVENTS);
    for (const poll of timeline) expect(poll).toEqual({ ...poll, created: poll.formula });
    // Never more Jobs running than the cap.
    for (const p of polls) expect(p.running).toBeLessThanOrEqual(MAX);
  }, 240_000);

  it("runs the reaper CronJob's Job on schedule, which finds nothing to reap", async () => {
    const line = await waitFor(
      'a reaper run',
      () => {
        const file = readdirSync(cluster().logDir).find((f) => f.startsWith(`pod-${NS}-consumer-reaper-`));
        if (!file) return undefined;
        return readFileSync(join(cluster().logDir, file), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"msg":"reaped"'))
          .map((l) => JSON.parse(l))[0];
      },
      90_000,
      500,
    );
    expect({ list: line.list, requeued: line.requeued, promoted: line.promoted }).toEqual({ list: LIST, requeued: 0, promoted: 0 });
    await waitFor(
      'the CronJob to record a successful run',
      async () => ((await cluster().kubectl.getJson(['cronjob', 'consumer-reaper', '-n', NS])).status?.lastSuccessfulTime ? true : undefined),
      60_000,
      500,
    );
  }, 180_000);
});
