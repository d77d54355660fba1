/**
 * The worker fleet end to end, its pods really running (the node agent): QueueWorker + a
 * KedaScaledObject on its scalingTriggers (ready list, in-flight leases, delayed retries), short
 * polling, cooldown and stabilization. A burst scales the fleet out to its maximum; as the work
 * runs out the HPA scales it in, and any pod stopped while holding events (SIGTERM from the agent)
 * finishes or hands them back; KEDA then scales to zero. Nothing is lost or left leased: every event
 * is processed exactly once.
 */
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { KedaScaledObject, LeasedList, Publisher, QueueWorker, ScalingPolicyType } from '../constructs';
import { Env } from '../runtime/contract';
import { EMPTY_QUEUE, queueState } from '../test/support/queue-state';
import { applyObjects, loopbackRedis, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { DemoCluster, podLogLines, startDemoCluster, stopDemoCluster } from './harness/demo-cluster';
import { printLogsOnFailure } from './harness/logs';
import { waitFor } from './harness/wait';
import { watchObjects } from './harness/watch';

const NS = 'worker-fleet';
const LIST = 'events';
const EVENTS = 24;
const MAX = 4;
const CONCURRENCY = 2;
const EVENTS_PER_REPLICA = 4;
const PASSWORD = `pw-${process.pid}-${Date.now()}`;

let demo: Partial<DemoCluster> = {};
let watch: { stop(): Promise<void> } | undefined;
const it = printLogsOnFailure(test, () => demo.plane);
const cluster = (): ControlPlane => {
  if (!demo.plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return demo.plane;
};

/** The Deployment's replicas over time: [ms since the chart was applied, spec.replicas, status.readyReplicas]. */
const replicas: [number, number, number][] = [];
let startedAt = 0;

beforeAll(async () => {
  demo = await startDemoCluster(NS, PASSWORD, (parts) => (demo = parts));
}, 300_000);

afterAll(async () => {
  await watch?.stop();
  await stopDemoCluster(demo);
});

function fleetChart(): ReturnType<typeof synthApp> {
  return synthApp(cluster(), (app) => {
    const chart = new Chart(app, 'worker-fleet', { namespace: NS });
    const queue: LeasedList = { connection: loopbackRedis(chart, demo.server!.port, { name: 'redis' }), listName: LIST };
    // One burst at start, then an hour's pause.
    new Publisher(chart, 'publisher', { name: 'publisher', queue, batchSize: EVENTS, interval: Duration.hours(1), waitMin: 2, waitMax: 6 });
    // A short grace: a pod stopped mid-event hands it back rather than finishing it. Debug logs:
    // loop-mode workers log each claim at debug level, which the test counts.
    const worker = new QueueWorker(chart, 'worker', {
      name: 'worker',
      queue,
      concurrency: CONCURRENCY,
      grace: Duration.seconds(1),
      envVariables: { [Env.LOG_LEVEL]: kplus.EnvValue.fromValue('debug') },
    });
    new KedaScaledObject(chart, 'worker-scaler', {
      name: 'worker',
      target: worker.deployment,
      triggers: worker.scalingTriggers({ eventsPerReplica: EVENTS_PER_REPLICA }),
      minReplicas: 0,
      maxReplicas: MAX,
      pollingInterval: Duration.seconds(1),
      cooldown: Duration.seconds(5),
      scaleDown: { stabilizationWindow: Duration.seconds(2), policies: [{ type: ScalingPolicyType.PODS, value: 1, period: Duration.seconds(1) }] },
    });
  });
}

describe('the worker fleet', () => {
  it('is applied and its ScaledObject becomes Ready', async () => {
    const objects = fleetChart();
    startedAt = Date.now();
    watch = await watchObjects<any>(cluster(), `/apis/apps/v1/namespaces/${NS}/deployments?fieldSelector=metadata.name%3Dworker`, (event) => {
      const entry: [number, number, number] = [Date.now() - startedAt, event.object.spec?.replicas ?? 0, event.object.status?.readyReplicas ?? 0];
      const last = replicas[replicas.length - 1];
      if (!last || last[1] !== entry[1] || last[2] !== entry[2]) replicas.push(entry);
    });
    await applyObjects(cluster(), objects);
    await cluster().kubectl.ok(['wait', '--for=condition=Ready', '--timeout=90s', 'scaledobject/worker', '-n', NS]);
  }, 120_000);

  it('scales out to its maximum under the burst, then back to zero once all work is done', async () => {
    await waitFor(`${MAX} replicas`, () => (replicas.some(([, spec]) => spec === MAX) ? true : undefined), 120_000);
    await waitFor(
      'the fleet back at zero with the queue empty',
      async () => {
        const last = replicas[replicas.length - 1];
        if (last[1] !== 0 || last[2] !== 0) return undefined;
        const pods = await cluster().kubectl.getJson<{ items: unknown[] }>(['pods', '-n', NS, '-l', 'app.kubernetes.io/name=worker']);
        return pods.items.length === 0 ? true : undefined;
      },
      150_000,
      500,
    );
    expect(Math.max(...replicas.map(([, spec]) => spec))).toBe(MAX);
    expect(await queueState(demo.redis!, LIST)).toEqual(EMPTY_QUEUE);
  }, 300_000);

  it('loses nothing: every event processed exactly once, every event a stopped pod held finished or handed back', async () => {
    const logs = podLogLines(cluster(), NS, 'worker-');
    const processed = new Map<string, number>();
    let claims = 0;
    let handedBack = 0;
    let stoppedHolding = 0;
    for (const lines of logs.values()) {
      for (const line of lines) {
        if (line.msg === 'event processed') processed.set(line.eventId, (processed.get(line.eventId) ?? 0) + 1);
        if (line.msg === 'event claimed') claims++;
        if (line.msg === 'grace period over: handed events back to the list') handedBack += line.handedBack;
        if (line.msg === 'finishing events in hand' && line.events > 0) stoppedHolding++;
      }
    }
    const stopped = demo.agent!.terminations.filter((t) => t.namespace === NS && t.name.startsWith('worker-'));
    const consuming = (pod: string) => (logs.get(pod) ?? []).some((l) => l.msg === 'consumer started');
    process.stdout.write(
      `${JSON.stringify({
        demo: 'worker-fleet',
        events: EVENTS,
        maxReplicas: MAX,
        concurrency: CONCURRENCY,
        eventsPerReplica: EVENTS_PER_REPLICA,
        pods: logs.size,
        stopped: stopped.map((t) => ({ pod: t.name, exits: t.exits, consuming: consuming(t.name), stopMs: (t.exitedAt ?? 0) - (t.sigtermAt ?? 0) })),
        stoppedHolding,
        handedBack,
        claims,
        replicas,
      })}\n`,
    );
    expect(processed.size).toBe(EVENTS);
    expect([...processed.values()].every((n) => n === 1)).toBe(true);
    // Each claim ended processed or handed back: nothing else.
    expect(claims).toBe(EVENTS + handedBack);
    // Each pod stopped once its consumer ran exited on its own (code 0, no SIGKILL). A pod stopped
    // before its program set up its SIGTERM handler (KEDA scales the Deployment's first pod away at
    // once while the list is still empty) dies of the signal, holding nothing. Whether a stopped pod
    // held events is chance: the ReplicaSet picks by its own ranking (e.g. how long a pod has been
    // Ready), not by the work it holds (stoppedHolding in the report: 3 in one CI run, 0 in another). When
    // one did, `claims` above proves its events were finished or handed back.
    for (const t of stopped) {
      const expected = consuming(t.name) ? { worker: 'code 0' } : t.exits;
      expect({ pod: t.name, exits: t.exits, killed: t.sigkillAt !== undefined }).toEqual({ pod: t.name, exits: expected, killed: false });
      if (!consuming(t.name)) expect((logs.get(t.name) ?? []).filter((l) => l.msg === 'event claimed')).toEqual([]);
    }
  });
});
