/**
 * Pod Security Standards, "restricted" profile (which includes "baseline"), as a pure function of a PodSpec,
 * plus one rule of ours: every container runs with a numeric non-zero UID set at pod or container level.
 *
 * Follows https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version "latest").
 * Deliberate differences from the admission controller:
 * - `runAsUser` must be set (our rule; the standard only forbids 0).
 * - Windows pods (`spec.os.name: windows`) get no exemption; we ship Linux images only.
 * - AppArmor annotations live on the pod template's metadata, which a PodSpec does not carry; only the
 *   `appArmorProfile` fields are checked.
 */

/** Loose view of a container: every field may be absent or of the wrong type in the input. */
export interface ContainerLike {
  readonly name?: unknown;
  readonly image?: unknown;
  readonly env?: unknown;
  readonly resources?: unknown;
  readonly ports?: unknown;
  readonly securityContext?: unknown;
  readonly [key: string]: unknown;
}

export interface NamedContainer {
  /** `containers[0] "worker"`, `initContainers[1] "wait"`, ... for messages. */
  readonly label: string;
  readonly kind: 'containers' | 'initContainers' | 'ephemeralContainers';
  readonly container: ContainerLike;
}

/** Containers, initContainers and ephemeralContainers of a PodSpec, each with a label for messages. */
export function allContainers(podSpec: unknown): NamedContainer[] {
  const spec = asRecord(podSpec);
  const out: NamedContainer[] = [];
  for (const kind of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const list = spec[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      const container = asRecord(c) as ContainerLike;
      const name = typeof container.name === 'string' ? ` "${container.name}"` : '';
      out.push({ label: `${kind}[${i}]${name}`, kind, container });
    });
  }
  return out;
}

/** Volume sources allowed by "restricted". */
export const RESTRICTED_VOLUME_TYPES: ReadonlySet<string> = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

/** Sysctls allowed by "baseline". */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);
const SELINUX_TYPES_OK = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/**
 * Violations of the "restricted" profile (and of our runAsUser rule) by one PodSpec; empty when compliant.
 * Each message names the field, e.g. `containers[0] "worker": securityContext.allowPrivilegeEscalation must be false`.
 */
export function restrictedViolations(podSpec: unknown): string[] {
  const v: string[] = [];
  if (!isRecord(podSpec)) return ['pod spec is missing or not an object'];
  const spec = podSpec;
  const podSc = asRecord(spec.securityContext);
  const containers = allContainers(spec);
  if (!containers.some((c) => c.kind === 'containers')) v.push('spec.containers is empty');

  // --- baseline: host namespaces
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[f] !== undefined && spec[f] !== false) v.push(`${f} must be unset or false`);
  }

  // --- baseline: volumes (restricted narrows the allow-list, which also rules out hostPath)
  if (spec.volumes !== undefined && !Array.isArray(spec.volumes)) v.push('volumes must be a list');
  if (Array.isArray(spec.volumes)) {
    spec.volumes.forEach((vol, i) => {
      const volume = asRecord(vol);
      const label = `volumes[${i}]${typeof volume.name === 'string' ? ` "${volume.name}"` : ''}`;
      const sources = Object.keys(volume).filter((k) => k !== 'name');
      if (sources.length === 0) v.push(`${label}: has no volume source`);
      for (const s of sources) {
        if (s === 'hostPath') v.push(`${label}: hostPath volumes are forbidden`);
        else if (!RESTRICTED_VOLUME_TYPES.has(s)) v.push(`${label}: volume type "${s}" is not allowed (allowed: ${[...RESTRICTED_VOLUME_TYPES].join(', ')})`);
      }
    });
  }

  // --- baseline: pod-level securityContext fields
  checkSeLinux(podSc, 'securityContext', v);
  checkWindowsHostProcess(podSc, 'securityContext', v);
  checkAppArmor(podSc, 'securityContext', v);
  if (Array.isArray(podSc.sysctls)) {
    podSc.sysctls.forEach((s, i) => {
      const name = asRecord(s).name;
      if (typeof name !== 'string' || !SAFE_SYSCTLS.has(name)) v.push(`securityContext.sysctls[${i}]: sysctl ${JSON.stringify(name)} is not in the safe set`);
    });
  }

  // --- restricted: pod-level values that containers may inherit
  const podRunAsNonRoot = podSc.runAsNonRoot;
  const podRunAsUser = podSc.runAsUser;
  const podSeccomp = asRecord(podSc.seccompProfile).type;
  if (podRunAsNonRoot !== undefined && podRunAsNonRoot !== true) v.push('securityContext.runAsNonRoot must be true when set');
  if (podRunAsUser !== undefined && !isNonZeroUid(podRunAsUser)) v.push(`securityContext.runAsUser must be a non-zero integer (is ${JSON.stringify(podRunAsUser)})`);
  if (podSeccomp !== undefined && !SECCOMP_OK.has(podSeccomp as string)) {
    v.push(`securityContext.seccompProfile.type must be RuntimeDefault or Localhost (is ${JSON.stringify(podSeccomp)})`);
  }

  for (const { label, container } of containers) {
    const sc = asRecord(container.securityContext);
    const at = `${label}: securityContext`;

    // baseline
    if (sc.privileged !== undefined && sc.privileged !== false) v.push(`${at}.privileged must be unset or false`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`${at}.procMount must be unset or Default`);
    checkSeLinux(sc, at, v);
    checkWindowsHostProcess(sc, at, v);
    checkAppArmor(sc, at, v);
    if (Array.isArray(container.ports)) {
      container.ports.forEach((p, i) => {
        const hostPort = asRecord(p).hostPort;
        if (hostPort !== undefined && hostPort !== 0) v.push(`${label}: ports[${i}].hostPort must be unset or 0`);
      });
    }

    // restricted: no privilege escalation (ephemeral containers included)
    if (sc.allowPrivilegeEscalation !== false) v.push(`${at}.allowPrivilegeEscalation must be false`);

    // restricted: capabilities
    const caps = asRecord(sc.capabilities);
    const drop = Array.isArray(caps.drop) ? caps.drop : [];
    if (!drop.includes('ALL')) v.push(`${at}.capabilities.drop must contain ALL`);
    if (caps.add !== undefined) {
      const add = Array.isArray(caps.add) ? caps.add : [caps.add];
      for (const c of add) if (c !== 'NET_BIND_SERVICE') v.push(`${at}.capabilities.add may only contain NET_BIND_SERVICE (has ${JSON.stringify(c)})`);
    }

    // restricted: non-root
    if (sc.runAsNonRoot !== undefined && sc.runAsNonRoot !== true) v.push(`${at}.runAsNonRoot must be true when set`);
    else if (sc.runAsNonRoot === undefined && podRunAsNonRoot !== true) {
      v.push(`${at}.runAsNonRoot must be true (set it on the pod or on every container)`);
    }

    // our rule: an explicit numeric non-zero UID for every container
    if (sc.runAsUser !== undefined) {
      if (!isNonZeroUid(sc.runAsUser)) v.push(`${at}.runAsUser must be a non-zero integer (is ${JSON.stringify(sc.runAsUser)})`);
    } else if (!isNonZeroUid(podRunAsUser)) {
      v.push(`${at}.runAsUser must be set to a non-zero UID (on the pod or on the container)`);
    }

    // restricted: seccomp
    const seccomp = asRecord(sc.seccompProfile).type;
    if (seccomp !== undefined) {
      if (!SECCOMP_OK.has(seccomp as string)) v.push(`${at}.seccompProfile.type must be RuntimeDefault or Localhost (is ${JSON.stringify(seccomp)})`);
    } else if (!SECCOMP_OK.has(podSeccomp as string)) {
      v.push(`${at}.seccompProfile.type must be RuntimeDefault or Localhost (set it on the pod or on every container)`);
    }
  }
  return v;
}

function checkSeLinux(sc: Record<string, unknown>, at: string, v: string[]): void {
  if (sc.seLinuxOptions === undefined) return;
  const se = asRecord(sc.seLinuxOptions);
  if (se.type !== undefined && !SELINUX_TYPES_OK.has(se.type as string)) v.push(`${at}.seLinuxOptions.type ${JSON.stringify(se.type)} is not allowed`);
  if (se.user !== undefined && se.user !== '') v.push(`${at}.seLinuxOptions.user must be unset`);
  if (se.role !== undefined && se.role !== '') v.push(`${at}.seLinuxOptions.role must be unset`);
}

function checkWindowsHostProcess(sc: Record<string, unknown>, at: string, v: string[]): void {
  const hostProcess = asRecord(sc.windowsOptions).hostProcess;
  if (hostProcess !== undefined && hostProcess !== false) v.push(`${at}.windowsOptions.hostProcess must be unset or false`);
}

function checkAppArmor(sc: Record<string, unknown>, at: string, v: string[]): void {
  const type = asRecord(sc.appArmorProfile).type;
  if (type !== undefined && type !== 'RuntimeDefault' && type !== 'Localhost') {
    v.push(`${at}.appArmorProfile.type must be RuntimeDefault or Localhost (is ${JSON.stringify(type)})`);
  }
}

function isNonZeroUid(u: unknown): boolean {
  return typeof u === 'number' && Number.isInteger(u) && u > 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}
