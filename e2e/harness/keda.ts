/**
 * KEDA on a {@link ControlPlane}, as local processes: the operator, the metrics adapter (the
 * aggregated API v1beta1.external.metrics.k8s.io) and the admission webhooks, all three as the
 * ServiceAccount keda/keda-operator with KEDA's own RBAC. CRDs, RBAC and the webhook configuration
 * come from the KEDA module in the Go module cache (the source `npm run e2e:build` compiled), so
 * they always match the binaries.
 */
import { execFileSync } from 'child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import * as yaml from 'js-yaml';
import { freePort } from '../../test/support/redis-server';
import { KEDA_VERSION, MODULES_DIR } from '../build/components';
import { ControlPlane } from './control-plane';
import { base64Pem } from './pki';
import { answers200, waitFor } from './wait';

export const KEDA_NAMESPACE = 'keda';
const SERVICE_ACCOUNT = 'keda-operator';
/** The Service the APIService names: an ExternalName pointing at the adapter on loopback. */
const ADAPTER_SERVICE = 'keda-metrics-apiserver';
const EXTERNAL_METRICS_API = 'v1beta1.external.metrics.k8s.io';
const READY_TIMEOUT_MS = 120_000;

/** The folder of github.com/kedacore/keda/v2 in the Go module cache (downloaded by e2e:build). */
export function kedaModuleDir(): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `github.com/kedacore/keda/v2@${KEDA_VERSION}`], {
    cwd: join(MODULES_DIR, 'keda'),
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

export interface KedaPorts {
  readonly grpc: number;
  readonly adapter: number;
  readonly webhooks: number;
  /** The operator's own Prometheus `/metrics` (plain HTTP on 127.0.0.1; 8080 in a cluster). */
  readonly operatorMetrics: number;
}

export interface KedaOptions {
  /**
   * More keda-operator flags, after the harness's own (the last of a flag wins), e.g.
   * '--zap-log-level=debug' for the per-poll scaling decisions.
   * @default []
   */
  readonly operatorArgs?: readonly string[];
}

export class Keda {
  /** Starts KEDA on `plane`; on failure throws with the logs (the plane's stop() ends what started). */
  static async start(plane: ControlPlane, options: KedaOptions = {}): Promise<Keda> {
    const keda = new Keda(plane, kedaModuleDir(), options);
    try {
      await keda.boot();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${plane.logs()}`);
    }
    return keda;
  }

  ports!: KedaPorts;
  private readonly certDir: string;

  private constructor(
    private readonly plane: ControlPlane,
    /** KEDA's source in the module cache. */
    readonly moduleDir: string,
    private readonly options: KedaOptions = {},
  ) {
    this.certDir = join(plane.dir, 'keda-certs');
  }

  private manifests(...paths: string[]): object[] {
    return paths.flatMap((path) => yaml.loadAll(readFileSync(join(this.moduleDir, path), 'utf8')).filter((doc): doc is object => doc !== null && typeof doc === 'object'));
  }

  private async boot(): Promise<void> {
    const { kubectl } = this.plane;
    const crdDir = join(this.moduleDir, 'config', 'crd', 'bases');
    const crds = readdirSync(crdDir).filter((file) => file.endsWith('.yaml'));
    await kubectl.apply(this.manifests(...crds.map((file) => join('config', 'crd', 'bases', file))));
    await kubectl.ok(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((file) => `crd/${file.replace(/^([^_]+)_(.+)\.yaml$/, '$2.$1')}`)]);

    await kubectl.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: KEDA_NAMESPACE } }]);
    await kubectl.apply(
      this.manifests(
        'config/service_account/service_account.yaml',
        'config/rbac/role.yaml',
        'config/rbac/role_binding.yaml',
        'config/metrics-server/role.yaml',
        'config/metrics-server/role_binding.yaml',
      ),
    );
    const token = (await kubectl.ok(['create', 'token', SERVICE_ACCOUNT, '-n', KEDA_NAMESPACE, '--duration=24h'])).trim();
    const kubeconfig = this.plane.kubeconfig('keda-operator', { token });

    this.makeCertificates();
    this.ports = { grpc: await freePort(), adapter: await freePort(), webhooks: await freePort(), operatorMetrics: await freePort() };
    const env = {
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACE: '',
      KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
      POD_NAMESPACE: KEDA_NAMESPACE,
    };
    const logFlags = ['--zap-log-level=info', '--zap-encoder=console', '--zap-time-encoding=rfc3339'];

    const operatorProbe = await freePort();
    const operator = this.plane.startProcess(
      'keda-operator',
      'keda-operator',
      [
        '--leader-elect=false',
        `--metrics-bind-address=127.0.0.1:${this.ports.operatorMetrics}`,
        `--health-probe-bind-address=127.0.0.1:${operatorProbe}`,
        // The gRPC server the adapter asks for metrics (9666 in a cluster).
        `--metrics-service-bind-address=127.0.0.1:${this.ports.grpc}`,
        `--cert-dir=${this.certDir}`,
        `--ca-dir=${this.certDir}`,
        '--enable-cert-rotation=false',
        ...logFlags,
        ...(this.options.operatorArgs ?? []),
      ],
      env,
    );
    await this.plane.waitReady(operator, 'keda-operator /readyz', () => answers200(`http://127.0.0.1:${operatorProbe}/readyz`), READY_TIMEOUT_MS);

    const adapter = this.plane.startProcess(
      'keda-adapter',
      'keda-adapter',
      [
        '--bind-address=127.0.0.1',
        `--secure-port=${this.ports.adapter}`,
        `--cert-dir=${this.certDir}`,
        `--tls-cert-file=${join(this.certDir, 'tls.crt')}`,
        `--tls-private-key-file=${join(this.certDir, 'tls.key')}`,
        `--lister-kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--metrics-service-address=127.0.0.1:${this.ports.grpc}`,
        // Its own /metrics: upstream binds it on every interface, with no flag for the address.
        `--port=${await freePort()}`,
        ...logFlags,
      ],
      env,
    );
    await this.plane.waitReady(adapter, 'keda-adapter /readyz', () => answers200(`https://127.0.0.1:${this.ports.adapter}/readyz`), READY_TIMEOUT_MS);

    const webhooksProbe = await freePort();
    const webhooks = this.plane.startProcess(
      'keda-webhooks',
      'keda-webhooks',
      [
        // The webhook server binds every interface on this port: upstream has no flag for the address.
        `--port=${this.ports.webhooks}`,
        `--cert-dir=${this.certDir}`,
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        `--health-probe-bind-address=127.0.0.1:${webhooksProbe}`,
        // Debug: it then logs every object it found valid, which the tests read.
        ...logFlags.map((flag) => (flag.startsWith('--zap-log-level') ? '--zap-log-level=debug' : flag)),
      ],
      env,
    );
    await this.plane.waitReady(webhooks, 'keda-webhooks /readyz', () => answers200(`http://127.0.0.1:${webhooksProbe}/readyz`), READY_TIMEOUT_MS);

    await this.registerMetricsApi();
    await this.registerWebhooks();
  }

  /** One certificate for all three programs (as KEDA's own cert rotation makes it), by the KEDA CA. */
  private makeCertificates(): void {
    mkdirSync(this.certDir);
    const ca = this.plane.pki.ca('keda-ca');
    const services = ['keda-operator', ADAPTER_SERVICE, 'keda-admission-webhooks'];
    const leaf = this.plane.pki.leaf('keda', ca, {
      commonName: 'keda',
      dnsNames: ['localhost', ...services.flatMap((s) => [`${s}.${KEDA_NAMESPACE}.svc`, `${s}.${KEDA_NAMESPACE}.svc.cluster.local`])],
      ipAddresses: ['127.0.0.1'],
      client: true,
    });
    copyFileSync(ca.cert, join(this.certDir, 'ca.crt'));
    copyFileSync(leaf.cert, join(this.certDir, 'tls.crt'));
    copyFileSync(leaf.key, join(this.certDir, 'tls.key'));
  }

  /**
   * The APIService through a Service of type ExternalName at 127.0.0.1 (Endpoints cannot hold
   * loopback addresses): the aggregator dials <externalName>:<port> and checks the certificate
   * against keda-metrics-apiserver.keda.svc.
   */
  private async registerMetricsApi(): Promise<void> {
    const port = this.ports.adapter;
    await this.plane.kubectl.apply([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: ADAPTER_SERVICE, namespace: KEDA_NAMESPACE },
        spec: { type: 'ExternalName', externalName: '127.0.0.1', ports: [{ name: 'https', port, targetPort: port }] },
      },
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: EXTERNAL_METRICS_API },
        spec: {
          service: { name: ADAPTER_SERVICE, namespace: KEDA_NAMESPACE, port },
          group: 'external.metrics.k8s.io',
          version: 'v1beta1',
          caBundle: base64Pem(join(this.certDir, 'ca.crt')),
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    ]);
    await waitFor(
      `APIService ${EXTERNAL_METRICS_API} Available`,
      async () => {
        const service = await this.plane.kubectl.getJson(['apiservice', EXTERNAL_METRICS_API]);
        const available = service.status?.conditions?.find((c: any) => c.type === 'Available');
        if (available?.status === 'True') return true;
        throw new Error(`Available=${available?.status}: ${available?.message}`);
      },
      READY_TIMEOUT_MS,
      500,
    );
  }

  /**
   * KEDA's ValidatingWebhookConfiguration, each webhook pointed at the local server by URL. Upstream
   * ships failurePolicy Ignore (a KEDA outage must not block deployments); here it is Fail, so that
   * an object the tests see admitted was really accepted by KEDA, not waved through by a failed call.
   */
  private async registerWebhooks(): Promise<void> {
    const caBundle = base64Pem(join(this.certDir, 'ca.crt'));
    const [configuration] = this.manifests('config/webhooks/validation_webhooks.yaml') as any[];
    for (const webhook of configuration.webhooks) {
      webhook.clientConfig = { url: `https://127.0.0.1:${this.ports.webhooks}${webhook.clientConfig.service.path}`, caBundle };
      webhook.failurePolicy = 'Fail';
    }
    await this.plane.kubectl.apply([configuration]);
  }
}
