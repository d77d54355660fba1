import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { KedaScaledJob, KedaScaledObject, PrometheusMetricType, PrometheusTrigger, PrometheusTriggerProps } from '../../constructs';
import { referenceViolations } from '../manifests/references';
import { upstreamErrors } from '../manifests/upstream-models';
import { Doc, only, synth, testChart } from './helpers';

const SERVER = 'http://prometheus.monitoring.svc:9090';
const QUERY = 'sum(redis_keda_queue_depth{list="jobs",state=~"ready|inflight"})';

function secret(chart: Chart, name: string, key: string) {
  return { secret: kplus.Secret.fromSecretName(chart, `${name}-${key}`, name), key };
}

function setup(props: Partial<PrometheusTriggerProps> = {}, scalerName?: string) {
  const chart = testChart();
  const target = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'w:1' }] });
  const trigger = new PrometheusTrigger(chart, 'prom', { serverAddress: SERVER, query: QUERY, threshold: 10, ...props });
  new KedaScaledObject(chart, 'scaler', { target, triggers: [trigger], name: scalerName });
  const docs = synth(chart);
  return { chart, docs, so: only(docs, 'ScaledObject'), auths: docs.filter((d) => d.kind === 'TriggerAuthentication') };
}

function schemaErrors(docs: Doc[]): string[] {
  return docs.filter((d) => d.apiVersion === 'keda.sh/v1alpha1').flatMap((d) => upstreamErrors(d as any).map((e) => `${d.kind}: ${e}`));
}

describe('PrometheusTrigger', () => {
  test('defaults: no authentication, activationThreshold 0, KEDA decides ignoreNullValues and metricType', () => {
    const { docs, so, auths } = setup();
    expect(auths).toEqual([]);
    expect(so.spec.triggers).toEqual([{ type: 'prometheus', metadata: { serverAddress: SERVER, query: QUERY, threshold: '10', activationThreshold: '0' } }]);
    expect(schemaErrors(docs)).toEqual([]);
    expect(referenceViolations(docs)).toEqual([]);
  });

  test('every metadata option, with a trigger name', () => {
    const { docs, so } = setup({
      name: 'backlog',
      threshold: 2.5,
      activationThreshold: 1,
      namespace: 'tenant-a',
      ignoreNullValues: false,
      metricType: PrometheusMetricType.VALUE,
      serverAddress: 'https://thanos.example.com/api/prom',
    });
    expect(so.spec.triggers).toEqual([
      {
        type: 'prometheus',
        name: 'backlog',
        metricType: 'Value',
        metadata: {
          serverAddress: 'https://thanos.example.com/api/prom',
          query: QUERY,
          threshold: '2.5',
          activationThreshold: '1',
          namespace: 'tenant-a',
          ignoreNullValues: 'false',
        },
      },
    ]);
    expect(schemaErrors(docs)).toEqual([]);
  });

  test('bearer token from a Secret, without names: generated TriggerAuthentication, referenced by the trigger', () => {
    const chart = testChart();
    const target = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'w:1' }] });
    const trigger = new PrometheusTrigger(chart, 'prom', { serverAddress: SERVER, query: QUERY, threshold: 10, bearerToken: secret(chart, 'prom-token', 'token') });
    new KedaScaledObject(chart, 'scaler', { target, triggers: [trigger] });
    const docs = synth(chart);
    const auth = only(docs, 'TriggerAuthentication');
    expect(auth).toEqual({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'test-prom-auth-c81dfb02', namespace: 'test-ns' },
      spec: { secretTargetRef: [{ parameter: 'bearerToken', name: 'prom-token', key: 'token' }] },
    });
    expect(trigger.authentication?.name).toBe('test-prom-auth-c81dfb02');
    expect(only(docs, 'ScaledObject').spec.triggers).toEqual([
      {
        type: 'prometheus',
        authenticationRef: { name: 'test-prom-auth-c81dfb02' },
        metadata: { serverAddress: SERVER, query: QUERY, threshold: '10', activationThreshold: '0', authModes: 'bearer' },
      },
    ]);
    expect(schemaErrors(docs)).toEqual([]);
    expect(referenceViolations(docs, { externalSecrets: ['prom-token'] })).toEqual([]);
  });

  test('basic auth from Secrets, with names: <name>-trigger-auth', () => {
    const chart = testChart();
    const target = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'w:1' }] });
    const trigger = new PrometheusTrigger(chart, 'prom', {
      name: 'backlog',
      serverAddress: SERVER,
      query: QUERY,
      threshold: 10,
      basicAuth: { username: secret(chart, 'prom-basic', 'user'), password: secret(chart, 'prom-basic', 'pass') },
    });
    new KedaScaledObject(chart, 'scaler', { name: 'consumers', target, triggers: [trigger] });
    const docs = synth(chart);
    expect(only(docs, 'TriggerAuthentication')).toEqual({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'backlog-trigger-auth', namespace: 'test-ns' },
      spec: {
        secretTargetRef: [
          { parameter: 'username', name: 'prom-basic', key: 'user' },
          { parameter: 'password', name: 'prom-basic', key: 'pass' },
        ],
      },
    });
    const so = only(docs, 'ScaledObject');
    expect(so.metadata.name).toBe('consumers');
    expect(so.spec.triggers).toEqual([
      {
        type: 'prometheus',
        name: 'backlog',
        authenticationRef: { name: 'backlog-trigger-auth' },
        metadata: { serverAddress: SERVER, query: QUERY, threshold: '10', activationThreshold: '0', authModes: 'basic' },
      },
    ]);
    expect(schemaErrors(docs)).toEqual([]);
    expect(referenceViolations(docs, { externalSecrets: ['prom-basic'] })).toEqual([]);
    // Only references: a Secret the chart defines itself is named, its data never copied.
    expect(JSON.stringify(docs)).not.toMatch(/"data"|stringData/);
  });

  test('a Secret the chart holds resolves through the reference checker; a missing one is reported', () => {
    const chart = testChart();
    const token = new kplus.Secret(chart, 'token', { metadata: { name: 'prom-token' }, stringData: { token: 's3cret' } });
    const target = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'w:1' }] });
    const trigger = new PrometheusTrigger(chart, 'prom', { serverAddress: SERVER, query: QUERY, threshold: 10, bearerToken: { secret: token, key: 'token' } });
    new KedaScaledObject(chart, 'scaler', { target, triggers: [trigger] });
    const docs = synth(chart);
    expect(referenceViolations(docs)).toEqual([]);
    const withoutSecret = docs.filter((d) => d.kind !== 'Secret');
    expect(referenceViolations(withoutSecret)).toEqual([
      'TriggerAuthentication/test-prom-auth-c81dfb02: secretTargetRef "bearerToken" names Secret/prom-token, which is not in the output nor expected',
    ]);
    expect(JSON.stringify(withoutSecret)).not.toContain('s3cret');
  });

  test('a KedaScaledJob takes it too, without metricType', () => {
    const chart = testChart();
    const trigger = new PrometheusTrigger(chart, 'prom', {
      serverAddress: SERVER,
      query: QUERY,
      threshold: 1,
      metricType: PrometheusMetricType.VALUE,
      bearerToken: secret(chart, 'prom-token', 'token'),
    });
    new KedaScaledJob(chart, 'jobs', { triggers: [trigger], container: { args: ['consume', '--once'] } });
    const docs = synth(chart);
    expect(only(docs, 'ScaledJob').spec.triggers).toEqual([
      {
        type: 'prometheus',
        authenticationRef: { name: 'test-prom-auth-c81dfb02' },
        metadata: { serverAddress: SERVER, query: QUERY, threshold: '1', activationThreshold: '0', authModes: 'bearer' },
      },
    ]);
    expect(schemaErrors(docs)).toEqual([]);
    expect(referenceViolations(docs, { externalSecrets: ['prom-token'] })).toEqual([]);
  });

  test('a trigger with credentials used by a scaler in another namespace is rejected', () => {
    const app = Testing.app();
    const a = new Chart(app, 'a', { namespace: 'ns-a' });
    const b = new Chart(app, 'b', { namespace: 'ns-b' });
    const trigger = new PrometheusTrigger(a, 'prom', { serverAddress: SERVER, query: QUERY, threshold: 10, bearerToken: secret(a, 'prom-token', 'token') });
    const target = new kplus.Deployment(b, 'worker', { containers: [{ image: 'w:1' }] });
    expect(() => new KedaScaledObject(b, 'scaler', { target, triggers: [trigger] })).toThrow(
      new Error("b/scaler: 'triggers' (\"a/prom\") names a TriggerAuthentication in namespace ns-a, not ns-b: create the trigger in the scaler's namespace"),
    );
  });

  test.each<[string, Partial<PrometheusTriggerProps>, string]>([
    ['empty query', { query: '' }, `test/prom: 'query' ("") must not be empty`],
    ['blank query', { query: '  ' }, `test/prom: 'query' ("  ") must not be empty`],
    ['zero threshold', { threshold: 0 }, `test/prom: 'threshold' (0) must be a number greater than 0`],
    ['negative threshold', { threshold: -1 }, `test/prom: 'threshold' (-1) must be a number greater than 0`],
    ['NaN threshold', { threshold: NaN }, `test/prom: 'threshold' (NaN) must be a number greater than 0`],
    ['negative activationThreshold', { activationThreshold: -0.5 }, `test/prom: 'activationThreshold' (-0.5) must be a number of at least 0`],
    ['serverAddress without scheme', { serverAddress: 'prometheus:9090' }, `test/prom: 'serverAddress' ("prometheus:9090") must be an http:// or https:// URL`],
    ['serverAddress of another scheme', { serverAddress: 'ftp://prometheus' }, `test/prom: 'serverAddress' ("ftp://prometheus") must be an http:// or https:// URL`],
    ['serverAddress without host', { serverAddress: 'http://' }, `test/prom: 'serverAddress' ("http://") must be an http:// or https:// URL`],
    ['empty serverAddress', { serverAddress: '' }, `test/prom: 'serverAddress' ("") must be an http:// or https:// URL`],
    ['a name that is no DNS label', { name: 'Backlog' }, `test/prom: 'name' ("Backlog") must be a DNS-1123 label: lower-case letters, digits and -, at most 63 characters`],
  ])('rejects %s', (_, props, message) => {
    const chart = testChart();
    expect(() => new PrometheusTrigger(chart, 'prom', { serverAddress: SERVER, query: QUERY, threshold: 10, ...props })).toThrow(new Error(message));
  });

  test('rejects bearer and basic together, and a Secret reference without a key', () => {
    const chart = testChart();
    const base = { serverAddress: SERVER, query: QUERY, threshold: 10 };
    const basicAuth = { username: secret(chart, 'prom-basic', 'user'), password: secret(chart, 'prom-basic', 'pass') };
    expect(() => new PrometheusTrigger(chart, 'both', { ...base, bearerToken: secret(chart, 'prom-token', 'token'), basicAuth })).toThrow(
      new Error(`test/both: 'bearerToken' ("Secret prom-token") must not be set together with 'basicAuth': KEDA takes one of bearer and basic`),
    );
    expect(() => new PrometheusTrigger(chart, 'nokey', { ...base, basicAuth: { ...basicAuth, password: { secret: basicAuth.password.secret, key: '' } } })).toThrow(
      new Error(`test/nokey: 'basicAuth.password.key' ("") must name the key of Secret "prom-basic"`),
    );
  });
});
