/**
 * KEDA acting on ScaledJobs of test charts made with the library's constructs, live: the operator
 * reaches a real redis-server on loopback (password from a Secret; once over TLS with a CA from a
 * Secret), and creates Jobs whose pods KWOK holds Running but not Ready until the test has claimed
 * an event on the pod's behalf (`./harness/kwok-stages`). Every decision KEDA takes is read from
 * its log, poll by poll, and compared with the accurate formula of NOTES.md; the negative control
 * drops `pendingPodConditions` and measures the over-creation that remains.
 */
import { randomBytes } from 'crypto';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { App, Chart, Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import Redis from 'ioredis';
import { KedaScaledJob, LeasedList, RedisListTrigger, ScalingStrategy } from '../constructs';
import { DEFAULT_LEASE_SECONDS, DEFAULT_MAX_DELIVERIES, Env } from '../runtime/contract';
import { Claim, Queue } from '../runtime/queue/queue';
import { runCli } from '../test/support/cli';
import { RedisServer, startRedis } from '../test/support/redis-server';
import { startTlsRedisServer, TlsRedisServer } from '../test/support/tls-redis-server';
import { applyObjects, ChartObject, createSecret, loopbackRedis, objectsOf, REDIS_AUTH_SECRET, REDIS_CA_SECRET, synthApp } from './harness/charts';
import { ControlPlane } from './harness/control-plane';
import { Keda } from './harness/keda';
import { HELD_POD_ANNOTATIONS, holdScaledJobPods, SCALED_JOB_POD_LABEL } from './harness/kwok-stages';
import { printLogsOnFailure } from './harness/logs';
import { accurateJobsToCreate, ScaledJobPoll, scaledJobPolls } from './harness/scaled-job-polls';
import { waitFor } from './harness/wait';

/** KEDA's smallest polling interval (the CRD's minimum). */
const POLLING_SECONDS = 1;
/** Events per Job (the trigger's listLength): one Job per event. */
const LIST_LENGTH = 1;
/** Polls the "no extra Job" checks span (after one poll that may predate what the test just did). */
const QUIET_POLLS = 3;
const PASSWORD = `e2e-${randomBytes(12).toString('hex')}`;

interface TestChart {
  /** The ScaledJob's name (unique across namespaces: KEDA's metric log line names no namespace). */
  readonly name: string;
  readonly namespace: string;
  readonly listName: string;
  readonly maxReplicas: number;
  /** false: no readiness on the claim, so no pendingPodConditions (the negative control). */
  readonly claimReadiness: boolean;
  readonly tls?: boolean;
  /** What the chart's password Secret holds. */
  readonly secretPassword: string;
}

const ACCURATE: TestChart = { name: 'accurate', namespace: 'e2e-sj-accurate', listName: 'events-accurate', maxReplicas: 10, claimReadiness: true, secretPassword: PASSWORD };
const TRAP: TestChart = { name: 'trap', namespace: 'e2e-sj-trap', listName: 'events-trap', maxReplicas: 5, claimReadiness: false, secretPassword: PASSWORD };
const TLS: TestChart = { name: 'tls', namespace: 'e2e-sj-tls', listName: 'events-tls', maxReplicas: 10, claimReadiness: true, tls: true, secretPassword: PASSWORD };
const WRONG_PASSWORD: TestChart = {
  name: 'wrong-password',
  namespace: 'e2e-sj-wrong-password',
  listName: 'events-wrong',
  maxReplicas: 10,
  claimReadiness: true,
  secretPassword: 'not-the-password',
};
const CHARTS = [ACCURATE, TRAP, TLS, WRONG_PASSWORD];
/** The ScaledJobs that can reach their Redis. */
const REACHABLE = [ACCURATE, TRAP, TLS];

let plane: ControlPlane | undefined;
let redis: RedisServer | undefined;
let tlsRedis: TlsRedisServer | undefined;
let client: Redis | undefined;
let objects: readonly ChartObject[] = [];
/** What the closing note quotes: KEDA's polls beside the formula, and what the test did between them. */
const timeline: Record<string, unknown> = {};

const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const it = printLogsOnFailure(test, () => plane);

/** A Job-per-event chart as a user writes it: an external Redis with a password (and a CA) from Secrets, a leased list, an accurate ScaledJob. */
function jobPerEventChart(app: App, c: TestChart, port: number): void {
  const chart = new Chart(app, c.name, { namespace: c.namespace });
  const connection = loopbackRedis(chart, port, { tls: c.tls });
  const list: LeasedList = { connection, listName: c.listName };
  new KedaScaledJob(chart, 'consumer', {
    name: c.name,
    triggers: [new RedisListTrigger(chart, connection, c.listName, { listLength: LIST_LENGTH }, list)],
    container: {
      args: ['consume', '--once'],
      envVariables: { ...connection.envVariables(), [Env.LIST_NAME]: kplus.EnvValue.fromValue(c.listName) },
    },
    scalingStrategy: ScalingStrategy.accurate(),
    claimReadiness: c.claimReadiness,
    maxReplicas: c.maxReplicas,
    pollingInterval: Duration.seconds(POLLING_SECONDS),
    reaper: { schedule: Cron.everyMinute() },
  });
}

beforeAll(async () => {
  [redis, tlsRedis] = await Promise.all([startRedis({ password: PASSWORD }), startTlsRedisServer({ serverName: '127.0.0.1', password: PASSWORD })]);
  client = new Redis({ host: '127.0.0.1', port: redis.port, password: PASSWORD, maxRetriesPerRequest: 3 });
  plane = await ControlPlane.start({ kwokStages: holdScaledJobPods() });
  // Debug: KEDA then logs the queue length it read in each poll; nanoseconds: polls 1 s apart stay apart.
  await Keda.start(plane, { operatorArgs: ['--zap-log-level=debug', '--zap-time-encoding=rfc3339nano'] });
  for (const c of CHARTS) {
    await plane.createRestrictedNamespace(c.namespace);
    await createSecret(plane, c.namespace, REDIS_AUTH_SECRET, { password: c.secretPassword });
    if (c.tls) await createSecret(plane, c.namespace, REDIS_CA_SECRET, { 'ca.crt': tlsRedis.ca });
  }
  const ports = { plain: redis.port, tls: tlsRedis.port };
  objects = synthApp(plane, (app) => CHARTS.forEach((c) => jobPerEventChart(app, c, c.tls ? ports.tls : ports.plain)));
  await applyObjects(plane, objects);
}, 600_000);

afterAll(async () => {
  // One JSON line for the closing note (also kept in the run's log folder with E2E_KEEP=1).
  const line = JSON.stringify({ suite: 'keda-scaled-job', pollingIntervalSeconds: POLLING_SECONDS, listLength: LIST_LENGTH, ...timeline });
  process.stdout.write(`${line}\n`);
  if (plane) writeFileSync(join(plane.logDir, 'keda-scaled-job-timeline.json'), `${line}\n`);
  await client?.quit();
  await plane?.stop();
  await redis?.stop();
  tlsRedis?.stop();
});

// ----- reading the cluster -----

const metricName = (c: TestChart): string => `s0-redis-${c.listName}`;
const polls = (c: TestChart): ScaledJobPoll[] => scaledJobPolls(cluster().logOf('keda-operator'), c.name, metricName(c));

async function readyCondition(c: TestChart): Promise<{ status?: string; reason?: string; message?: string } | undefined> {
  const scaledJob = await cluster().kubectl.getJson(['scaledjob', c.name, '-n', c.namespace]);
  return scaledJob.status?.conditions?.find((condition: any) => condition.type === 'Ready');
}

async function jobsOf(c: TestChart): Promise<any[]> {
  return (await cluster().kubectl.getJson<{ items: any[] }>(['jobs', '-n', c.namespace, '-l', `${SCALED_JOB_POD_LABEL}=${c.name}`])).items;
}

async function podsOf(c: TestChart): Promise<any[]> {
  const pods = (await cluster().kubectl.getJson<{ items: any[] }>(['pods', '-n', c.namespace, '-l', `${SCALED_JOB_POD_LABEL}=${c.name}`])).items;
  return pods.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
}

const condition = (pod: any, type: string): string | undefined => pod.status?.conditions?.find((c: any) => c.type === type)?.status;
/** phase/Ready of each pod, e.g. "Running/False". */
const podStates = (pods: any[]): string[] => pods.map((pod) => `${pod.status?.phase}/${condition(pod, 'Ready')}`);

/** Waits until KEDA has logged `count` more complete polls of `c` than `after`, and returns those. */
async function nextPolls(c: TestChart, after: number, count: number): Promise<ScaledJobPoll[]> {
  return waitFor(
    `${count} polls of ScaledJob ${c.name} after poll ${after}`,
    () => {
      const all = polls(c);
      return all.length >= after + count ? all.slice(after, after + count) : undefined;
    },
    (count * POLLING_SECONDS + 30) * 1000,
  );
}

/** The polls that follow what the test just did: one poll that may have started before it is skipped, then QUIET_POLLS. */
async function pollsAfterNow(c: TestChart): Promise<ScaledJobPoll[]> {
  return (await nextPolls(c, polls(c).length, QUIET_POLLS + 1)).slice(1);
}

const decision = (p: ScaledJobPoll) => ({ queueLength: p.queueLength, active: p.active, running: p.running, pending: p.pending, created: p.created });

async function publish(c: TestChart, count: number): Promise<void> {
  const result = await runCli(['publish', '--count', String(count), '--batch', String(count), '--interval', '0', '--wait-min', '0', '--wait-max', '0'], {
    env: { [Env.REDIS_HOST]: '127.0.0.1', [Env.REDIS_PORT]: String(redis!.port), [Env.REDIS_PASSWORD]: PASSWORD, [Env.LIST_NAME]: c.listName, [Env.LOG_FORMAT]: 'json' },
  });
  expect({ code: result.code, published: result.logs.find((l) => l.msg === 'publish done')?.published }).toEqual({ code: 0, published: count });
}

/** Takes one event off the list as `consume --once` does (one lease, the default lease and delivery limit). */
async function claimOne(c: TestChart): Promise<Claim> {
  const batch = await new Queue(client!, c.listName).claimBatch(DEFAULT_LEASE_SECONDS * 1000, 1, DEFAULT_MAX_DELIVERIES);
  expect(batch.claims.length).toBe(1);
  return batch.claims[0];
}

async function stats(c: TestChart): Promise<{ ready: number; inflight: number }> {
  const { ready, inflight } = await new Queue(client!, c.listName).stats();
  return { ready, inflight };
}

async function annotate(pod: any, key: string): Promise<void> {
  await cluster().kubectl.ok(['annotate', 'pod', pod.metadata.name, '-n', pod.metadata.namespace, `${key}=true`]);
}

async function waitPods(c: TestChart, what: string, holds: (pods: any[]) => boolean): Promise<any[]> {
  return waitFor(
    `pods of ${c.name}: ${what}`,
    async () => {
      const pods = await podsOf(c);
      if (holds(pods)) return pods;
      throw new Error(`now ${JSON.stringify(podStates(pods))}`);
    },
    60_000,
  );
}

const second = (at: string): number => Math.floor(Date.parse(at) / 1000);

/**
 * Each Job beside the poll that created it: the API keeps creation times to the second, so a Job
 * belongs to the creating polls whose [start, "Created jobs"] span holds its creation second; every
 * Job must have one (no Job appears outside KEDA's creating polls).
 */
function jobsByPoll(jobs: any[], creating: ScaledJobPoll[]): { name: string; createdAt: string; polls: string[] }[] {
  return jobs
    .map((job) => {
      const createdAt = String(job.metadata.creationTimestamp);
      const polls = creating.filter((p) => second(p.at) <= second(createdAt) && second(createdAt) <= second(p.createdAt!)).map((p) => p.at);
      return { name: String(job.metadata.name), createdAt, polls };
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

/** Each poll as KEDA logged it, beside what NOTES.md's formula gives for the same Q, R and P. */
function pollTable(c: TestChart, list: ScaledJobPoll[]): object[] {
  return list.map((p) => ({ at: p.at, ...decision(p), formula: accurateJobsToCreate(p, LIST_LENGTH, c.maxReplicas) }));
}

// ----- the tests -----

describe('test charts made with the constructs', () => {
  it('are a ScaledJob, a TriggerAuthentication (password and CA by Secret reference) and a reaper CronJob each, with no password in the YAML', async () => {
    for (const c of CHARTS) {
      const inChart = objects.filter((o) => o.metadata.namespace === c.namespace);
      expect(inChart.map((o) => `${o.kind}/${o.kind === 'TriggerAuthentication' ? '*' : o.metadata.name}`).sort()).toEqual([
        `CronJob/${c.name}-reaper`,
        `ScaledJob/${c.name}`,
        'TriggerAuthentication/*',
      ]);
      const [auth] = objectsOf(inChart, 'TriggerAuthentication');
      expect((auth as any).spec.secretTargetRef).toEqual([
        { parameter: 'password', name: 'redis-auth', key: 'password' },
        ...(c.tls ? [{ parameter: 'ca', name: 'redis-ca', key: 'ca.crt' }] : []),
      ]);
      const spec = (objectsOf(inChart, 'ScaledJob', c.name)[0] as any).spec;
      expect(spec.scalingStrategy).toEqual(c.claimReadiness ? { strategy: 'accurate', pendingPodConditions: ['Ready'] } : { strategy: 'accurate' });
      expect(spec.pollingInterval).toBe(POLLING_SECONDS);
      expect(spec.triggers).toEqual([
        {
          type: 'redis',
          metadata: {
            address: `127.0.0.1:${c.tls ? tlsRedis!.port : redis!.port}`,
            ...(c.tls ? { enableTLS: 'true' } : {}),
            listName: c.listName,
            listLength: String(LIST_LENGTH),
            activationListLength: '0',
          },
          authenticationRef: { name: auth.metadata.name },
        },
      ]);
      expect((objectsOf(inChart, 'CronJob')[0] as any).spec.schedule).toBe('* * * * *');
    }
    expect(JSON.stringify(objects)).not.toContain(PASSWORD);
  });
});

describe('Ready', () => {
  it('every ScaledJob that reaches its Redis (password from a Secret; once over TLS with a CA from a Secret) becomes Ready after a poll', async () => {
    for (const c of REACHABLE) {
      // The reconciler writes "ready to scaling", each poll without a trigger error "ready for scaling".
      const ready = await waitFor(
        `ScaledJob ${c.name} Ready after a poll`,
        async () => {
          const found = await readyCondition(c);
          if (found?.message === 'ScaledJob is defined correctly and is ready for scaling') return found;
          throw new Error(`Ready is ${JSON.stringify(found)}`);
        },
        60_000,
      );
      expect({ name: c.name, status: ready.status, reason: ready.reason }).toEqual({ name: c.name, status: 'True', reason: 'ScaledJobReady' });
      // KEDA read the (empty) list: its polls logged the length 0.
      expect(polls(c)[0]).toMatchObject({ queueLength: 0, active: false, created: 0 });
    }
  });

  it("a ScaledJob whose Secret holds a wrong password is not Ready, and KEDA reports Redis' WRONGPASS error", async () => {
    const c = WRONG_PASSWORD;
    const ready = await waitFor(
      `ScaledJob ${c.name} Ready False`,
      async () => {
        const found = await readyCondition(c);
        return found?.status === 'False' ? found : undefined;
      },
      60_000,
    );
    // The condition carries KEDA's step that failed; the Redis error itself is in the Event and the operator's log.
    expect(ready).toMatchObject({ status: 'False', reason: 'ScaledJobCheckFailed', message: 'Failed to ensure ScaledJob is correctly created' });
    const redisError = 'connection to redis failed: WRONGPASS invalid username-password pair or user is disabled.';
    const events = await waitFor(
      `a KEDAScalerFailed Event of ScaledJob ${c.name}`,
      async () => {
        const list = await cluster().kubectl.getJson<{ items: any[] }>(['events.events.k8s.io', '-n', c.namespace]);
        const failed = list.items.filter((e) => e.reason === 'KEDAScalerFailed' && e.regarding?.name === c.name);
        return failed.length > 0 ? failed : undefined;
      },
      30_000,
    );
    expect(events.map((e) => ({ type: e.type, kind: e.regarding.kind, note: e.note }))).toEqual(events.map(() => ({ type: 'Warning', kind: 'ScaledJob', note: redisError })));
    const logged = cluster()
      .logOf('keda-operator')
      .split('\n')
      .filter((l) => l.includes('Error getting scalers') && l.includes(`"name": "${c.name}"`));
    expect(logged.length).toBeGreaterThan(0); // every failed reconcile logs one; how many depends on the retry backoff
    for (const line of logged) expect(line).toContain(`"error": "${redisError}"`);
    expect(polls(c)).toEqual([]); // no scale loop: KEDA never polled it
    expect(await jobsOf(c)).toEqual([]);
  });
});

describe('accurate with pendingPodConditions ["Ready"]: no over-created Job', () => {
  const c = ACCURATE;
  const EVENTS = 3;
  let createdIn: ScaledJobPoll | undefined;
  let pods: any[] = [];
  const claims: Claim[] = [];
  const phases: Record<string, unknown>[] = [];

  it(`creates exactly the formula's ${EVENTS} Jobs for ${EVENTS} events, in one poll`, async () => {
    const before = polls(c).length;
    expect(polls(c).every((p) => p.queueLength === 0 && p.created === 0)).toBe(true);
    await publish(c, EVENTS);
    expect(await stats(c)).toEqual({ ready: EVENTS, inflight: 0 });
    // At least EVENTS: one more would be an over-created Job, which the assertions below then name.
    pods = await waitPods(
      c,
      `${EVENTS} Running, not Ready`,
      (list) => list.length >= EVENTS && list.every((p) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'False'),
    );
    const since = polls(c).slice(before);
    const creating = since.filter((p) => p.created > 0);
    expect(creating.map(decision)).toEqual([{ queueLength: EVENTS, active: true, running: 0, pending: 0, created: EVENTS }]);
    expect(accurateJobsToCreate(creating[0], LIST_LENGTH, c.maxReplicas)).toBe(EVENTS);
    createdIn = creating[0];
    const jobs = await jobsOf(c);
    expect({ jobs: jobs.length, pods: pods.length }).toEqual({ jobs: EVENTS, pods: EVENTS });
    const byPoll = jobsByPoll(jobs, creating);
    expect(byPoll.map((j) => j.polls)).toEqual(jobs.map(() => [createdIn!.at]));
    phases.push({ phase: `published ${EVENTS}`, llen: EVENTS, jobs: byPoll, pods: podStates(pods) });
  });

  it(`creates none over ${QUIET_POLLS} polls while the pods run but have not claimed an event`, async () => {
    const quiet = await pollsAfterNow(c);
    expect(quiet.map(decision)).toEqual(quiet.map(() => ({ queueLength: EVENTS, active: true, running: EVENTS, pending: EVENTS, created: 0 })));
    expect((await jobsOf(c)).length).toBe(EVENTS);
    phases.push({ phase: 'pods Running, not Ready, nothing claimed', llen: (await stats(c)).ready, polls: quiet.length });
  });

  it("creates none once the test has claimed an event on a pod's behalf (LLEN - 1, one lease) and marked that pod Ready", async () => {
    // As the consumer does: claim first, then turn Ready; the other way round a poll could see the pod Ready and its event still listed.
    claims.push(await claimOne(c));
    expect(await stats(c)).toEqual({ ready: EVENTS - 1, inflight: 1 });
    await annotate(pods[0], HELD_POD_ANNOTATIONS.ready);
    await waitPods(c, 'the first Ready', (list) => condition(list[0], 'Ready') === 'True' && list.slice(1).every((p) => condition(p, 'Ready') === 'False'));
    const quiet = await pollsAfterNow(c);
    expect(quiet.map(decision)).toEqual(quiet.map(() => ({ queueLength: EVENTS - 1, active: true, running: EVENTS, pending: EVENTS - 1, created: 0 })));
    expect((await jobsOf(c)).length).toBe(EVENTS);
    phases.push({ phase: 'one claimed, its pod Ready', llen: EVENTS - 1, polls: quiet.length });
  });

  it('creates none once every event is claimed and the list is empty', async () => {
    for (const pod of pods.slice(1)) {
      claims.push(await claimOne(c));
      await annotate(pod, HELD_POD_ANNOTATIONS.ready);
    }
    expect(await stats(c)).toEqual({ ready: 0, inflight: EVENTS });
    await waitPods(c, 'all Ready', (list) => list.every((p) => condition(p, 'Ready') === 'True'));
    const quiet = await pollsAfterNow(c);
    expect(quiet.map(decision)).toEqual(quiet.map(() => ({ queueLength: 0, active: false, running: EVENTS, pending: 0, created: 0 })));
    phases.push({ phase: 'all claimed, pods Ready, list empty', llen: 0, polls: quiet.length });
  });

  it('creates none after the consumers acknowledged and their Jobs completed; every poll matched the formula', async () => {
    expect(await new Queue(client!, c.listName).ackMany(claims.map((claim) => claim.token))).toEqual(claims.map(() => true));
    for (const pod of pods) await annotate(pod, HELD_POD_ANNOTATIONS.complete);
    await waitFor(
      `Jobs of ${c.name} Complete`,
      async () => {
        const jobs = await jobsOf(c);
        return jobs.length === EVENTS && jobs.every((j) => j.status?.conditions?.some((k: any) => k.type === 'Complete' && k.status === 'True')) ? true : undefined;
      },
      60_000,
    );
    expect(await stats(c)).toEqual({ ready: 0, inflight: 0 });
    const quiet = await pollsAfterNow(c);
    expect(quiet.map(decision)).toEqual(quiet.map(() => ({ queueLength: 0, active: false, running: 0, pending: 0, created: 0 })));
    expect((await jobsOf(c)).length).toBe(EVENTS);
    phases.push({ phase: 'acknowledged, Jobs Complete', llen: 0, polls: quiet.length });

    const all = polls(c);
    timeline.accurate = { maxReplicas: c.maxReplicas, events: EVENTS, jobsCreated: all.reduce((sum, p) => sum + p.created, 0), phases, polls: pollTable(c, all) };
    expect(all.map((p) => p.created)).toEqual(all.map((p) => accurateJobsToCreate(p, LIST_LENGTH, c.maxReplicas)));
    expect(all.reduce((sum, p) => sum + p.created, 0)).toBe(EVENTS);
  });
});

describe('negative control: accurate without pendingPodConditions over-creates', () => {
  const c = TRAP;
  const EVENTS = 2;

  it(`creates Jobs for the same ${EVENTS} unclaimed events poll after poll, up to maxReplicas (${TRAP.maxReplicas})`, async () => {
    const before = polls(c).length;
    await publish(c, EVENTS);
    await waitFor(
      `${c.maxReplicas} Jobs of ${c.name}`,
      async () => {
        const jobs = await jobsOf(c);
        if (jobs.length === c.maxReplicas) return true;
        throw new Error(`${jobs.length} Jobs`);
      },
      60_000,
    );
    const pods = await waitPods(c, `${c.maxReplicas} Running, not Ready`, (list) => list.length === c.maxReplicas && list.every((p) => p.status?.phase === 'Running'));
    expect(podStates(pods)).toEqual(pods.map(() => 'Running/False'));
    const quiet = await pollsAfterNow(c);
    expect(quiet.map(decision)).toEqual(quiet.map(() => ({ queueLength: EVENTS, active: true, running: c.maxReplicas, pending: 0, created: 0 })));
    expect((await jobsOf(c)).length).toBe(c.maxReplicas);
    expect(await stats(c)).toEqual({ ready: EVENTS, inflight: 0 });

    const all = polls(c).slice(before);
    const creating = all.filter((p) => p.created > 0);
    const byPoll = jobsByPoll(await jobsOf(c), creating);
    timeline.trap = {
      maxReplicas: c.maxReplicas,
      events: EVENTS,
      jobsCreated: all.reduce((sum, p) => sum + p.created, 0),
      overCreated: c.maxReplicas - EVENTS,
      creatingPolls: creating.length,
      jobs: byPoll,
      polls: pollTable(c, all),
    };
    for (const job of byPoll) expect({ job: job.name, inACreatingPoll: job.polls.length > 0 }).toEqual({ job: job.name, inACreatingPoll: true });
    expect(all.map((p) => p.created)).toEqual(all.map((p) => accurateJobsToCreate(p, LIST_LENGTH, c.maxReplicas)));
    expect(all.reduce((sum, p) => sum + p.created, 0)).toBe(c.maxReplicas);
    // The first poll creates one Job per event, as with the conditions; the extra ones come from later polls that count the Running pods as not pending.
    expect(creating[0]).toMatchObject({ queueLength: EVENTS, running: 0, pending: 0, created: EVENTS });
    expect(creating.length).toBeGreaterThan(1);
  });
});

describe('the reaper CronJob', () => {
  it("has its Job created on schedule by the CronJob controller, with the CronJob's pod template, and KWOK's built-in stages complete it", async () => {
    const c = ACCURATE;
    const cronName = `${c.name}-reaper`;
    const job = await waitFor(
      `a Job of CronJob ${cronName}`,
      async () => {
        const jobs = (await cluster().kubectl.getJson<{ items: any[] }>(['jobs', '-n', c.namespace])).items;
        return jobs.find((j) => j.metadata.ownerReferences?.some((o: any) => o.kind === 'CronJob' && o.name === cronName));
      },
      120_000,
      1000,
    );
    const cron = await cluster().kubectl.getJson(['cronjob', cronName, '-n', c.namespace]);
    expect(job.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'batch/v1', kind: 'CronJob', name: cronName, uid: cron.metadata.uid, controller: true })]);
    expect(job.spec.template.spec).toEqual(cron.spec.jobTemplate.spec.template.spec);
    expect(job.spec.template.spec.containers.map((k: any) => ({ name: k.name, args: k.args }))).toEqual([{ name: 'reap', args: ['queue', 'reap'] }]);
    // The controller names a Job after its scheduled time in minutes: a whole minute, after the CronJob was created.
    const scheduledMinute = Number(/^accurate-reaper-(\d+)$/.exec(job.metadata.name)?.[1]);
    const created = Date.parse(job.metadata.creationTimestamp);
    expect(scheduledMinute * 60_000).toBeGreaterThanOrEqual(Math.floor(Date.parse(cron.metadata.creationTimestamp) / 60_000) * 60_000);
    expect(created - scheduledMinute * 60_000).toBeGreaterThanOrEqual(0);
    expect(created - scheduledMinute * 60_000).toBeLessThan(60_000);
    await cluster().kubectl.ok(['wait', '--for=condition=Complete', '--timeout=60s', `job/${job.metadata.name}`, '-n', c.namespace]);
    timeline.reaper = { job: job.metadata.name, scheduledFor: new Date(scheduledMinute * 60_000).toISOString(), createdAt: job.metadata.creationTimestamp };
  }, 200_000);
});

describe('at the end', () => {
  it('every ScaledJob of the test charts that reaches its Redis is still Ready', async () => {
    for (const c of REACHABLE) expect({ name: c.name, ready: (await readyCondition(c))?.status }).toEqual({ name: c.name, ready: 'True' });
  });
});
