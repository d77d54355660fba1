import { ApiObject, Chart, Duration, JsonPatch, Lazy, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { REDIS_EXPORTER_PORT, REDIS_PORT } from '../../runtime/contract';
import type { SecretKeyRef } from '../redis-connection';
import { restrictedContainer } from './pod-defaults';
import { checkImage, checkName, propError } from './validation';

/** What the Redis StatefulSets (RedisQueue, RedisCluster) share: config lines, probes, claims, the exporter sidecar. */

/** Where redis-server keeps its AOF (and a cluster node its `nodes.conf`). */
export const REDIS_DATA_DIR = '/data';
/** Where the config ConfigMap is mounted. */
const REDIS_CONFIG_DIR = '/etc/redis';
/** Where a TLS Secret (tls.crt, tls.key, the CA) is mounted in the Redis pods. */
export const REDIS_TLS_DIR = '/etc/redis-tls';
/** Where redis_exporter serves its metrics (its default `--web.telemetry-path`). */
export const REDIS_EXPORTER_METRICS_PATH = '/metrics';
/** The label Kubernetes puts on every namespace with its name. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Requests and limits of a redis-server container unless the construct is given its own. */
export const DEFAULT_REDIS_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100) },
  memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
};
/** The share of the memory limit `maxmemory` defaults to. */
const MAX_MEMORY_SHARE = 0.75;

/** A namespace selected by its name label. */
function namespaceSelector(name: string): kplus.k8s.LabelSelector {
  return { matchLabels: { [NAMESPACE_NAME_LABEL]: name } };
}

/** An ingress rule's TCP port. */
export function tcpPort(port: number): kplus.k8s.NetworkPolicyPort {
  return { protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(port) };
}

/**
 * The lines every Redis config of ours starts with: listen on every address of the pod, the data dir,
 * `maxmemory` with noeviction (refuse writes at the limit rather than evict events; draining scripts still
 * run), and AOF with its fsync policy, or no persistence at all.
 */
export function redisConfigLines(maxMemory: Size, appendFsync: string | undefined): string[] {
  const lines = ['bind * -::*', 'protected-mode no', `port ${REDIS_PORT}`, `dir ${REDIS_DATA_DIR}`];
  const kib = maxMemory.toKibibytes();
  lines.push(`maxmemory ${kib % 1024 === 0 ? `${kib / 1024}mb` : `${kib}kb`}`, 'maxmemory-policy noeviction');
  if (appendFsync) lines.push('appendonly yes', `appendfsync ${appendFsync}`);
  else lines.push('appendonly no', 'save ""');
  return lines;
}

/** `maxMemory` checked against the container's memory limit, or three quarters of that limit. */
export function resolveMaxMemory(scope: Construct, maxMemory: Size | undefined, limit: Size | undefined): Size {
  const kib = (size: Size) => size.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
  if (!maxMemory) {
    if (!limit) throw propError(scope, 'resources.memory.limit', undefined, "must be set, or 'maxMemory' given: Redis needs a memory ceiling below the container's limit");
    return Size.kibibytes(Math.floor(kib(limit) * MAX_MEMORY_SHARE));
  }
  if (kib(maxMemory) < 1024 || !Number.isInteger(kib(maxMemory))) throw propError(scope, 'maxMemory', maxMemory.asString(), 'must be a whole number of KiB, at least 1Mi');
  if (limit && kib(maxMemory) >= kib(limit)) {
    throw propError(scope, 'maxMemory', maxMemory.asString(), `must be below the memory limit (${limit.asString()}): Redis needs room beside its data`);
  }
  return maxMemory;
}

/** A claim size of at least 1Mi. */
export function checkClaimSize(scope: Construct, prop: string, size: Size | undefined): void {
  if (size && size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) < 1024) throw propError(scope, prop, size.asString(), 'must be at least 1Mi');
}

/**
 * The password in redis-server's env: `REDIS_PASSWORD` for `$(REDIS_PASSWORD)` in its args (Kubernetes
 * expands it, so the value never appears in the manifest) and `REDISCLI_AUTH` for redis-cli (the probe).
 */
function redisPasswordEnv(password: SecretKeyRef | undefined): Record<string, kplus.EnvValue> {
  if (!password) return {};
  const fromSecret = kplus.EnvValue.fromSecretValue({ secret: password.secret, key: password.key });
  return { REDIS_PASSWORD: fromSecret, REDISCLI_AUTH: fromSecret };
}

/**
 * Probes of a redis-server container: ready while PING answers PONG (with AUTH through REDISCLI_AUTH),
 * alive and started while the port accepts connections (TCP, not PING: a server loading a large AOF
 * answers LOADING and must not be killed for it).
 */
function redisServerProbes(cliArgs: readonly string[] = []): Pick<kplus.ContainerProps, 'readiness' | 'liveness' | 'startup'> {
  return {
    readiness: kplus.Probe.fromCommand(['sh', '-c', `redis-cli ${[...cliArgs, '-p', String(REDIS_PORT)].join(' ')} ping | grep -q PONG`], {
      periodSeconds: Duration.seconds(5),
      timeoutSeconds: Duration.seconds(3),
      failureThreshold: 3,
    }),
    liveness: kplus.Probe.fromTcpSocket({ port: REDIS_PORT, periodSeconds: Duration.seconds(10), failureThreshold: 6 }),
    startup: kplus.Probe.fromTcpSocket({ port: REDIS_PORT, periodSeconds: Duration.seconds(2), failureThreshold: 150 }),
  };
}

/**
 * cdk8s-plus 27 has no volume claim templates: a claim template named `data` for every pod, mounted
 * at the data dir of the first container (the server, added first).
 */
export function addDataClaimTemplate(statefulSet: kplus.StatefulSet, claim: { readonly size: Size; readonly storageClassName?: string }): void {
  const sts = ApiObject.of(statefulSet);
  sts.addJsonPatch(
    JsonPatch.add('/spec/volumeClaimTemplates', [
      {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(claim.storageClassName ? { storageClassName: claim.storageClassName } : {}),
          // The patch passes through cdk8s-plus's typed serializer, which reads quantities from `.value`.
          resources: { requests: { storage: kplus.k8s.Quantity.fromString(claim.size.asString()) } },
        },
      },
    ]),
  );
  sts.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'data', mountPath: REDIS_DATA_DIR }));
}

/** What the redis_exporter sidecar is given. */
export interface RedisExporterSpec {
  /** The image, checked as `exporter.image`. */
  readonly image: string;
  /** The user the image runs as. */
  readonly user: number;
  /** Requests and limits, if not the defaults. */
  readonly resources?: kplus.ContainerResources;
  /** The password of the Redis beside it. */
  readonly password?: SecretKeyRef;
  /** Extra flags (`--is-cluster`). */
  readonly args?: string[];
  /** The server speaks TLS only: the CA file in the mounted TLS Secret, and that volume. */
  readonly tls?: { readonly caFile: string; readonly volume: kplus.Volume };
}

/** Adds the redis_exporter sidecar (port 9121, `metrics`) scraping the server of its pod. */
export function addRedisExporter(scope: Construct, statefulSet: kplus.StatefulSet, spec: RedisExporterSpec): void {
  checkImage(scope, 'exporter.image', spec.image);
  const env: Record<string, kplus.EnvValue> = { REDIS_ADDR: kplus.EnvValue.fromValue(`${spec.tls ? 'rediss' : 'redis'}://localhost:${REDIS_PORT}`) };
  // The exporter reaches its own pod's server as localhost, a name the certificate need not carry: the chain is not
  // verified there (the connection never leaves the pod); clients and KEDA verify it with the CA.
  const tlsArgs = spec.tls ? [`--tls-ca-cert-file=${spec.tls.caFile}`, '--skip-tls-verification'] : [];
  const args = [...(spec.args ?? []), ...tlsArgs];
  if (spec.password) env.REDIS_PASSWORD = kplus.EnvValue.fromSecretValue({ secret: spec.password.secret, key: spec.password.key });
  const exporter = statefulSet.addContainer({
    name: 'exporter',
    image: spec.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    ...(args.length ? { args } : {}),
    envVariables: env,
    ports: [{ name: 'metrics', number: REDIS_EXPORTER_PORT }],
    securityContext: restrictedContainer(spec.user, spec.user),
    resources: spec.resources ?? {
      cpu: { request: kplus.Cpu.millis(10) },
      memory: { request: Size.mebibytes(32), limit: Size.mebibytes(64) },
    },
    readiness: kplus.Probe.fromHttpGet('/health', { port: REDIS_EXPORTER_PORT }),
    liveness: kplus.Probe.fromHttpGet('/health', { port: REDIS_EXPORTER_PORT, periodSeconds: Duration.seconds(20) }),
  });
  if (spec.tls) exporter.mount(REDIS_TLS_DIR, spec.tls.volume, { readOnly: true });
}

/** Who may reach a Redis StatefulSet's pods, beside the clients of its connection. */
export interface RedisIngress {
  /** The KEDA and monitoring namespaces as the `networkPolicy` prop gives them. */
  readonly options: { readonly kedaNamespace?: string; readonly monitoringNamespace?: string };
  /** Whether the pods run the exporter (its port opened to monitoring). */
  readonly exporter: boolean;
  /** More peers of the client port, before the clients. */
  readonly clientPortPeers?: kplus.k8s.NetworkPolicyPeer[];
  /** More rules, between the client port's and the exporter's. */
  readonly rules?: kplus.k8s.NetworkPolicyIngressRule[];
}

/**
 * A NetworkPolicy on the StatefulSet's pods: the client port from the pods registered with the
 * connection (from their namespace when it is another) and from KEDA's namespace, the exporter port
 * from the monitoring namespace, and whatever `ingress` adds. Clients register as they are created,
 * after the server, so the rules are read at synth.
 */
export function addRedisNetworkPolicy(
  scope: Construct,
  statefulSet: kplus.StatefulSet,
  connection: { readonly clients: ReadonlyArray<{ readonly matchLabels: Record<string, string>; readonly namespace?: string }> },
  ingress: RedisIngress,
): kplus.k8s.KubeNetworkPolicy {
  const kedaNamespace = ingress.options.kedaNamespace ?? 'keda';
  const monitoringNamespace = ingress.options.monitoringNamespace ?? 'monitoring';
  checkName(scope, 'networkPolicy.kedaNamespace', kedaNamespace);
  checkName(scope, 'networkPolicy.monitoringNamespace', monitoringNamespace);
  const ownNamespace = Chart.of(scope).namespace;
  const rules = (): kplus.k8s.NetworkPolicyIngressRule[] => {
    const clients = connection.clients.map((c) => ({
      podSelector: { matchLabels: c.matchLabels },
      ...(c.namespace && c.namespace !== ownNamespace ? { namespaceSelector: namespaceSelector(c.namespace) } : {}),
    }));
    return [
      { from: [...(ingress.clientPortPeers ?? []), ...clients, { namespaceSelector: namespaceSelector(kedaNamespace) }], ports: [tcpPort(REDIS_PORT)] },
      ...(ingress.rules ?? []),
      ...(ingress.exporter ? [{ from: [{ namespaceSelector: namespaceSelector(monitoringNamespace) }], ports: [tcpPort(REDIS_EXPORTER_PORT)] }] : []),
    ];
  };
  return new kplus.k8s.KubeNetworkPolicy(scope, 'network-policy', {
    metadata: { name: statefulSet.name },
    spec: {
      podSelector: { matchLabels: statefulSet.matchLabels },
      policyTypes: ['Ingress'],
      ingress: Lazy.any({ produce: rules }) as unknown as kplus.k8s.NetworkPolicyIngressRule[],
    },
  });
}

/** What differs between the redis-server containers of our StatefulSets. */
export interface RedisServerSpec {
  readonly image: string;
  /** Flags after the config file. */
  readonly args: string[];
  /** Env besides the password's. */
  readonly env?: Record<string, kplus.EnvValue>;
  readonly password?: SecretKeyRef;
  /** Named ports besides `redis` (6379). */
  readonly ports?: kplus.ContainerPort[];
  readonly resources: kplus.ContainerResources;
  /** The user of the image. */
  readonly user: number;
  /** The server speaks TLS only: the probe's redis-cli flags, and the TLS Secret's volume mounted read-only. */
  readonly tls?: { readonly cliArgs: readonly string[]; readonly volume: kplus.Volume };
}

/**
 * Adds the `redis` container (first, so the data claim's mount patch finds it) running
 * `redis-server <config dir>/redis.conf <args>` as `user` under restricted security, with the
 * password env, the probes above and the config ConfigMap mounted read-only.
 */
export function addRedisServer(scope: Construct, statefulSet: kplus.StatefulSet, config: kplus.ConfigMap, spec: RedisServerSpec): kplus.Container {
  const server = statefulSet.addContainer({
    name: 'redis',
    image: spec.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['redis-server'],
    args: [`${REDIS_CONFIG_DIR}/redis.conf`, ...spec.args],
    envVariables: { ...spec.env, ...redisPasswordEnv(spec.password) },
    ports: [{ name: 'redis', number: REDIS_PORT }, ...(spec.ports ?? [])],
    securityContext: restrictedContainer(spec.user, spec.user),
    resources: spec.resources,
    ...redisServerProbes(spec.tls?.cliArgs),
  });
  server.mount(REDIS_CONFIG_DIR, kplus.Volume.fromConfigMap(scope, 'config-volume', config, { name: 'config' }), { readOnly: true });
  if (spec.tls) server.mount(REDIS_TLS_DIR, spec.tls.volume, { readOnly: true });
  return server;
}
