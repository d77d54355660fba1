/**
 * What makes a pod's program run on the host in place of a container: its view of the cluster
 * and of its own filesystem and ports, translated into host terms. The rules, applied to env
 * values, then to args (after `$(VAR)` expansion against the rewritten env) and exec probe commands:
 *
 * 1. Services. A `<X>_HOST` whose value names a Service (`name` in the pod's namespace,
 *    `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`) and its `<X>_PORT` (a port of that
 *    Service; without one, the Service's only port) become the backend's host and port. A URL
 *    (`scheme://[user@]host[:port]...`) or a bare `host:port` naming a Service gets the backend's
 *    `host:port` (a URL without a port: the Service's only port). The backend is one the test
 *    registered for that Service port, else the first Ready pod of the agent the Service selects,
 *    at its targetPort (by number or name) as remapped by rule 3.
 * 2. Paths. Every occurrence of a container mountPath (as a whole path or a prefix followed by `/`)
 *    becomes the host directory of that mount.
 * 3. Ports. Every containerPort P has its own free loopback port P': an env value "P", an arg "P",
 *    "--flag=P" or a listen address (":P", "0.0.0.0:P", "127.0.0.1:P", "localhost:P") gets P';
 *    HTTP and TCP probes on P (or on its name) go to P'. Not for a pod with an address of its own
 *    (redis-pods.ts): its ports stay as declared.
 * 4. Pod DNS names. `<pod>.<service>.<ns>.svc[.cluster.local]` under a headless Service, alone, as the
 *    host of a URL or `host:port`, or in a comma-separated list of those, becomes that pod's address
 *    (what cluster DNS would answer; the host has no cluster DNS). In a pod with an address of its own,
 *    `localhost` and `127.0.0.1` as such a host become that address.
 */
import type { MountMapping } from './volumes';
import { ConfigError } from './env';
import { podDnsName } from './redis-pods';

/** A Service, as far as the agent reads it. */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly { port: number; targetPort?: number | string; name?: string }[];
  readonly selector?: Record<string, string>;
  /** `None` for a headless Service. */
  readonly clusterIP?: string;
}

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface ServiceDirectory {
  /** The Service a host name names, seen from `namespace`; undefined when it names none. */
  service(host: string, namespace: string): Promise<ServiceInfo | undefined>;
  /** Where the Service's `port` is served now; undefined when nothing backs it yet. */
  backend(service: ServiceInfo, port: number): Backend | undefined;
  /**
   * The address of pod `pod` under headless Service `service` of `namespace` (rule 4); undefined when no
   * headless Service of that name exists. Throws a {@link ConfigError} while the Service cannot be read.
   */
  podAddress(pod: string, service: string, namespace: string): Promise<string | undefined>;
}

const SCHEME_PORTS: Record<string, number> = { http: 80, https: 443, redis: 6379, rediss: 6379 };
const URL_PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^@/?#]*@)?([^:/?#@]+)(?::(\d+))?(.*)$/s;
const HOST_PORT_PATTERN = /^([a-zA-Z0-9][a-zA-Z0-9.-]*):(\d+)$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The (name, namespace) a host name could mean as a Service, or undefined for an IP or other name. */
export function serviceNameOf(host: string, namespace: string): { name: string; namespace: string } | undefined {
  if (!DNS_NAME.test(host) || /^[0-9.]+$/.test(host) || host === 'localhost') return undefined;
  const labels = host.split('.');
  if (labels.length === 1) return { name: labels[0], namespace };
  if (labels.length === 2) return { name: labels[0], namespace: labels[1] };
  if (labels.length === 3 && labels[2] === 'svc') return { name: labels[0], namespace: labels[1] };
  if (labels.length === 5 && labels.slice(2).join('.') === 'svc.cluster.local') return { name: labels[0], namespace: labels[1] };
  return undefined;
}

export class Rewriter {
  constructor(
    private readonly namespace: string,
    private readonly mounts: readonly MountMapping[],
    /** containerPort -> host port. */
    private readonly ports: ReadonlyMap<number, number>,
    private readonly services: ServiceDirectory,
    /** The pod's own address, when it has one (rule 4). */
    private readonly ownIp?: string,
  ) {}

  /** Rule 2 on one string. */
  path(value: string): string {
    let out = value;
    for (const { mountPath, hostPath } of this.mounts) {
      const escaped = mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(`(^|[\\s=:'"])${escaped}(?=$|[/\\s'"])`, 'g'), (_whole, before: string) => `${before}${hostPath}`);
    }
    return out;
  }

  /** Rule 3 on one string. */
  port(value: string): string {
    const mapped = (p: string) => {
      const to = this.ports.get(Number(p));
      return to === undefined ? undefined : String(to);
    };
    if (/^\d+$/.test(value)) return mapped(value) ?? value;
    const flag = /^(--?[A-Za-z0-9-]+=)(\d+)$/.exec(value);
    if (flag) return flag[1] + (mapped(flag[2]) ?? flag[2]);
    const hostPort = /^((?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]|\[::1\])?:)(\d+)$/.exec(value);
    if (hostPort) return hostPort[1] + (mapped(hostPort[2]) ?? hostPort[2]);
    return value;
  }

  /** Rule 1 on a URL or `host:port` (inside a `--flag=` too); unchanged when it names no Service. */
  async service(value: string): Promise<string> {
    const flag = /^(--?[A-Za-z0-9-]+=)(.*)$/s.exec(value);
    if (flag) return flag[1] + (await this.service(flag[2]));
    if (value.includes(',') && !URL_PATTERN.test(value)) {
      const parts = value.split(',');
      const mapped = await Promise.all(parts.map((part) => (HOST_PORT_PATTERN.test(part) || podDnsName(part) ? this.service(part) : part)));
      return mapped.join(',');
    }
    const named = await this.hostAddress(value);
    if (named) return named;
    const url = URL_PATTERN.exec(value);
    if (url) {
      const [, scheme, user = '', host, port, rest] = url;
      const address = await this.hostAddress(host);
      if (address) return `${scheme}://${user}${address}${port === undefined ? '' : `:${port}`}${rest}`;
      const service = await this.lookup(host);
      if (!service) return value;
      const backend = this.backendFor(service, port === undefined ? SCHEME_PORTS[scheme.toLowerCase()] : Number(port));
      return `${scheme}://${user}${backend.host}:${backend.port}${rest}`;
    }
    const hostPort = HOST_PORT_PATTERN.exec(value);
    if (hostPort) {
      const address = await this.hostAddress(hostPort[1]);
      if (address) return `${address}:${hostPort[2]}`;
      const service = await this.lookup(hostPort[1]);
      if (!service) return value;
      const backend = this.backendFor(service, Number(hostPort[2]));
      return `${backend.host}:${backend.port}`;
    }
    return value;
  }

  /** All three rules on the env; returns the new env. */
  async env(env: Record<string, string>): Promise<Record<string, string>> {
    const out = { ...env };
    const done = new Set<string>();
    for (const [name, value] of Object.entries(env)) {
      if (!name.endsWith('_HOST')) continue;
      const service = await this.lookup(value);
      if (!service) continue;
      const portName = `${name.slice(0, -'_HOST'.length)}_PORT`;
      const backend = this.backendFor(service, env[portName] === undefined ? undefined : Number(env[portName]));
      out[name] = backend.host;
      done.add(name);
      if (env[portName] !== undefined) {
        out[portName] = String(backend.port);
        done.add(portName);
      }
    }
    for (const [name, value] of Object.entries(out)) {
      if (done.has(name)) continue;
      out[name] = this.port(this.path(await this.service(value)));
    }
    return out;
  }

  /** Rules 1 to 3 on each argument. */
  async args(args: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const arg of args) out.push(this.port(this.path(await this.service(arg))));
    return out;
  }

  /** Rule 4: the address a pod DNS name (or, in a pod of its own address, localhost) stands for; undefined for any other host. */
  private async hostAddress(host: string): Promise<string | undefined> {
    if (this.ownIp && (host === 'localhost' || host === '127.0.0.1')) return this.ownIp;
    const name = podDnsName(host);
    return name ? this.services.podAddress(name.pod, name.service, name.namespace) : undefined;
  }

  private async lookup(host: string): Promise<ServiceInfo | undefined> {
    return serviceNameOf(host, this.namespace) ? this.services.service(host, this.namespace) : undefined;
  }

  private backendFor(service: ServiceInfo, port: number | undefined): Backend {
    const chosen = port === undefined || Number.isNaN(port) ? (service.ports.length === 1 ? service.ports[0] : undefined) : service.ports.find((p) => p.port === port);
    if (!chosen) throw new ConfigError(`Service ${service.namespace}/${service.name} has no port ${port ?? '(the only one)'}`);
    const backend = this.services.backend(service, chosen.port);
    if (!backend) throw new ConfigError(`waiting for a backend of Service ${service.namespace}/${service.name} port ${chosen.port}`, 'ContainerCreating');
    return backend;
  }
}
