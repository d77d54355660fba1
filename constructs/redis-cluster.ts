import { ApiObject, Chart, Cron, Duration, JsonPatch, Names, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { PodMonitor } from '../imports/monitoring.coreos.com';
import { ClusterCommands, Commands, CONSISTENCY_DEFAULTS, DEFAULT_CLUSTER_REPLICAS_PER_MASTER, Env, MIN_CLUSTER_MASTERS, REDIS_PORT } from '../runtime/contract';
import { patchPodSpec, restrictedContainer, restrictedPod, RUNTIME_RESOURCES } from './private/pod-defaults';
import {
  addDataClaimTemplate,
  addRedisNetworkPolicy,
  addRedisServer,
  addRedisExporter,
  checkClaimSize,
  DEFAULT_REDIS_RESOURCES,
  REDIS_DATA_DIR,
  REDIS_EXPORTER_METRICS_PATH,
  REDIS_TLS_DIR,
  redisConfigLines,
  resolveMaxMemory,
  tcpPort,
} from './private/redis-server';
import { renderPodMonitor, renderRuntimeDeployment } from './private/runtime-deployment';
import { checkImage, checkInteger, checkName, nameMetadata, propError } from './private/validation';
import { RedisClientPods, RedisConnection, SecretKeyRef } from './redis-connection';
import { RedisClusterQueue } from './redis-cluster-queue';
import {
  AppendFsync,
  DEFAULT_REDIS_EXPORTER_IMAGE,
  DEFAULT_REDIS_IMAGE,
  REDIS_EXPORTER_UID,
  REDIS_UID,
  RedisExporterOptions,
  RedisNetworkPolicyOptions,
  RedisPersistence,
} from './redis-queue';
import type { PodMonitorOptions } from './runtime-deployment-props';
import { resolveRuntimeImage } from './runtime-image';

/** Redis' cluster bus listens on the client port + 10000 (its `cluster-port` default, set explicitly here). */
export const REDIS_CLUSTER_BUS_PORT = REDIS_PORT + 10000;

/** The operations tool of a RedisCluster: its RBAC and the `cluster create` Job. */
export interface RedisClusterOperationsOptions {
  /**
   * Image running `redis-keda cluster ...`.
   * @default - the runtime image
   */
  readonly image?: string;
  /**
   * Emit the Job that runs `redis-keda cluster create` once the pods are up.
   * @default true
   */
  readonly createJob?: boolean;
  /**
   * Emit a suspended CronJob per on-demand operation (`<name>-check`, `-fix`, `-rebalance`, `-scale`,
   * `-upgrade`, `-reconcile`): templates run with `kubectl create job --from=cronjob/<name>-check <run>`,
   * never on a schedule.
   * @default true
   */
  readonly jobTemplates?: boolean;
  /**
   * The most masters the tool may scale the cluster to: the Role may delete the PersistentVolumeClaims
   * of the ordinals below `maxMasters x (1 + replicasPerMaster)`, and no others.
   * @default - `masters`
   */
  readonly maxMasters?: number;
}

/** The on-demand operations a RedisCluster renders a template (a suspended CronJob) for. */
export const REDIS_CLUSTER_OPERATIONS = [
  ClusterCommands.CHECK,
  ClusterCommands.FIX,
  ClusterCommands.RECONCILE,
  ClusterCommands.REBALANCE,
  ClusterCommands.SCALE,
  ClusterCommands.UPGRADE,
] as const;

/** One of {@link REDIS_CLUSTER_OPERATIONS}. */
export type RedisClusterOperation = (typeof REDIS_CLUSTER_OPERATIONS)[number];

/** The consistency checker of a RedisCluster: a Deployment of `redis-keda cluster consistency-check`. */
export interface RedisClusterConsistencyCheckerOptions {
  /**
   * Keys it INCRs and reads back (`<keyPrefix><n>`, spread over every slot).
   * @default 1000
   */
  readonly keys?: number;
  /**
   * Prefix of its keys.
   * @default "redis-keda:consistency:"
   */
  readonly keyPrefix?: string;
  /**
   * Writes per second at most.
   * @default 500
   */
  readonly rate?: number;
  /**
   * Image running `redis-keda`.
   * @default - the runtime image
   */
  readonly image?: string;
  /**
   * Requests and limits of its container.
   * @default - 50m CPU and 64Mi memory requested, 256Mi memory limit
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * A PodMonitor scraping its `/metrics` (lost and not-acknowledged writes, the longest write gap).
   * @default - as the exporter's `podMonitor`
   */
  readonly podMonitor?: boolean | PodMonitorOptions;
}

/** TLS of a RedisCluster: every port (clients, replication, the cluster bus) speaks TLS only. */
export interface RedisClusterTlsOptions {
  /**
   * An existing `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) that also holds the CA bundle that signed the
   * certificate. The certificate must name what clients reach: the client Service and every pod under the headless
   * Service (`*.<name>-headless.<namespace>.svc`). The nodes present it to each other on the bus as well.
   */
  readonly secret: kplus.ISecret;
  /**
   * The key of the CA bundle in the Secret: the nodes verify their peers with it, and clients, KEDA and the
   * operations tool verify the nodes.
   * @default "ca.crt"
   */
  readonly caKey?: string;
}

/** An ACL user every node of a RedisCluster defines at start, beside the default user. */
export interface RedisClusterUser {
  /** The user name: letters, digits, `_`, `-`, `.` and `:`. */
  readonly name: string;
  /** An existing Secret key holding the user's password (given at start through the env, never a ConfigMap). */
  readonly password: SecretKeyRef;
  /**
   * ACL rules after `on` and the password, space-separated (`~app:* +@all -@dangerous`).
   * @default "~* &* +@all"
   */
  readonly rules?: string;
}

/** Props of a RedisCluster. */
export interface RedisClusterProps {
  /**
   * Base name of the StatefulSet and the client Service (the headless Service is `<name>-headless`, the
   * operations objects `<name>-ops`, the create Job `<name>-create`); at most 52 characters.
   * @default - generated by cdk8s from the construct path
   */
  readonly name?: string;
  /**
   * Image of the Redis server (7.0 or later: `cluster-announce-hostname`).
   * @default DEFAULT_REDIS_IMAGE
   */
  readonly image?: string;
  /**
   * Masters the cluster is created with; each serves an even share of the 16384 slots.
   * @default 3
   */
  readonly masters?: number;
  /**
   * Replicas of each master: with one, a master's failure loses no shard.
   * @default 1
   */
  readonly replicasPerMaster?: number;
  /**
   * Redis `cluster-node-timeout`: how long a node may be unreachable before its peers flag it failed
   * and its replica takes over. Whole milliseconds from 1 s to 60 s.
   * @default Duration.seconds(5)
   */
  readonly nodeTimeout?: Duration;
  /**
   * The PersistentVolumeClaim of each pod, which holds its AOF and `nodes.conf` (a cluster node
   * always persists: `nodes.conf` is its identity).
   * @default - 1Gi of the cluster's default storage class, AppendFsync.EVERY_SECOND
   */
  readonly persistence?: RedisPersistence;
  /**
   * An existing Secret key holding the password; every node gets `requirepass` and `masterauth`
   * from it at start (through the env, never a ConfigMap).
   * @default - no password
   */
  readonly password?: SecretKeyRef;
  /**
   * ACL users every node defines at start (a node's ACL is its own: each gets the same list), for clients that
   * authenticate as a user of their own (`REDIS_USERNAME`); the default user keeps `password`.
   * @default - the default user only
   */
  readonly users?: RedisClusterUser[];
  /**
   * Serve TLS only, on the client port and the bus: the Secret mounted read-only in each pod; clients (the
   * `connection`), KEDA, the exporter, the probes and the operations tool connect with TLS and verify the
   * nodes with the CA. Clients need no certificate of their own (`tls-auth-clients optional`).
   * @default - plain TCP
   */
  readonly tls?: RedisClusterTlsOptions;
  /**
   * Requests and limits of each Redis server.
   * @default - 100m CPU and 128Mi memory requested, 512Mi memory limit
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Redis `maxmemory` of each node, with `maxmemory-policy noeviction`; below the memory limit.
   * @default - three quarters of the redis container's memory limit (384Mi of the default 512Mi)
   */
  readonly maxMemory?: Size;
  /**
   * A NetworkPolicy: the client port open to the pods registered with `allowFrom()` (and the
   * create Job), to KEDA's namespace and to the cluster's own pods (replication), the bus port to
   * the cluster's own pods only, the exporter port to the monitoring namespace.
   * @default - none: any pod in the cluster can reach the nodes
   */
  readonly networkPolicy?: RedisNetworkPolicyOptions;
  /**
   * Run a redis_exporter sidecar (`--is-cluster`) serving Prometheus metrics on port 9121 (`metrics`).
   * @default - no exporter
   */
  readonly exporter?: RedisExporterOptions;
  /**
   * The operations tool's RBAC and `cluster create` Job.
   * @default - a ServiceAccount, Role and RoleBinding, and the create Job in the runtime image
   */
  readonly operations?: RedisClusterOperationsOptions;
  /**
   * Run the consistency checker beside the cluster: INCRs and reads back keys at a steady rate and serves
   * the lost and not-acknowledged writes on `/metrics`, so a scale, upgrade or failover shows what it cost.
   * It writes its own keys (`keyPrefix`) into the cluster.
   * @default - no checker
   */
  readonly consistencyChecker?: RedisClusterConsistencyCheckerOptions;
  /**
   * Names of existing image pull Secrets (for the nodes and the Job).
   * @default - none
   */
  readonly imagePullSecrets?: string[];
}

/** Set by the downward API in each node's env, for `$(...)` in its args and the Job's node list. */
const POD_NAME_ENV = Env.POD_NAME;
const POD_NAMESPACE_ENV = 'POD_NAMESPACE';
const DEFAULT_NODE_TIMEOUT = Duration.seconds(5);

/**
 * A Redis Cluster: a StatefulSet of `masters x (1 + replicasPerMaster)` nodes in cluster mode, each with
 * its AOF and `nodes.conf` on a claim of its own and announcing its stable DNS name under a headless
 * Service; a client Service, a PodDisruptionBudget (one pod at a time), preferred spread over nodes,
 * optional NetworkPolicy and redis_exporter; and for `redis-keda cluster`: RBAC and the create Job.
 *
 * The update strategy is RollingUpdate with a partition the operations tool keeps at the pod count, so a
 * changed pod template rolls no pod by itself: the tool lowers the partition one pod at a time, after
 * failing that pod's master role over. The manifest leaves `spec.replicas` and the partition out: the
 * tool owns both (the create Job sets them), so a GitOps tool re-applying the manifest never reverts a
 * scale or a staged upgrade (docs/redis-cluster.md, "GitOps").
 */
export class RedisCluster extends Construct {
  /** Masters the cluster is created with. */
  public readonly masters: number;
  /** Replicas of each master. */
  public readonly replicasPerMaster: number;
  /** Pods of the StatefulSet: `masters x (1 + replicasPerMaster)`. */
  public readonly pods: number;
  /** Redis `cluster-node-timeout` in force. */
  public readonly nodeTimeout: Duration;
  /** Redis `maxmemory` of each node (noeviction). */
  public readonly maxMemory: Size;
  /** The claim of each pod. */
  public readonly persistence: Required<Omit<RedisPersistence, 'storageClassName'>> & {
    /** The claim's storage class, unless the cluster's default. */
    storageClassName?: string;
  };
  /** The Secret key holding the password, if the nodes want one. */
  public readonly password?: SecretKeyRef;
  /** The ACL users every node defines at start. */
  public readonly users: readonly RedisClusterUser[];
  /** The Secret key holding the CA bundle, when the nodes speak TLS. */
  public readonly tlsCa?: SecretKeyRef;
  private readonly tlsSecret?: kplus.ISecret;
  /**
   * The client Service (every node behind it): where a cluster client starts; the nodes then redirect it
   * to the announced names. Its `clusterNodes` are the {@link seedAddresses}: pods given it get
   * `REDIS_CLUSTER_NODES`, and its triggers are KEDA's `redis-cluster` (`addresses`). Give a
   * `QueueWorker`, `KedaScaledJob` or `Publisher` the queue `{ connection: cluster.connection, listName: '{events}' }`.
   */
  public readonly connection: RedisConnection;
  /**
   * Every node as `host:port` under the headless Service (`<pod>.<headless>.<namespace>.svc:6379`, without
   * the namespace part when the chart has none), the seeds a cluster client may be given.
   */
  public readonly seedAddresses: string[];
  /** The nodes' StatefulSet. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The headless Service giving each pod its DNS name (client and bus ports, not-ready pods published). */
  public readonly headlessService: kplus.Service;
  /** The client Service. */
  public readonly service: kplus.Service;
  /** The ConfigMap holding `redis.conf`. */
  public readonly config: kplus.ConfigMap;
  /** The PodDisruptionBudget: at most one node unavailable. */
  public readonly podDisruptionBudget: kplus.k8s.KubePodDisruptionBudget;
  /** The ServiceAccount of the operations tool. */
  public readonly operationsServiceAccount: kplus.ServiceAccount;
  /** The Role of the operations tool. */
  public readonly operationsRole: kplus.k8s.KubeRole;
  /** Binds the Role to the ServiceAccount. */
  public readonly operationsRoleBinding: kplus.k8s.KubeRoleBinding;
  /** The Job running `redis-keda cluster create`, unless `operations.createJob` is false. */
  public readonly createJob?: kplus.Job;
  /**
   * The suspended CronJobs, one per on-demand operation, unless `operations.jobTemplates` is false: each runs
   * `redis-keda cluster <operation>` as the ops ServiceAccount when a Job is created from it.
   */
  public readonly operationTemplates: Partial<Record<RedisClusterOperation, kplus.CronJob>> = {};
  /** The consistency checker's Deployment, when `consistencyChecker` is set. */
  public readonly consistencyChecker?: kplus.Deployment;
  /** The PodMonitor scraping the consistency checker, when it has one. */
  public readonly consistencyCheckerPodMonitor?: PodMonitor;
  /** The NetworkPolicy, when `networkPolicy` is set. */
  public readonly networkPolicy?: kplus.k8s.KubeNetworkPolicy;
  /** The PodMonitor scraping the redis_exporter sidecars, when `exporter.podMonitor` is set. */
  public readonly exporterPodMonitor?: PodMonitor;
  /** Image of the redis_exporter sidecar, undefined without one. */
  public readonly exporterImage?: string;

  public constructor(scope: Construct, id: string, props: RedisClusterProps = {}) {
    super(scope, id);
    const image = props.image ?? DEFAULT_REDIS_IMAGE;
    checkImage(this, 'image', image);
    checkName(this, 'name', props.name);
    // Pod names add -<ordinal>, and the StatefulSet's revision label a hash: Kubernetes' own limit.
    if (props.name && props.name.length > 52) throw propError(this, 'name', props.name, 'must be at most 52 characters: pods add -<ordinal> to it');
    checkInteger(this, 'masters', props.masters, MIN_CLUSTER_MASTERS);
    checkInteger(this, 'replicasPerMaster', props.replicasPerMaster, 0);
    this.masters = props.masters ?? MIN_CLUSTER_MASTERS;
    this.replicasPerMaster = props.replicasPerMaster ?? DEFAULT_CLUSTER_REPLICAS_PER_MASTER;
    this.pods = this.masters * (1 + this.replicasPerMaster);
    this.nodeTimeout = props.nodeTimeout ?? DEFAULT_NODE_TIMEOUT;
    const timeoutMs = this.nodeTimeout.toMilliseconds({ integral: false });
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 60000) {
      throw propError(this, 'nodeTimeout', `${timeoutMs}ms`, 'must be a whole number of milliseconds from 1000 to 60000');
    }
    const maxMasters = props.operations?.maxMasters ?? this.masters;
    checkInteger(this, 'operations.maxMasters', maxMasters, this.masters);
    checkClaimSize(this, 'persistence.size', props.persistence?.size);
    const resources = props.resources ?? DEFAULT_REDIS_RESOURCES;
    this.maxMemory = resolveMaxMemory(this, props.maxMemory, resources.memory?.limit);
    this.persistence = {
      size: props.persistence?.size ?? Size.gibibytes(1),
      appendFsync: props.persistence?.appendFsync ?? AppendFsync.EVERY_SECOND,
      storageClassName: props.persistence?.storageClassName,
    };
    this.password = props.password;
    this.users = props.users ?? [];
    this.users.forEach((user, i) => {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(user.name) || user.name === 'default') {
        throw propError(this, `users[${i}].name`, user.name, "must be 1 to 64 letters, digits, '_', '-', '.' or ':', and not 'default'");
      }
      if (this.users.findIndex((u) => u.name === user.name) !== i) throw propError(this, `users[${i}].name`, user.name, 'must be unique among the users');
      if (!user.password?.key) throw propError(this, `users[${i}].password.key`, user.password?.key, 'must name the key of the Secret that holds the password');
      // Rules are Redis ACL tokens: no password (`>`, `<`, `#`) or reset of it, so no secret ever lands in the manifest.
      const bad = (user.rules ?? DEFAULT_USER_RULES).split(/\s+/).find((rule) => rule === '' || /^[><#!]|^(nopass|resetpass|reset)$/.test(rule));
      if (bad !== undefined) throw propError(this, `users[${i}].rules`, user.rules, `must be space-separated ACL rules without passwords (not "${bad}")`);
    });
    if (props.tls) {
      const caKey = props.tls.caKey ?? TLS_CA_KEY;
      if (!/^[-._a-zA-Z0-9]+$/.test(caKey)) throw propError(this, 'tls.caKey', caKey, `must name the key of Secret "${props.tls.secret.name}" that holds the PEM CA bundle`);
      if (caKey === TLS_CERT_KEY || caKey === TLS_KEY_KEY) throw propError(this, 'tls.caKey', caKey, `must not be ${TLS_CERT_KEY} or ${TLS_KEY_KEY}: it names the CA bundle`);
      this.tlsSecret = props.tls.secret;
      this.tlsCa = { secret: props.tls.secret, key: caKey };
    }

    const namespace = Chart.of(this).namespace;
    this.config = new kplus.ConfigMap(this, 'config', {
      metadata: nameMetadata(props.name && `${props.name}-config`),
      data: { 'redis.conf': this.renderConfig() },
    });
    this.headlessService = new kplus.Service(this, 'headless', {
      metadata: nameMetadata(props.name && `${props.name}-headless`),
      clusterIP: 'None',
      ports: [
        { name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT },
        { name: 'bus', port: REDIS_CLUSTER_BUS_PORT, targetPort: REDIS_CLUSTER_BUS_PORT },
      ],
    });
    // Every node's name resolves, ready or not: peers and the create Job reach nodes that are starting or failing a probe.
    ApiObject.of(this.headlessService).addJsonPatch(JsonPatch.add('/spec/publishNotReadyAddresses', true));
    this.service = new kplus.Service(this, 'service', {
      metadata: nameMetadata(props.name),
      ports: [{ name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT }],
    });

    this.statefulSet = new kplus.StatefulSet(this, 'server', {
      metadata: nameMetadata(props.name),
      replicas: this.pods,
      service: this.headlessService,
      podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
      // Pods with an ordinal below the partition keep their revision: with all of them below, only the tool rolls them.
      strategy: kplus.StatefulSetUpdateStrategy.rollingUpdate({ partition: this.pods }),
      securityContext: restrictedPod(REDIS_UID, REDIS_UID),
    });
    this.service.select(this.statefulSet);
    omitToolOwnedFields(this.statefulSet);
    this.statefulSet.scheduling.spread({ topology: kplus.Topology.HOSTNAME, weight: 100 });
    this.addServer(image, resources);
    addDataClaimTemplate(this.statefulSet, this.persistence);
    if (props.exporter) {
      this.exporterImage = props.exporter.image ?? DEFAULT_REDIS_EXPORTER_IMAGE;
      addRedisExporter(this, this.statefulSet, {
        image: this.exporterImage,
        user: REDIS_EXPORTER_UID,
        resources: props.exporter.resources,
        password: props.password,
        args: ['--is-cluster'],
        tls: this.tlsCa && { caFile: `${REDIS_TLS_DIR}/${this.tlsCa.key}`, volume: this.tlsVolume() },
      });
      this.exporterPodMonitor = renderPodMonitor(this, props.name, this.statefulSet.matchLabels, props.exporter.podMonitor, {
        prop: 'exporter.podMonitor',
        path: REDIS_EXPORTER_METRICS_PATH,
      });
    }
    patchPodSpec(this.statefulSet, { imagePullSecrets: props.imagePullSecrets });

    this.podDisruptionBudget = new kplus.k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: this.statefulSet.name },
      spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.statefulSet.matchLabels } },
    });

    const host = (pod: string) => (namespace ? `${pod}.${this.headlessService.name}.${namespace}.svc` : `${pod}.${this.headlessService.name}`);
    this.seedAddresses = this.podNames().map((pod) => `${host(pod)}:${REDIS_PORT}`);
    this.connection = new RedisConnection(this, {
      name: props.name,
      host: namespace ? `${this.service.name}.${namespace}.svc` : this.service.name,
      port: REDIS_PORT,
      clusterNodes: this.seedAddresses,
      password: props.password,
      tlsCa: this.tlsCa,
    });

    const opsName = props.name && `${props.name}-ops`;
    this.operationsServiceAccount = new kplus.ServiceAccount(this, 'ops-account', { metadata: nameMetadata(opsName), automountToken: false });
    this.operationsRole = new kplus.k8s.KubeRole(this, 'ops-role', { metadata: nameMetadata(opsName), rules: this.operationsRules(maxMasters) });
    this.operationsRoleBinding = new kplus.k8s.KubeRoleBinding(this, 'ops-binding', {
      metadata: nameMetadata(opsName),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.operationsRole.name },
      subjects: [{ kind: 'ServiceAccount', name: this.operationsServiceAccount.name, ...(namespace ? { namespace } : {}) }],
    });
    if (props.operations?.createJob ?? true) this.createJob = this.addCreateJob(props);
    if (props.operations?.jobTemplates ?? true) {
      for (const operation of REDIS_CLUSTER_OPERATIONS) this.operationTemplates[operation] = this.addOperationTemplate(operation, props);
    }
    if (props.consistencyChecker) {
      const checker = this.addConsistencyChecker(props.consistencyChecker, props);
      this.consistencyChecker = checker.deployment;
      this.consistencyCheckerPodMonitor = checker.podMonitor;
    }
    if (props.networkPolicy) {
      const nodes = { podSelector: { matchLabels: this.statefulSet.matchLabels } };
      this.networkPolicy = addRedisNetworkPolicy(this, this.statefulSet, this.connection, {
        options: props.networkPolicy,
        exporter: props.exporter !== undefined,
        // Replicas sync from their master over the client port; the bus is the nodes' alone.
        clientPortPeers: [nodes],
        rules: [{ from: [nodes], ports: [tcpPort(REDIS_CLUSTER_BUS_PORT)] }],
      });
    }
  }

  /**
   * Lets these pods reach the client port when `networkPolicy` is on (the create Job is registered
   * already).
   */
  public allowFrom(client: RedisClientPods): void {
    this.connection.allowFrom(client);
  }

  /**
   * A leased queue on this cluster, for `QueueWorker`, `Publisher` and `KedaScaledJob` (its triggers are KEDA's
   * `redis-cluster`). The list name must carry a hash tag (`{events}`): every key of the queue then lies in one
   * slot, as its scripts need.
   */
  public queue(listName: string): RedisClusterQueue {
    return new RedisClusterQueue(this, this.connection, listName);
  }

  /** The pods' names, ordinal 0 first. */
  private podNames(count: number = this.pods): string[] {
    return Array.from({ length: count }, (_, i) => `${this.statefulSet.name}-${i}`);
  }

  private renderConfig(): string {
    const lines = [
      '# Rendered by cdk8s-redis-keda RedisCluster; the password, masterauth and the announced hostname are given at start.',
      ...redisConfigLines(this.maxMemory, this.persistence.appendFsync),
      'cluster-enabled yes',
      // In the data dir, on the claim: a node's id and its view of the cluster survive restarts.
      `cluster-config-file ${REDIS_DATA_DIR}/nodes.conf`,
      `cluster-port ${REDIS_CLUSTER_BUS_PORT}`,
      `cluster-node-timeout ${this.nodeTimeout.toMilliseconds()}`,
      // Clients are redirected to the stable names, never to pod IPs that change on restart.
      'cluster-preferred-endpoint-type hostname',
    ];
    if (this.tlsCa) {
      // The client port speaks TLS only: the plain listener is off.
      lines[lines.indexOf(`port ${REDIS_PORT}`)] = 'port 0';
      lines.push(
        `tls-port ${REDIS_PORT}`,
        `tls-cert-file ${REDIS_TLS_DIR}/${TLS_CERT_KEY}`,
        `tls-key-file ${REDIS_TLS_DIR}/${TLS_KEY_KEY}`,
        `tls-ca-cert-file ${REDIS_TLS_DIR}/${this.tlsCa.key}`,
        // The bus and replication over TLS too; a node presents its certificate to its peers, clients need none.
        'tls-cluster yes',
        'tls-replication yes',
        'tls-auth-clients optional',
      );
    }
    return lines.join('\n') + '\n';
  }

  /** The TLS Secret as a volume, one per construct, for the server and the exporter. */
  private tlsVolume(): kplus.Volume {
    if (!this.tlsVolumeCache) this.tlsVolumeCache = kplus.Volume.fromSecret(this, 'tls-volume', this.tlsSecret!, { name: 'tls' });
    return this.tlsVolumeCache;
  }
  private tlsVolumeCache?: kplus.Volume;

  private addServer(image: string, resources: kplus.ContainerResources): void {
    const announced = `$(${POD_NAME_ENV}).${this.headlessService.name}.$(${POD_NAMESPACE_ENV}).svc`;
    const args = ['--cluster-announce-hostname', announced];
    // A replica authenticates to its master with the same password.
    if (this.password) args.push('--requirepass', '$(REDIS_PASSWORD)', '--masterauth', '$(REDIS_PASSWORD)');
    // One `user` directive per user, each token an arg of its own: redis-server quotes each, so a password may hold spaces.
    const env: Record<string, kplus.EnvValue> = {
      [POD_NAME_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      [POD_NAMESPACE_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
    };
    this.users.forEach((user, i) => {
      const variable = `REDIS_USER_PASSWORD_${i}`;
      env[variable] = kplus.EnvValue.fromSecretValue({ secret: user.password.secret, key: user.password.key });
      args.push('--user', user.name, 'on', `>$(${variable})`, ...(user.rules ?? DEFAULT_USER_RULES).split(/\s+/));
    });
    addRedisServer(this, this.statefulSet, this.config, {
      image,
      args,
      env,
      password: this.password,
      ports: [{ name: 'bus', number: REDIS_CLUSTER_BUS_PORT }],
      resources,
      user: REDIS_UID,
      tls: this.tlsCa && { cliArgs: ['--tls', '--cacert', `${REDIS_TLS_DIR}/${this.tlsCa.key}`], volume: this.tlsVolume() },
    });
  }

  /**
   * What `redis-keda cluster` needs of the API: read and patch this StatefulSet and its scale
   * (replicas, partition), watch the pods, delete the claims of this cluster's ordinals. Listing and
   * watching cannot be narrowed by name, so the pod rule is namespace-wide.
   */
  private operationsRules(maxMasters: number): kplus.k8s.PolicyRule[] {
    const sts = this.statefulSet.name;
    const claims = this.podNames(maxMasters * (1 + this.replicasPerMaster)).map((pod) => `data-${pod}`);
    return [
      { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: [sts], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], resourceNames: claims, verbs: ['delete'] },
    ];
  }

  /**
   * `redis-keda cluster create` over every node's DNS name, after growing the StatefulSet to them through
   * the API as the ops ServiceAccount. Retried while the nodes come up; a rerun on a created cluster
   * changes nothing, so a GitOps tool may recreate it after its TTL.
   */
  private addCreateJob(props: RedisClusterProps): kplus.Job {
    const job = new kplus.Job(this, 'create', {
      metadata: nameMetadata(props.name && `${props.name}-create`),
      backoffLimit: 10,
      activeDeadline: Duration.minutes(30),
      ttlAfterFinished: Duration.days(1),
      // Kubernetes mode for the first step: grow the StatefulSet (whose manifest names no replicas) to the listed pods.
      ...this.operationPod(props, ClusterCommands.CREATE, { listed: true, kubernetes: true }),
    });
    patchPodSpec(job, { imagePullSecrets: props.imagePullSecrets });
    this.connection.allowFrom(job);
    return job;
  }

  /**
   * A suspended CronJob whose job template runs `redis-keda cluster <operation>`: a template for
   * `kubectl create job --from=cronjob/...`, never run by its schedule (31 February). In Kubernetes mode as
   * the ops ServiceAccount (the nodes are the StatefulSet's pods as they are now). Not retried: each
   * operation's result is its exit code, and a rerun converges.
   */
  private addOperationTemplate(operation: RedisClusterOperation, props: RedisClusterProps): kplus.CronJob {
    const name = props.name && `${props.name}-${operation}`;
    // The CronJob controller appends an 11-character suffix to the Jobs it would create: Kubernetes caps CronJob names at 52.
    if (name && name.length > 52) {
      throw propError(
        this,
        'name',
        props.name,
        `must be at most ${52 - operation.length - 1} characters with the operation templates (CronJob ${name}), or set 'operations.jobTemplates' to false`,
      );
    }
    const cron = new kplus.CronJob(this, `ops-${operation}`, {
      metadata: { name: name ?? Names.toDnsLabel(this, { extra: [operation], maxLen: 52 }) },
      schedule: NEVER,
      suspend: true,
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      backoffLimit: 0,
      ...(operation === ClusterCommands.CHECK ? { activeDeadline: Duration.minutes(10) } : {}),
      ttlAfterFinished: Duration.days(1),
      ...this.operationPod(props, operation, { listed: false, kubernetes: true }),
    });
    patchPodSpec(cron, { imagePullSecrets: props.imagePullSecrets });
    this.connection.allowFrom(cron);
    return cron;
  }

  /**
   * The pod of an operation: `redis-keda cluster <operation>` in the runtime image, restricted, with the env the
   * program reads. `listed`: every pod of the created layout by DNS name in `CLUSTER_NODES`; `kubernetes`: this
   * StatefulSet in the pod's namespace, through the API with the ops account's token.
   */
  private operationPod(props: RedisClusterProps, operation: string, mode: { readonly listed: boolean; readonly kubernetes: boolean }) {
    const env: Record<string, kplus.EnvValue> = {};
    if (mode.listed) {
      // First: CLUSTER_NODES refers to it, and Kubernetes expands only variables defined before.
      env[POD_NAMESPACE_ENV] = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE);
      const nodes = this.podNames().map((pod) => `${pod}.${this.headlessService.name}.$(${POD_NAMESPACE_ENV}).svc:${REDIS_PORT}`);
      env[Env.CLUSTER_NODES] = kplus.EnvValue.fromValue(nodes.join(','));
    }
    env[Env.CLUSTER_REPLICAS_PER_MASTER] = kplus.EnvValue.fromValue(String(this.replicasPerMaster));
    if (mode.kubernetes) {
      env[Env.CLUSTER_STATEFULSET] = kplus.EnvValue.fromValue(this.statefulSet.name);
      env[Env.CLUSTER_NAMESPACE] = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE);
    }
    Object.assign(env, this.credentialEnv());
    return {
      securityContext: restrictedPod(),
      // The ops account's token only where the program calls the API.
      ...(mode.kubernetes ? { serviceAccount: this.operationsServiceAccount, automountServiceAccountToken: true } : { automountServiceAccountToken: false }),
      containers: [
        {
          name: operation,
          image: resolveRuntimeImage(this, 'operations.image', props.operations?.image),
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          args: [Commands.CLUSTER, operation],
          envVariables: env,
          securityContext: restrictedContainer(),
          resources: RUNTIME_RESOURCES,
        },
      ],
    };
  }

  /** What the runtime needs to reach the nodes: the password, and TLS with the CA (`REDIS_TLS`, `REDIS_TLS_CA`). */
  private credentialEnv(): Record<string, kplus.EnvValue> {
    const env: Record<string, kplus.EnvValue> = {};
    if (this.password) env[Env.REDIS_PASSWORD] = kplus.EnvValue.fromSecretValue({ secret: this.password.secret, key: this.password.key });
    if (this.tlsCa) {
      env[Env.REDIS_TLS] = kplus.EnvValue.fromValue('true');
      env[Env.REDIS_TLS_CA] = kplus.EnvValue.fromSecretValue({ secret: this.tlsCa.secret, key: this.tlsCa.key });
    }
    return env;
  }

  /**
   * The consistency checker: one pod INCRing and reading back its keys through a cluster connection seeded with
   * every node, `/healthz`, `/readyz` (ready while the cluster connection is) and `/metrics` on the metrics port.
   */
  private addConsistencyChecker(options: RedisClusterConsistencyCheckerOptions, props: RedisClusterProps) {
    checkInteger(this, 'consistencyChecker.keys', options.keys, 1);
    if (options.rate !== undefined && !(options.rate > 0 && Number.isFinite(options.rate))) {
      throw propError(this, 'consistencyChecker.rate', options.rate, 'must be a number of writes per second above 0');
    }
    if (options.keyPrefix !== undefined && (options.keyPrefix === '' || /\s/.test(options.keyPrefix))) {
      throw propError(this, 'consistencyChecker.keyPrefix', options.keyPrefix, 'must be a non-empty key prefix without white space');
    }
    const scope = new Construct(this, 'consistency-checker');
    const env: Record<string, kplus.EnvValue> = {
      [Env.CLUSTER_NODES]: kplus.EnvValue.fromValue(this.seedAddresses.join(',')),
      [Env.CONSISTENCY_KEYS]: kplus.EnvValue.fromValue(String(options.keys ?? CONSISTENCY_DEFAULTS.keys)),
      [Env.CONSISTENCY_KEY_PREFIX]: kplus.EnvValue.fromValue(options.keyPrefix ?? CONSISTENCY_DEFAULTS.keyPrefix),
      [Env.CONSISTENCY_RATE]: kplus.EnvValue.fromValue(String(options.rate ?? CONSISTENCY_DEFAULTS.rate)),
    };
    Object.assign(env, this.credentialEnv());
    const checker = renderRuntimeDeployment(
      scope,
      {
        name: props.name && `${props.name}-consistency`,
        image: options.image,
        resources: options.resources,
        imagePullSecrets: props.imagePullSecrets,
        podMonitor: options.podMonitor ?? props.exporter?.podMonitor,
      },
      { container: 'checker', args: [Commands.CLUSTER, ClusterCommands.CONSISTENCY_CHECK], env, replicas: 1, component: 'consistency-checker' },
    );
    this.connection.allowFrom(checker.deployment);
    return checker;
  }
}

/** What a user may do unless given rules: every key, channel and command. */
const DEFAULT_USER_RULES = '~* &* +@all';

/** The keys of a `kubernetes.io/tls` Secret, and where the CA bundle usually is. */
const TLS_CERT_KEY = 'tls.crt';
const TLS_KEY_KEY = 'tls.key';
const TLS_CA_KEY = 'ca.crt';

/** A schedule that never comes (31 February): the operation CronJobs are templates, and suspended besides. */
const NEVER = Cron.schedule({ minute: '0', hour: '0', day: '31', month: '2' });

/**
 * Drops `spec.replicas` and the partition from the StatefulSet's manifest: `redis-keda cluster` sets them
 * (create grows the set, scale drains before it shrinks, upgrade walks the partition), and an applier
 * that never wrote a field never reverts it (client-side apply's three-way merge, server-side apply's
 * field ownership alike).
 */
function omitToolOwnedFields(statefulSet: kplus.StatefulSet): void {
  ApiObject.of(statefulSet).addJsonPatch(JsonPatch.remove('/spec/replicas'), JsonPatch.remove('/spec/updateStrategy/rollingUpdate'));
}
