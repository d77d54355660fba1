import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Env, HEALTH_PATH, METRICS_PORT, READY_PATH, RUNTIME_GID, RUNTIME_UID } from '../../runtime/contract';

/**
 * Container security that meets the Pod Security "restricted" profile: a numeric non-root user
 * (kubelet cannot verify runAsNonRoot for a named user), no escalation, every capability dropped,
 * read-only root filesystem (writable paths come from volumes).
 */
export function restrictedContainer(user: number = RUNTIME_UID, group: number = RUNTIME_GID): kplus.ContainerSecurityContextProps {
  return {
    user,
    group,
    ensureNonRoot: true,
    privileged: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    // cdk8s-plus has no member for the literal "ALL" that the restricted profile asks for.
    capabilities: { drop: ['ALL' as kplus.Capability] },
  };
}

/** The pod-level half; `fsGroup` makes mounted volumes writable by the user. */
export function restrictedPod(user: number = RUNTIME_UID, group: number = RUNTIME_GID): kplus.PodSecurityContextProps {
  return { user, group, fsGroup: group, ensureNonRoot: true, fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH };
}

/** Where the pod spec sits in a rendered object of each kind. */
function podSpecPath(kind: string): string {
  switch (kind) {
    case 'CronJob':
      return '/spec/jobTemplate/spec/template/spec';
    case 'Pod':
      return '/spec';
    default:
      return '/spec/template/spec';
  }
}

export interface PodSpecExtras {
  /** Names of existing Secrets of type kubernetes.io/dockerconfigjson. */
  readonly imagePullSecrets?: string[];
}

/**
 * What cdk8s-plus 27 cannot express: a RuntimeDefault seccomp profile (required by "restricted")
 * and more than one image pull secret.
 */
export function patchPodSpec(workload: kplus.AbstractPod | kplus.CronJob | ApiObject, extras: PodSpecExtras = {}): void {
  const obj = workload instanceof ApiObject ? workload : ApiObject.of(workload);
  const spec = podSpecPath(obj.kind);
  obj.addJsonPatch(JsonPatch.add(`${spec}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
  if (extras.imagePullSecrets?.length) {
    obj.addJsonPatch(
      JsonPatch.add(
        `${spec}/imagePullSecrets`,
        extras.imagePullSecrets.map((name) => ({ name })),
      ),
    );
  }
}

/** Requests and limits for the small runtime programs. */
export const RUNTIME_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(50) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
};

/**
 * What every long-running runtime container (publisher, worker) shares: the port of `/healthz`,
 * `/readyz` and `/metrics`, probes on what the program serves (ready while Redis answers, alive
 * while the program runs: a Redis outage is no reason to restart it), restricted security.
 */
export function longRunningContainer(resources?: kplus.ContainerResources) {
  return {
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    ports: [{ name: 'metrics', number: METRICS_PORT }],
    securityContext: restrictedContainer(),
    resources: resources ?? RUNTIME_RESOURCES,
    readiness: kplus.Probe.fromHttpGet(READY_PATH, { port: METRICS_PORT, periodSeconds: Duration.seconds(5) }),
    liveness: kplus.Probe.fromHttpGet(HEALTH_PATH, { port: METRICS_PORT, periodSeconds: Duration.seconds(20), failureThreshold: 3 }),
  } satisfies Partial<kplus.ContainerProps>;
}

/** The env that tells a long-running command where to serve. */
export function metricsPortEnv(): Record<string, kplus.EnvValue> {
  return { [Env.METRICS_PORT]: kplus.EnvValue.fromValue(String(METRICS_PORT)) };
}
