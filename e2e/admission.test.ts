/**
 * Every chart of dist/ admitted by a live API server with KEDA's webhooks: applied with our kubectl
 * (`apply -k --server-side`) into namespaces that enforce Pod Security "restricted". The negative
 * controls prove the same cluster refuses what it should, each with its own message.
 */
import { join } from 'path';
import { defaultReferenceDir } from '../scripts/reference-dir';
import { ChartFolder, KubeObject, loadDist } from '../test/manifests/load-dist';
import { ControlPlane } from './harness/control-plane';
import { Keda } from './harness/keda';
import { printLogsOnFailure } from './harness/logs';

const charts = loadDist().charts;

let plane: ControlPlane | undefined;
const cluster = (): ControlPlane => {
  if (!plane) throw new Error('the control plane did not start (see the beforeAll error)');
  return plane;
};
const it = printLogsOnFailure(test, () => plane);

beforeAll(async () => {
  plane = await ControlPlane.start();
  await Keda.start(plane);
  // The charts' PodMonitors and PrometheusRules need Prometheus-Operator's CRDs.
  const promCrds = join(defaultReferenceDir(), 'prometheus-operator');
  await plane.kubectl.ok(['apply', '--server-side', '-f', promCrds]);
  await plane.kubectl.ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/podmonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
}, 600_000);

afterAll(async () => {
  await plane?.stop();
});

/** The namespaces a chart's objects live in. */
function namespacesOf(chart: ChartFolder): string[] {
  return [...new Set(chart.docs.map((d) => d.doc.metadata?.namespace).filter((ns): ns is string => typeof ns === 'string'))].sort();
}

/** What `kubectl apply` prints for an object: `<kind>[.<group>]/<name>`, kind lower case. */
function resourceRef(doc: KubeObject): string {
  const apiVersion = String(doc.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return `${String(doc.kind).toLowerCase()}${group ? `.${group}` : ''}/${String(doc.metadata?.name)}`;
}

function identity(o: KubeObject): string {
  return `${String(o.kind)} ${String(o.metadata?.namespace)}/${String(o.metadata?.name)}`;
}

/** The pod template of a workload of the charts, wherever its kind keeps it. */
function podTemplate(doc: KubeObject): { metadata?: object; spec: object } | undefined {
  const spec = doc.spec as any;
  switch (doc.kind) {
    case 'Deployment':
    case 'StatefulSet':
      return spec.template;
    case 'CronJob':
      return spec.jobTemplate.spec.template;
    case 'ScaledJob':
      return spec.jobTargetRef.template;
    default:
      return undefined;
  }
}

/** A StatefulSet's pod spec as its controller makes it for pod 0: one volume per claim template, on the claim <template>-<set>-0. */
function withClaimVolumes(doc: KubeObject, spec: any): object {
  const claims: any[] = doc.kind === 'StatefulSet' ? ((doc.spec as any).volumeClaimTemplates ?? []) : [];
  if (claims.length === 0) return spec;
  const volumes = claims.map((claim) => ({ name: claim.metadata.name, persistentVolumeClaim: { claimName: `${claim.metadata.name}-${String(doc.metadata?.name)}-0` } }));
  return { ...spec, volumes: [...(spec.volumes ?? []), ...volumes] };
}

/** A Deployment whose pods meet "restricted". */
function restrictedDeployment(name: string, namespace: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
        },
      },
    },
  };
}

/** A ScaledObject on `target` with a cron trigger (no outside service) for 2 replicas from `from`:00 to `to`:00 UTC. */
function cronScaledObject(name: string, namespace: string, target: string, from: number, to: number): object {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { name: target },
      triggers: [{ type: 'cron', metadata: { timezone: 'Etc/UTC', start: `0 ${from} * * *`, end: `0 ${to} * * *`, desiredReplicas: '2' } }],
    },
  };
}

describe.each(charts.map((c) => [c.name, c] as const))('chart %s', (_name, chart) => {
  it('is applied server-side into namespaces enforcing "restricted", with no warning', async () => {
    for (const ns of namespacesOf(chart)) await cluster().createRestrictedNamespace(ns);
    const result = await cluster().kubectl.run(['apply', '-k', chart.dir, '--server-side', '--field-manager=e2e']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').sort()).toEqual(chart.docs.map((d) => `${resourceRef(d.doc)} serverside-applied`).sort());
  });

  it('has every object created', async () => {
    const listed = await cluster().kubectl.getJson<{ items: KubeObject[] }>(['-k', chart.dir]);
    expect(listed.items.map(identity).sort()).toEqual(chart.docs.map((d) => identity(d.doc)).sort());
    for (const item of listed.items) expect(typeof (item.metadata as any).uid).toBe('string');
  });

  it('has every pod template admitted as a Pod by "restricted" (server-side dry run)', async () => {
    const workloads = chart.docs.filter((d) => podTemplate(d.doc));
    expect(workloads.length).toBeGreaterThan(0);
    for (const { doc } of workloads) {
      const template = podTemplate(doc)!;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `dry-run-${String(doc.metadata?.name)}`, namespace: doc.metadata?.namespace },
        spec: withClaimVolumes(doc, template.spec),
      };
      const result = await cluster().kubectl.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(pod));
      expect({ workload: identity(doc), stderr: result.stderr }).toEqual({ workload: identity(doc), stderr: '' });
      expect(result.stdout.trim()).toBe(`pod/dry-run-${String(doc.metadata?.name)}`);
    }
  });

  it('has the pods of its Deployments without autoscaler and of its StatefulSets created by their controllers', async () => {
    const scaled = new Set(
      chart.docs.filter((d) => d.doc.kind === 'ScaledObject').map((d) => `${(d.doc.spec as any).scaleTargetRef.kind ?? 'Deployment'}/${(d.doc.spec as any).scaleTargetRef.name}`),
    );
    const workloads = chart.docs.filter(
      (d) => (d.doc.kind === 'Deployment' || d.doc.kind === 'StatefulSet') && !scaled.has(`${String(d.doc.kind)}/${String(d.doc.metadata?.name)}`),
    );
    for (const { doc } of workloads) {
      const wanted = ((doc.spec as any).replicas as number | undefined) ?? 1;
      const ref = [`${String(doc.kind).toLowerCase()}/${String(doc.metadata?.name)}`, '-n', String(doc.metadata?.namespace)];
      // `status.replicas` counts the pods the controller created: a pod the API server refused is not among them.
      await cluster().kubectl.ok(['wait', '--for=jsonpath={.status.replicas}=' + String(wanted), '--timeout=60s', ...ref]);
    }
  });

  it("has every ScaledObject and ScaledJob validated by KEDA's webhook", async () => {
    const scalers = chart.docs.filter((d) => d.doc.kind === 'ScaledObject' || d.doc.kind === 'ScaledJob');
    const log = cluster().logOf('keda-webhooks');
    for (const { doc } of scalers) {
      const message = doc.kind === 'ScaledObject' ? 'scaledobject is valid' : 'validating scaledjob creation';
      const line = log
        .split('\n')
        .find((l) => l.includes(message) && l.includes(`"namespace": "${String(doc.metadata?.namespace)}"`) && l.includes(`"name": "${String(doc.metadata?.name)}"`));
      expect({ object: identity(doc), logged: line !== undefined }).toEqual({ object: identity(doc), logged: true });
    }
  });
});

describe('KEDA on the cluster', () => {
  it("serves external.metrics.k8s.io/v1beta1 through the aggregator from KEDA's adapter", async () => {
    const list = JSON.parse(await cluster().kubectl.ok(['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1']));
    expect(list).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
      resources: [{ name: 'externalmetrics', singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] }],
    });
  });

  it("answers the external metric of a ScaledObject's HPA (aggregator -> adapter -> operator over gRPC)", async () => {
    const ns = 'e2e-metrics';
    await cluster().createRestrictedNamespace(ns);
    // A cron window from the start of this hour to two hours later: active whenever the test runs.
    const hour = new Date().getUTCHours();
    await cluster().kubectl.apply([restrictedDeployment('cron-target', ns), cronScaledObject('cron', ns, 'cron-target', hour, (hour + 2) % 24)]);
    await cluster().kubectl.ok(['wait', '--for=create', '--timeout=60s', 'hpa/keda-hpa-cron', '-n', ns]);
    const hpa = await cluster().kubectl.getJson(['hpa/keda-hpa-cron', '-n', ns]);
    const metric = hpa.spec.metrics[0].external.metric;
    const selector = Object.entries(metric.selector.matchLabels as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const raw = await cluster().kubectl.ok(['get', '--raw', `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/${metric.name}?labelSelector=${encodeURIComponent(selector)}`]);
    const values = JSON.parse(raw);
    expect(values.kind).toBe('ExternalMetricValueList');
    expect(values.items.map((i: any) => ({ metricName: i.metricName, value: i.value }))).toEqual([{ metricName: metric.name, value: '2' }]);
  });
});

describe('negative controls: the same cluster refuses', () => {
  const ns = 'e2e-negative';

  it('an object with a field its schema does not declare (the API server, strict field validation)', async () => {
    await cluster().createRestrictedNamespace(ns);
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', namespace: ns }, data: { a: 'b' }, dataa: { c: 'd' } };
    const result = await cluster().kubectl.run(['apply', '--server-side', '-f', '-'], JSON.stringify(configMap));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Error from server: failed to create typed patch object (${ns}/typo; /v1, Kind=ConfigMap): .dataa: field not declared in schema\n`);
    expect((await cluster().kubectl.run(['get', 'configmap', 'typo', '-n', ns])).code).toBe(1);
  });

  it('a pod that breaks "restricted" (Pod Security admission)', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } };
    const result = await cluster().kubectl.run(['apply', '--server-side', '-f', '-'], JSON.stringify(pod));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Error from server (Forbidden): pods "root" is forbidden: violates PodSecurity "restricted:latest": ' +
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")\n',
    );
    expect((await cluster().kubectl.run(['get', 'pod', 'root', '-n', ns])).code).toBe(1);
  });

  it("a second ScaledObject on a Deployment that has one (KEDA's webhook)", async () => {
    await cluster().kubectl.apply([restrictedDeployment('target', ns), cronScaledObject('first', ns, 'target', 8, 9)]);
    // The operator has reconciled the first one (its HPA exists), so the webhook's cache holds it too.
    await cluster().kubectl.ok(['wait', '--for=create', '--timeout=60s', 'hpa/keda-hpa-first', '-n', ns]);
    const result = await cluster().kubectl.run(['apply', '--server-side', '-f', '-'], JSON.stringify(cronScaledObject('second', ns, 'target', 8, 9)));
    expect(result.code).toBe(1);
    // KEDA checks the HPAs first, then the ScaledObjects: which one its cache holds first decides the message.
    const denied = `Error from server (Forbidden): admission webhook "vscaledobject.kb.io" denied the request: the workload 'target' of type 'apps/v1.Deployment' is already managed by the`;
    expect([`${denied} hpa 'keda-hpa-first'\n`, `${denied} ScaledObject 'first'\n`]).toContain(result.stderr);
    expect((await cluster().kubectl.run(['get', 'scaledobject', 'second', '-n', ns])).code).toBe(1);
  });
});
