/**
 * The worker fleet's ScaledObject, acted on by KEDA's operator and the HPA controller: a chart made
 * as a user makes it (RedisConnection.external to a real redis-server with a password from a
 * Secret, a QueueWorker, a KedaScaledObject on `worker.scalingTriggers()`). The pods run on KWOK and
 * never consume: the test is the producer, and the compiled CLI (`redis-keda consume` with a handler
 * that holds its events until the test releases them) is the worker whose leases the in-flight
 * trigger counts. A timeline of replicas beside the queue's counts is printed as one JSON line.
 */
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Chart, Duration } from 'cdk8s';
import Redis from 'ioredis';
import { KedaScaledObject, QueueWorker } from '../constructs';
import { queueKeys } from '../runtime/contract';
import { RunningProcess, startCli } from '../test/support/cli';
import { EMPTY_QUEUE, queueState } from '../test/support/queue-state';
import { RedisServer, startRedis } from '../test/support/redis-server';
import {
  conditionOf,
  conditionsAre,
  counterDelta,
  eventsOf,
  externalMetric,
  hpaControllerCounters,
  hpaCurrentMetrics,
  hpaReadingsReach,
  SCALED_OBJECT_LABEL,
  Timeline,
} from './harness/autoscaling';
import { applyObjects, ChartObject, createSecret, loopbackRedis, objectsOf, REDIS_AUTH_SECRET, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { Keda } from './harness/keda';
import { scenarioSteps } from './harness/steps';
import { waitFor } from './harness/wait';

const NS = 'e2e-fleet';
const NAME = 'worker';
const HPA = `keda-hpa-${NAME}`;
const LIST = 'events';
const KEYS = queueKeys(LIST);
const PASSWORD = randomBytes(16).toString('hex');
const POLLING_S = 1;
const COOLDOWN_S = 15;
const STABILIZATION_S = 5;
const MAX_REPLICAS = 5;
/** The ready trigger's target: one replica per 10 waiting events. */
const EVENTS_PER_REPLICA = 10;
/** The worker's concurrency, the in-flight trigger's target: one replica per 2 leased events. */
const CONCURRENCY = 2;
/** Events on the list for the HPA's step: ceil(35 / 10) = 4 replicas (at 4: 35 / 40 = 0.875, outside the 10 % tolerance, ceil again 4). */
const BURST = 35;
/** Events the CLI leases and holds: ceil(6 / 2) = 3 replicas. */
const HELD = 6;
/** The held event that fails once and waits this long in the delayed set before its retry. */
const RETRY_BACKOFF_S = 6;
/** KEDA's metric names: `s<trigger index>-redis-<key>`, `:` made `-`. */
const METRIC = { ready: 's0-redis-events', inflight: 's1-redis-events-inflight', delayed: 's2-redis-events-delayed' } as const;
const TRIGGER_OF: Record<string, string> = Object.fromEntries(Object.entries(METRIC).map(([trigger, metric]) => [metric, trigger]));

/** A handler module for `consume --handler`: holds every event until `<HOLD_DIR>/release` exists; an event with failOnce fails its first run. */
const HOLD_HANDLER = `
const { existsSync, writeFileSync } = require('fs');
const { join } = require('path');
module.exports = async (event) => {
  const dir = process.env.HOLD_DIR;
  while (!existsSync(join(dir, 'release'))) await new Promise((resolve) => setTimeout(resolve, 100));
  const failed = join(dir, 'failed-' + event.id);
  if (event.failOnce && !existsSync(failed)) {
    writeFileSync(failed, '');
    throw new Error('fails once, to be retried');
  }
};
`;

let plane: ControlPlane | undefined;
let redis: RedisServer | undefined;
let client: Redis | undefined;
let consumer: RunningProcess | undefined;
let holdDir: string | undefined;
let objects: ChartObject[] = [];
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const queue = (): Redis => {
  if (!client) throw new Error('redis-server did not start (see the beforeAll error)');
  return client;
};
const step = scenarioSteps(() => plane);

/** What one reading of the timeline holds. */
interface FleetState {
  /** The Deployment's spec.replicas (what KEDA or the HPA last set). */
  readonly replicas?: number;
  readonly hpaDesired?: number;
  /** The ScaledObject's Active condition: `True`, or `False:<reason>` (ScalerNotActive, ScalerCooldown). */
  readonly active?: string;
  /** Triggers KEDA's last poll found active (status.triggersActivity), by trigger name. */
  readonly activeTriggers?: string[];
  readonly lastActive?: string;
  readonly ready: number;
  readonly inflight: number;
  readonly delayed: number;
}

async function readState(): Promise<FleetState> {
  const [got, counts] = await Promise.all([
    cluster().kubectl.run(['get', `deployment/${NAME}`, `hpa/${HPA}`, `scaledobject.keda.sh/${NAME}`, '-n', NS, '-o', 'json']),
    queue().multi().llen(KEYS.ready).zcard(KEYS.inflight).zcard(KEYS.delayed).exec(),
  ]);
  const items: any[] = got.stdout.trim() ? (JSON.parse(got.stdout).items ?? []) : [];
  const of = (kind: string) => items.find((i) => i.kind === kind);
  const [deployment, hpa, so] = [of('Deployment'), of('HorizontalPodAutoscaler'), of('ScaledObject')];
  const active = conditionOf(so, 'Active');
  const [ready, inflight, delayed] = (counts ?? []).map(([error, value]) => (error ? -1 : Number(value)));
  return {
    replicas: deployment?.spec?.replicas,
    hpaDesired: hpa?.status?.desiredReplicas,
    active: active && (active.status === 'True' ? 'True' : `${active.status}:${active.reason}`),
    activeTriggers: so?.status?.triggersActivity
      ? Object.entries(so.status.triggersActivity as Record<string, { isActive?: boolean }>)
          .filter(([, a]) => a.isActive)
          .map(([metric]) => TRIGGER_OF[metric] ?? metric)
          .sort()
      : undefined,
    lastActive: so?.status?.lastActiveTime,
    ready,
    inflight,
    delayed,
  };
}

const timeline = new Timeline<FleetState>(readState, 500);

/** Event `{"id": "e<i>", "wait": 0}`; e1 fails its first run. */
const event = (i: number): string => JSON.stringify({ id: `e${i}`, wait: 0, ...(i === 1 ? { failOnce: true } : {}) });

const get = (resource: string): Promise<any> => cluster().kubectl.getJson([resource, '-n', NS]);

/** Waits until the Deployment's replicas and the HPA's desired replicas are both `n`. */
async function replicasReach(n: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `Deployment ${NAME} and HPA ${HPA} at ${n} replicas`,
    async () => {
      const s = await readState();
      if (s.replicas === n && s.hpaDesired === n) return true;
      throw new Error(`replicas ${s.replicas}, HPA desired ${s.hpaDesired}`);
    },
    timeoutMs,
    250,
  );
}

/**
 * Waits for `syncs` more HPA reconciliations (kube-controller-manager's counter; this cluster has
 * one HPA) and returns the timeline's readings over them and how those reconciliations ended.
 */
async function overHpaSyncs(syncs: number): Promise<{ window: FleetState[]; outcomes: Record<string, number>; ms: number }> {
  const before = (await hpaControllerCounters(cluster())).reconciliations;
  const from = timeline.now();
  const outcomes = await waitFor(
    `${syncs} HPA reconciliations`,
    async () => {
      const delta = counterDelta(before, (await hpaControllerCounters(cluster())).reconciliations);
      return Object.values(delta).reduce((a, b) => a + b, 0) >= syncs ? delta : undefined;
    },
    syncs * 3000 + 10_000,
    500,
  );
  const to = timeline.now();
  const window = timeline.between(from, to).map(({ replicas, hpaDesired, ready, inflight, delayed }) => ({ replicas, hpaDesired, ready, inflight, delayed }));
  return { window, outcomes, ms: to - from };
}

/** The metric values KEDA's adapter serves for the three triggers, by trigger name. */
async function servedMetrics(): Promise<Record<string, { metricName: string; value: string }[]>> {
  const entries = await Promise.all(Object.entries(METRIC).map(async ([trigger, metric]) => [trigger, await externalMetric(cluster(), NS, metric, NAME)] as const));
  return Object.fromEntries(entries);
}

const served = (ready: number, inflight: number, delayed: number) => ({
  ready: [{ metricName: METRIC.ready, value: String(ready) }],
  inflight: [{ metricName: METRIC.inflight, value: String(inflight) }],
  delayed: [{ metricName: METRIC.delayed, value: String(delayed) }],
});

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  client = new Redis(redis.port, '127.0.0.1', { password: PASSWORD, protocol: 2 });
  plane = await ControlPlane.start();
  await Keda.start(plane);
  await plane.createRestrictedNamespace(NS);
  await createSecret(plane, NS, REDIS_AUTH_SECRET, { password: PASSWORD });
  const port = redis.port;
  objects = synthApp(plane, (app) => {
    const chart = new Chart(app, 'fleet', { namespace: NS });
    const connection = loopbackRedis(chart, port);
    const worker = new QueueWorker(chart, 'worker', { name: NAME, queue: { connection, listName: LIST }, concurrency: CONCURRENCY });
    new KedaScaledObject(chart, 'worker-scaler', {
      name: NAME,
      target: worker.deployment,
      triggers: worker.scalingTriggers({ eventsPerReplica: EVENTS_PER_REPLICA }),
      minReplicas: 0,
      maxReplicas: MAX_REPLICAS,
      pollingInterval: Duration.seconds(POLLING_S),
      cooldown: Duration.seconds(COOLDOWN_S),
      scaleDown: { stabilizationWindow: Duration.seconds(STABILIZATION_S) },
    });
  });
  await applyObjects(plane, objects);
  timeline.start();
}, 600_000);

afterAll(async () => {
  await timeline.stop();
  if (plane && timeline.samples.length > 0) {
    const predicted = {
      source: '../shared/reference/keda/NOTES.md',
      '1 event': `0 -> 1 by KEDA's operator (any trigger active); the HPA keeps ceil(1 / ${EVENTS_PER_REPLICA}) = 1`,
      [`${BURST} events`]: `the HPA: ceil(${BURST} / ${EVENTS_PER_REPLICA}) = 4 (10 % tolerance)`,
      [`${HELD} leased, list empty`]: `the HPA: ceil(${HELD} / ${CONCURRENCY}) = 3 after the ${STABILIZATION_S} s scale-down stabilization; KEDA stays active`,
      'all empty': `the HPA: minReplicas 1; KEDA: 0 once ${COOLDOWN_S} s (cooldown) passed since its last active poll`,
    };
    // What KEDA and the HPA said they did, beside the readings.
    const events = await eventsOf(plane, NS).catch((error: Error) => error.message);
    const scaledObject = await get(`scaledobject.keda.sh/${NAME}`).catch((error: Error) => ({ status: error.message }));
    process.stdout.write(timeline.report('keda-scaled-object', { predicted, events, scaledObjectStatus: scaledObject.status }, plane.logDir) + '\n');
  }
  if (consumer && consumer.child.exitCode === null && consumer.child.signalCode === null) consumer.child.kill('SIGKILL');
  await client?.quit();
  await redis?.stop();
  await plane?.stop();
  if (holdDir) rmSync(holdDir, { recursive: true, force: true });
});

step('synthesizes a Deployment, a ScaledObject and the TriggerAuthentication with only a reference to the password Secret', async () => {
  expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/worker', 'ScaledObject/worker', expect.stringMatching(/^TriggerAuthentication\//)].sort());
  const [auth] = objectsOf(objects, 'TriggerAuthentication');
  expect(auth.spec).toEqual({ secretTargetRef: [{ parameter: 'password', name: 'redis-auth', key: 'password' }] });
  expect(JSON.stringify(objects)).not.toContain(PASSWORD);
  const [so] = objectsOf(objects, 'ScaledObject');
  expect((so.spec as any).triggers.map((t: any) => [t.name, t.metadata.listName, t.metadata.listLength, t.authenticationRef.name])).toEqual([
    ['ready', 'events', '10', auth.metadata.name],
    ['inflight', 'events:inflight', '2', auth.metadata.name],
    ['delayed', 'events:delayed', '100', auth.metadata.name],
  ]);
});

step('is Ready and not Active while every list is empty; KEDA makes HPA keda-hpa-worker (minReplicas 1, the three metrics) and holds the Deployment at 0', async () => {
  const so = await waitFor(
    `ScaledObject ${NAME} Ready and not Active`,
    conditionsAre(() => get(`scaledobject.keda.sh/${NAME}`), { Ready: 'True', Active: 'False' }),
    60_000,
  );
  expect(conditionOf(so, 'Ready')).toEqual({ type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is defined correctly and is ready for scaling' });
  expect(conditionOf(so, 'Active')).toEqual({ type: 'Active', status: 'False', reason: 'ScalerNotActive', message: 'Scaling is not performed because triggers are not active' });
  expect(so.status.externalMetricNames).toEqual([METRIC.ready, METRIC.inflight, METRIC.delayed]);
  expect(so.status.hpaName).toBe(HPA);

  const hpa = await get(`hpa/${HPA}`);
  const metric = (name: string, averageValue: string) => ({
    type: 'External',
    external: { metric: { name, selector: { matchLabels: { [SCALED_OBJECT_LABEL]: NAME } } }, target: { type: 'AverageValue', averageValue } },
  });
  expect({ ...hpa.spec, behavior: undefined }).toEqual({
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
    minReplicas: 1,
    maxReplicas: MAX_REPLICAS,
    metrics: [metric(METRIC.ready, '10'), metric(METRIC.inflight, '2'), metric(METRIC.delayed, '100')],
    behavior: undefined,
  });
  expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: STABILIZATION_S, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });

  // The Deployment (no `replicas` in its YAML, so created with 1): KEDA deactivates it at once (no last active time yet).
  await waitFor(`Deployment ${NAME} at 0`, async () => ((await get(`deployment/${NAME}`)).spec.replicas === 0 ? true : undefined), 30_000);
  expect(await servedMetrics()).toEqual(served(0, 0, 0));
  // At 0 replicas the HPA does nothing: scaling from 0 is KEDA's.
  const disabled = await waitFor(
    `HPA ${HPA} ScalingActive False (ScalingDisabled)`,
    async () => {
      const condition = conditionOf(await get(`hpa/${HPA}`), 'ScalingActive');
      return condition?.reason === 'ScalingDisabled' ? condition : undefined;
    },
    30_000,
  );
  expect(disabled.status).toBe('False');
});

step('0 -> 1 when one event appears: the operator activates the Deployment; the HPA then keeps ceil(1 / 10) = 1', async () => {
  timeline.mark('LPUSH 1 event');
  await queue().lpush(LIST, event(1));
  await waitFor(`Deployment ${NAME} at 1`, async () => ((await get(`deployment/${NAME}`)).spec.replicas === 1 ? true : undefined), 20_000, 100);
  timeline.mark('Deployment at 1');
  const events = await eventsOf(cluster(), NS);
  expect(events.filter((e) => e.reason === 'KEDAScaleTargetActivated')).toEqual([
    {
      kind: 'ScaledObject',
      name: NAME,
      type: 'Normal',
      reason: 'KEDAScaleTargetActivated',
      message: `Scaled apps/v1.Deployment ${NS}/${NAME} from 0 to 1, triggered by ${METRIC.ready}`,
      count: 1,
    },
  ]);
  expect(events.filter((e) => e.kind === 'HorizontalPodAutoscaler' && e.reason === 'SuccessfulRescale')).toEqual([]);

  await waitFor(
    `HPA ${HPA} scaling on the metrics`,
    async () => {
      const hpa = await get(`hpa/${HPA}`);
      return conditionOf(hpa, 'ScalingActive')?.status === 'True' && hpaCurrentMetrics(hpa)[METRIC.ready] === '1' ? true : undefined;
    },
    20_000,
  );
  expect(await servedMetrics()).toEqual(served(1, 0, 0));
  const { window, outcomes } = await overHpaSyncs(5);
  expect(outcomes).toEqual({ 'action=none,error=none': expect.any(Number) });
  expect(window.length).toBeGreaterThanOrEqual(3);
  for (const s of window) expect(s).toEqual({ replicas: 1, hpaDesired: 1, ready: 1, inflight: 0, delayed: 0 });
});

step(`1 -> 4 from the HPA: ${BURST} events on the list ask ceil(${BURST} / ${EVENTS_PER_REPLICA}) = 4, the value the HPA reads is LLEN`, async () => {
  timeline.mark(`LPUSH ${BURST - 1} events`);
  await queue().lpush(LIST, ...Array.from({ length: BURST - 1 }, (_, i) => event(i + 2)));
  await replicasReach(4, 30_000);
  timeline.mark('Deployment at 4');
  expect(await queue().llen(LIST)).toBe(BURST);
  expect(await servedMetrics()).toEqual(served(BURST, 0, 0));
  // The HPA's own reading: the external AverageValue it compares, total / replicas (35 / 4, rounded up to a milli-unit).
  expect(await hpaReadingsReach(cluster(), NS, HPA, { [METRIC.ready]: '8750m', [METRIC.inflight]: '0', [METRIC.delayed]: '0' })).toEqual({
    [METRIC.ready]: '8750m',
    [METRIC.inflight]: '0',
    [METRIC.delayed]: '0',
  });
  const rescales = (await eventsOf(cluster(), NS)).filter((e) => e.kind === 'HorizontalPodAutoscaler' && e.reason === 'SuccessfulRescale');
  expect(rescales.map((e) => e.message)).toEqual([expect.stringMatching(new RegExp(`^New size: 4; reason: external metric ${METRIC.ready}\\(.*\\) above target$`))]);

  const { window, outcomes } = await overHpaSyncs(5);
  expect(outcomes).toEqual({ 'action=none,error=none': expect.any(Number) });
  expect(window.length).toBeGreaterThanOrEqual(3);
  for (const s of window) expect(s).toEqual({ replicas: 4, hpaDesired: 4, ready: BURST, inflight: 0, delayed: 0 });
  expect(Math.max(...timeline.samples.map((s) => s.replicas ?? 0))).toBe(4);
});

step(
  `no scale-in below the in-flight ask: ${HELD} events leased and held by \`redis-keda consume\` keep ceil(${HELD} / ${CONCURRENCY}) = 3 replicas with the list empty`,
  async () => {
    holdDir = mkdtempSync(join(tmpdir(), 'redis-keda-e2e-hold-'));
    const handler = join(holdDir, 'handler.js');
    writeFileSync(handler, HOLD_HANDLER);
    const flags = ['--concurrency', String(HELD), '--handler', handler, '--backoff', String(RETRY_BACKOFF_S), '--backoff-max', String(RETRY_BACKOFF_S)];
    const connection = ['--list', LIST, '--redis-host', '127.0.0.1', '--redis-port', String(redis!.port), '--metrics-port', '0'];
    consumer = startCli(['consume', ...flags, ...connection], { env: { REDIS_PASSWORD: PASSWORD, LOG_FORMAT: 'json', HOLD_DIR: holdDir } });
    await waitFor(`${HELD} events leased`, async () => ((await queue().zcard(KEYS.inflight)) === HELD ? true : undefined), 30_000, 100);
    timeline.mark(`${HELD} events leased by the CLI`);
    // The rest of the list goes, as if other workers had taken it: what is left is the leased work.
    await queue().del(LIST);
    timeline.mark('list emptied (DEL)');
    expect(await queue().zcard(KEYS.inflight)).toBe(HELD);

    await replicasReach(3, 30_000);
    timeline.mark('Deployment at 3');
    expect(await servedMetrics()).toEqual(served(0, HELD, 0));
    // 6 leased / 3 replicas = 2 per pod, the in-flight target exactly: within tolerance, so 3 holds.
    expect(await hpaReadingsReach(cluster(), NS, HPA, { [METRIC.ready]: '0', [METRIC.inflight]: '2', [METRIC.delayed]: '0' })).toEqual({
      [METRIC.ready]: '0',
      [METRIC.inflight]: '2',
      [METRIC.delayed]: '0',
    });

    const lastActiveBefore = Date.parse((await get(`scaledobject.keda.sh/${NAME}`)).status.lastActiveTime);
    const { window, outcomes, ms } = await overHpaSyncs(10);
    const so = await get(`scaledobject.keda.sh/${NAME}`);
    expect(outcomes).toEqual({ 'action=none,error=none': expect.any(Number) });
    expect(window.length).toBeGreaterThanOrEqual(Math.floor(ms / 1000));
    for (const s of window) expect(s).toEqual({ replicas: 3, hpaDesired: 3, ready: 0, inflight: HELD, delayed: 0 });
    // KEDA polled all along (its last active time moves on each active poll) and found the in-flight trigger active.
    expect(Date.parse(so.status.lastActiveTime) - lastActiveBefore).toBeGreaterThanOrEqual(Math.floor(ms / 1000) * 1000 - 2000);
    expect(conditionOf(so, 'Active')?.status).toBe('True');
    expect(so.status.triggersActivity).toEqual({ [METRIC.ready]: { isActive: false }, [METRIC.inflight]: { isActive: true }, [METRIC.delayed]: { isActive: false } });
  },
);

step(`back to 0 once ready, in-flight and delayed are all empty: after the ${COOLDOWN_S} s cooldown from KEDA's last active poll, not before`, async () => {
  const released = timeline.mark('release the held events');
  writeFileSync(join(holdDir!, 'release'), '');
  // Five are acknowledged; e1 fails once and waits in the delayed set for its retry, which keeps KEDA active.
  await waitFor('e1 in the delayed set', async () => ((await queue().zcard(KEYS.delayed)) === 1 && (await queue().zcard(KEYS.inflight)) === 0 ? true : undefined), 15_000, 100);
  timeline.mark('e1 waits in the delayed set');
  await waitFor(
    'every list empty',
    async () => {
      const [ready, inflight, delayed] = await Promise.all([queue().llen(LIST), queue().zcard(KEYS.inflight), queue().zcard(KEYS.delayed)]);
      return ready + inflight + delayed === 0 ? true : undefined;
    },
    RETRY_BACKOFF_S * 1000 + 15_000,
    100,
  );
  const empty = timeline.mark('ready, in-flight and delayed empty');
  expect(await queueState(queue(), LIST)).toEqual(EMPTY_QUEUE);
  consumer!.child.kill('SIGTERM');
  const stopped = await consumer!.done;
  expect(stopped.code).toBe(0);
  expect(
    stopped.logs
      .filter((l) => l.msg === 'consumer stopped')
      .map(({ processed, retried, deadLettered, handedBack, lost }) => ({ processed, retried, deadLettered, handedBack, lost })),
  ).toEqual([{ processed: HELD, retried: 1, deadLettered: 0, handedBack: 0, lost: 0 }]);

  await waitFor(`Deployment ${NAME} at 0`, async () => ((await get(`deployment/${NAME}`)).spec.replicas === 0 ? true : undefined), COOLDOWN_S * 1000 + 30_000, 250);
  const zeroAt = timeline.mark('Deployment at 0');
  const so = await get(`scaledobject.keda.sh/${NAME}`);
  const lastActive = Date.parse(so.status.lastActiveTime) - timeline.origin;
  // KEDA counted the retry waiting in the delayed set as work: its last active poll (to the second) came when the
  // retry was done, not at the release; the retry waited out its backoff (less up to 10 % jitter).
  expect(empty - released).toBeGreaterThanOrEqual(RETRY_BACKOFF_S * 900);
  // (Within a polling interval of the end, plus the truncation to the second and a loaded machine's delay of a poll.)
  expect(lastActive).toBeGreaterThanOrEqual(empty - (POLLING_S + 1) * 1000 - 2000);
  expect(timeline.between(released, empty).some((s) => s.delayed === 1 && s.activeTriggers?.join() === 'delayed')).toBe(true);
  // Not before the cooldown: every reading that ended before lastActiveTime (to the second) + cooldown shows a replica.
  const cooling = timeline.between(released, lastActive + COOLDOWN_S * 1000);
  expect(cooling.length).toBeGreaterThanOrEqual(COOLDOWN_S);
  expect(cooling.filter((s) => (s.replicas ?? 0) < 1)).toEqual([]);
  // The HPA brought it to its minimum (1) first, once the leases were gone and the stabilization window passed.
  expect(cooling.some((s) => s.replicas === 1)).toBe(true);
  // And at most a few polls after the cooldown ended.
  expect(zeroAt - (lastActive + COOLDOWN_S * 1000)).toBeLessThanOrEqual(5000);
  const deactivated = (await eventsOf(cluster(), NS)).filter((e) => e.reason === 'KEDAScaleTargetDeactivated').map((e) => e.message);
  expect(deactivated).toContain(`Deactivated apps/v1.Deployment ${NS}/${NAME} from 1 to 0`);
  const hpa = await waitFor(
    `HPA ${HPA} disabled at 0`,
    async () => {
      const found = await get(`hpa/${HPA}`);
      return conditionOf(found, 'ScalingActive')?.reason === 'ScalingDisabled' ? found : undefined;
    },
    10_000,
  );
  timeline.mark('HPA disabled at 0');
  expect(conditionOf(hpa, 'ScalingActive')?.status).toBe('False');
  expect(hpa.status.desiredReplicas).toBe(0);
});
