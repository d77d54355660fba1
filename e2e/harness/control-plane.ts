/**
 * A live Kubernetes control plane of local processes on loopback: etcd, kube-apiserver (RBAC, the
 * default admission plugins, Pod Security among them), kube-controller-manager (every controller,
 * short sync periods), kube-scheduler and KWOK, which plays the kubelet of the Nodes labelled
 * {@link KWOK_NODE_LABEL} (pods bound to them become Running and Ready, Job pods complete). Nodes
 * without that label are left alone, for a real node agent to serve.
 *
 * Everything lives in one temp folder (certificates, kubeconfigs, etcd data, logs); stop() ends
 * every process and removes the folder, also when start failed half way.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../../test/support/redis-server';
import { BinaryName, binaryPath } from '../build/components';
import { Kubectl } from './kubectl';
import { CertificateAuthority, KeyPair, Pki, pem } from './pki';
import { Processes, StartedProcess } from './processes';
import { answers200, httpGet, waitFor } from './wait';

/** The label (key=value) of the Nodes KWOK manages. */
export const KWOK_NODE_LABEL = { key: 'e2e.redis-keda.dev/kubelet', value: 'kwok' } as const;
export const SERVICE_CIDR = '10.96.0.0/16';
export const POD_CIDR = '10.244.0.1/24';

const START_TIMEOUT_MS = 120_000;

export interface ControlPlaneOptions {
  /** How many Nodes KWOK serves (named kwok-node-<i>). @default 2 */
  readonly kwokNodes?: number;
  /** kube-controller-manager's --horizontal-pod-autoscaler-sync-period. @default '1s' */
  readonly hpaSyncPeriod?: string;
  /** --horizontal-pod-autoscaler-downscale-stabilization (a ScaledObject's own behavior overrides it). @default '10s' */
  readonly hpaDownscaleStabilization?: string;
  /** More kube-controller-manager flags (e.g. '--horizontal-pod-autoscaler-tolerance=0.05'). @default [] */
  readonly controllerManagerArgs?: readonly string[];
  /** More kube-apiserver flags. @default [] */
  readonly apiServerArgs?: readonly string[];
  /** Keep the run folder after stop() (certificates, logs) for a person to look at. @default - $E2E_KEEP is set */
  readonly keep?: boolean;
  /**
   * KWOK Stage objects written into its configuration file. Pod stages given here replace KWOK's
   * built-in pod stages entirely (node stages stay built-in unless Node stages are given too), so
   * pass the built-in ones along for pods that should behave as usual (see `./kwok-stages`).
   * @default [] (KWOK's built-in stages)
   */
  readonly kwokStages?: readonly object[];
}

export class ControlPlane {
  /** Starts everything and waits until the Nodes are Ready; on failure stops what started and throws with the logs. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    try {
      await plane.boot();
      return plane;
    } catch (error) {
      const logs = plane.processes.logTails();
      await plane.stop();
      throw new Error(`${(error as Error).message}\n${logs}`);
    }
  }

  readonly dir: string;
  readonly logDir: string;
  readonly pkiDir: string;
  readonly processes: Processes;
  readonly pki: Pki;
  /** kubectl as a cluster admin (system:masters). */
  readonly kubectl: Kubectl;
  /** What a client needs to reach the API server (the URL is known once start() picked the port). */
  readonly access: { server: string; readonly caFile: string };
  /** Names of the KWOK Nodes. */
  readonly kwokNodes: readonly string[];
  clusterCa!: CertificateAuthority;
  frontProxyCa!: CertificateAuthority;
  private readonly adminKubeconfig: string;
  private readonly apiServerPort: Promise<number>;
  private readonly keep: boolean;
  private saPrivateKey = '';
  /** The admin's client TLS (PEM contents), for the components' own HTTPS endpoints. */
  private adminTls: { ca: string; cert: string; key: string } | undefined;
  /** The secure port each of kube-controller-manager and kube-scheduler serves /healthz and /metrics on. */
  private readonly componentPorts = new Map<string, number>();

  private constructor(private readonly options: ControlPlaneOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'redis-keda-e2e-'));
    this.logDir = join(this.dir, 'logs');
    this.pkiDir = join(this.dir, 'pki');
    mkdirSync(this.logDir);
    mkdirSync(this.pkiDir);
    this.processes = new Processes(this.logDir);
    this.pki = new Pki(this.pkiDir);
    this.adminKubeconfig = join(this.dir, 'admin.kubeconfig');
    this.kubectl = new Kubectl(binaryPath('kubectl'), this.adminKubeconfig);
    this.apiServerPort = freePort();
    this.access = { server: '', caFile: join(this.pkiDir, 'cluster-ca.crt') };
    this.kwokNodes = Array.from({ length: options.kwokNodes ?? 2 }, (_, i) => `kwok-node-${i}`);
    this.keep = options.keep ?? Boolean(process.env.E2E_KEEP);
  }

  /** Writes a kubeconfig for a client certificate (or a bearer token) and returns its path. */
  kubeconfig(name: string, user: { readonly keyPair?: KeyPair; readonly token?: string }): string {
    const path = join(this.dir, `${name}.kubeconfig`);
    const credentials = user.keyPair ? { 'client-certificate': user.keyPair.cert, 'client-key': user.keyPair.key } : { token: user.token };
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: this.access.server, 'certificate-authority': this.access.caFile } }],
      users: [{ name, user: credentials }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: name } }],
      'current-context': 'e2e',
    };
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  /** Starts a program of the harness, logging to <logDir>/<name>.log. */
  startProcess(name: string, binary: BinaryName, args: readonly string[], env: Record<string, string> = {}): StartedProcess {
    return this.processes.start(name, binaryPath(binary), args, env);
  }

  /** Waits for `probe`, failing early (with its log) if `process` exits meanwhile. */
  async waitReady<T>(started: StartedProcess, what: string, probe: () => Promise<T | undefined>, timeoutMs = START_TIMEOUT_MS): Promise<T> {
    return waitFor(
      what,
      async () => {
        this.processes.assertRunning(started);
        return probe();
      },
      timeoutMs,
    );
  }

  /** The whole log of one process (by the name it was started with). */
  logOf(name: string): string {
    return readFileSync(join(this.logDir, `${name}.log`), 'utf8');
  }

  /** The last lines of every log, for a failing test. */
  logs(lines?: number): string {
    return this.processes.logTails(lines);
  }

  /**
   * The Prometheus text of kube-controller-manager's or kube-scheduler's /metrics, read as the admin
   * (e.g. `horizontal_pod_autoscaler_controller_reconciliations_total`, to count HPA syncs).
   */
  async componentMetrics(binary: 'kube-controller-manager' | 'kube-scheduler'): Promise<string> {
    const port = this.componentPorts.get(binary);
    if (port === undefined || !this.adminTls) throw new Error(`${binary} has not started`);
    // Its serving certificate is self-signed (no --tls-cert-file): the admin's client certificate, no server check.
    const { status, body } = await httpGet(`https://127.0.0.1:${port}/metrics`, { cert: this.adminTls.cert, key: this.adminTls.key });
    if (status !== 200) throw new Error(`GET ${binary} /metrics answered ${status}: ${body.slice(0, 200)}`);
    return body;
  }

  async stop(): Promise<void> {
    await this.processes.stopAll();
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    const port = await this.apiServerPort;
    this.access.server = `https://127.0.0.1:${port}`;
    this.makePki();
    const etcdUrl = await this.startEtcd();
    await this.startApiServer(port, etcdUrl);
    await this.startControllerManager();
    await this.startScheduler();
    await this.startKwok();
    await this.createNodes();
  }

  private makePki(): void {
    this.clusterCa = this.pki.ca('cluster-ca');
    this.frontProxyCa = this.pki.ca('front-proxy-ca');
  }

  private async startEtcd(): Promise<string> {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const etcd = this.startProcess('etcd', 'etcd', [
      '--name=e2e',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=e2e=${peer}`,
      // Test data: no fsync, so a busy machine's disk does not slow every write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await this.waitReady(etcd, 'etcd /health', () => answers200(`${client}/health`));
    return client;
  }

  private async startApiServer(port: number, etcdUrl: string): Promise<void> {
    const serving = this.pki.leaf('kube-apiserver', this.clusterCa, {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', '10.96.0.1'],
    });
    const frontProxy = this.pki.leaf('front-proxy-client', this.frontProxyCa, { commonName: 'front-proxy-client' });
    const admin = this.pki.leaf('admin', this.clusterCa, { commonName: 'e2e-admin', organizations: ['system:masters'] });
    const sa = this.pki.serviceAccountKeys();
    this.saPrivateKey = sa.privateKey;
    this.kubeconfig('admin', { keyPair: admin });
    const apiServer = this.startProcess('kube-apiserver', 'kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${this.clusterCa.cert}`,
      '--authorization-mode=Node,RBAC',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${sa.publicKey}`,
      `--service-account-signing-key-file=${sa.privateKey}`,
      // The aggregation layer (KEDA's metrics adapter): the API server proxies as front-proxy-client.
      `--requestheader-client-ca-file=${this.frontProxyCa.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${frontProxy.cert}`,
      `--proxy-client-key-file=${frontProxy.key}`,
      // Endpoints may not hold loopback addresses: the API server does not publish its own.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      ...(this.options.apiServerArgs ?? []),
    ]);
    const clientTls = { ca: pem(this.clusterCa.cert), cert: pem(admin.cert), key: pem(admin.key) };
    this.adminTls = clientTls;
    await this.waitReady(apiServer, 'kube-apiserver /readyz', () => answers200(`${this.access.server}/readyz`, clientTls));
  }

  /**
   * Starts kube-controller-manager or kube-scheduler as its own user (`system:<binary>`), serving
   * /healthz on a free loopback port, without leader election; resolves once /healthz answers.
   */
  private async startComponent(binary: 'kube-controller-manager' | 'kube-scheduler', args: readonly string[]): Promise<StartedProcess> {
    const user = this.pki.leaf(`${binary}-client`, this.clusterCa, { commonName: `system:${binary}` });
    const kubeconfig = this.kubeconfig(binary, { keyPair: user });
    const port = await freePort();
    this.componentPorts.set(binary, port);
    const started = this.startProcess(binary, binary, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      ...args,
    ]);
    await this.waitReady(started, `${binary} /healthz`, () => answers200(`https://127.0.0.1:${port}/healthz`));
    return started;
  }

  private async startControllerManager(): Promise<void> {
    const manager = await this.startComponent('kube-controller-manager', [
      '--controllers=*,bootstrapsigner,tokencleaner',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${this.saPrivateKey}`,
      `--root-ca-file=${this.clusterCa.cert}`,
      `--cluster-signing-cert-file=${this.clusterCa.cert}`,
      `--cluster-signing-key-file=${this.clusterCa.key}`,
      `--horizontal-pod-autoscaler-sync-period=${this.options.hpaSyncPeriod ?? '1s'}`,
      `--horizontal-pod-autoscaler-downscale-stabilization=${this.options.hpaDownscaleStabilization ?? '10s'}`,
      '--namespace-sync-period=10s',
      '--node-monitor-period=2s',
      ...(this.options.controllerManagerArgs ?? []),
    ]);
    // Its service-account controller gives every namespace a `default` ServiceAccount, which pods need.
    await this.waitReady(manager, 'ServiceAccount default/default', async () =>
      (await this.kubectl.run(['get', 'serviceaccount', 'default', '-n', 'default'])).code === 0 ? true : undefined,
    );
  }

  private async startScheduler(): Promise<void> {
    await this.startComponent('kube-scheduler', []);
  }

  private async startKwok(): Promise<void> {
    const port = await freePort();
    // KWOK plays every kubelet of the KWOK Nodes: it writes Node and Pod status, so it acts as admin.
    const kwok = this.startProcess('kwok', 'kwok', [
      `--kubeconfig=${this.adminKubeconfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL.key}=${KWOK_NODE_LABEL.value}`,
      `--server-address=127.0.0.1:${port}`,
      '--node-ip=127.0.0.1',
      `--node-port=${port}`,
      `--cidr=${POD_CIDR}`,
      // Our configuration (empty: the built-in stages), never a ~/.kwok/kwok.yaml of whoever runs the tests.
      `--config=${this.writeKwokConfig()}`,
    ]);
    await this.waitReady(kwok, 'kwok /healthz', () => answers200(`http://127.0.0.1:${port}/healthz`));
  }

  private writeKwokConfig(): string {
    const path = join(this.dir, 'kwok.yaml');
    // One YAML document per Stage (a JSON document is YAML).
    writeFileSync(path, (this.options.kwokStages ?? []).map((stage) => `---\n${JSON.stringify(stage)}\n`).join(''));
    return path;
  }

  private async createNodes(): Promise<void> {
    // `kwokNodes: 0`: every pod goes to the Nodes the test brings (a NodeAgent's).
    if (this.kwokNodes.length === 0) return;
    await this.kubectl.apply(this.kwokNodes.map((name) => kwokNode(name)));
    await waitFor(
      'KWOK Nodes Ready',
      async () => {
        const nodes = await this.kubectl.getJson<{ items: any[] }>(['nodes', '-l', `${KWOK_NODE_LABEL.key}=${KWOK_NODE_LABEL.value}`]);
        const ready = nodes.items.filter((node) => node.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === this.kwokNodes.length ? true : undefined;
      },
      START_TIMEOUT_MS,
    );
  }

  /** Creates a namespace enforcing Pod Security `restricted` (at the latest version), as the charts' namespaces are. */
  async createRestrictedNamespace(name: string): Promise<void> {
    await this.kubectl.apply([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
      },
    ]);
    await waitFor(`ServiceAccount ${name}/default`, async () => ((await this.kubectl.run(['get', 'serviceaccount', 'default', '-n', name])).code === 0 ? true : undefined), 30_000);
  }
}

/** A Node for KWOK: its label selects it, the annotation is the one kwokctl's nodes carry. */
function kwokNode(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { [KWOK_NODE_LABEL.key]: KWOK_NODE_LABEL.value, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    status: {
      capacity: { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' },
      allocatable: { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' },
    },
  };
}
