/**
 * Pods of the Redis image (a RedisCluster's or RedisQueue's StatefulSet): every container is the Redis
 * image, run as the host's `redis-server`, or the redis_exporter image, run as Debian's
 * `prometheus-redis-exporter`. Each such pod has a loopback address of its own (127.R.S.N, one per
 * namespace/name, kept while the agent runs, so a restarted StatefulSet pod gets its old address back as
 * it gets its old DNS name), its status.podIP; its servers listen there on the ports the containers
 * declare, unmapped, so two pods' 6379 and bus port 16379 never meet. On that address:
 *
 * - redis-server gets a copy of its config file (the first argument) with mountPaths mapped (rule 2 of
 *   rewrite.ts on each line), and `--bind <ip> --cluster-announce-ip <ip>` after the container's args
 *   (whose own `--bind` and `--cluster-announce-ip` are dropped): Redis applies arguments after the file,
 *   so they win over its `bind * -::*`;
 * - redis_exporter gets `--web.listen-address=<ip>:<its first containerPort>` unless its args name one;
 * - in env and args, `localhost` and `127.0.0.1` as the host of a URL or `host:port` become the pod's
 *   address (a container's localhost is its pod's);
 * - an exec probe's `redis-cli` gets `-h <ip>`; tcp and http probes go to `<ip>:<port>`.
 */
import { basename } from 'path';
import { DEFAULT_REDIS_EXPORTER_IMAGE, DEFAULT_REDIS_IMAGE } from '../../../constructs/redis-queue';
import { RUNTIME_IMAGE_REPOSITORY } from '../../../runtime/contract';
import { REDIS_EXPORTER_BINARY } from '../../../test/support/observed-programs';
import { ConfigError } from './env';

/** The programs standing in for the images: redis-server (`E2E_REDIS_SERVER` names another), the exporter as the Prometheus proof finds it. */
export const REDIS_SERVER_PROGRAM = process.env.E2E_REDIS_SERVER ?? 'redis-server';
export const REDIS_EXPORTER_PROGRAM = REDIS_EXPORTER_BINARY;

/** What a container's image is to the agent. */
export type ContainerKind = 'runtime' | 'redis' | 'exporter';

/** The repository of an image reference (`repo:tag`, `repo@digest`). */
export function imageRepository(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
}

/** Docker Hub's spellings of one repository: `redis`, `library/redis`, `docker.io/library/redis`. */
function hubNames(repository: string): string[] {
  const bare = repository.replace(/^(docker\.io\/|index\.docker\.io\/)/, '').replace(/^library\//, '');
  return [bare, `library/${bare}`, `docker.io/${bare}`, `docker.io/library/${bare}`, `index.docker.io/${bare}`];
}

const REDIS_REPOSITORIES = new Set([...hubNames(imageRepository(DEFAULT_REDIS_IMAGE)), ...hubNames('redis')]);
const EXPORTER_REPOSITORIES = new Set([...hubNames(imageRepository(DEFAULT_REDIS_EXPORTER_IMAGE)), `quay.io/${imageRepository(DEFAULT_REDIS_EXPORTER_IMAGE)}`]);

export function containerKind(image: string): ContainerKind | undefined {
  const repository = imageRepository(image);
  if (repository === RUNTIME_IMAGE_REPOSITORY) return 'runtime';
  if (REDIS_REPOSITORIES.has(repository)) return 'redis';
  if (EXPORTER_REPOSITORIES.has(repository)) return 'exporter';
  return undefined;
}

/**
 * What the agent runs a pod as: `runtime` (every container the runtime image), `redis` (every container
 * the Redis or the exporter image, at least one Redis), undefined (left alone).
 */
export function podKind(pod: any): 'runtime' | 'redis' | undefined {
  const kinds = (pod.spec.containers as any[]).map((c) => containerKind(String(c.image)));
  if (kinds.every((k) => k === 'runtime')) return 'runtime';
  if (kinds.includes('redis') && kinds.every((k) => k === 'redis' || k === 'exporter')) return 'redis';
  return undefined;
}

/** One loopback address per pod name: 127.R.S.2, .3, ... in a /24 drawn at random, so agents of two test runs do not meet. */
export class PodAddresses {
  private readonly byPod = new Map<string, string>();
  private readonly prefix: string;
  private next = 2;

  constructor(random: () => number = Math.random) {
    this.prefix = `127.${100 + Math.floor(random() * 150)}.${Math.floor(random() * 256)}`;
  }

  /** The address of pod `namespace/name`, allocated at the first ask (a DNS name may be asked for before its pod exists). */
  of(namespace: string, name: string): string {
    const key = `${namespace}/${name}`;
    let ip = this.byPod.get(key);
    if (!ip) {
      if (this.next > 254) throw new Error(`the node agent has no loopback address left in ${this.prefix}.0/24`);
      ip = `${this.prefix}.${this.next++}`;
      this.byPod.set(key, ip);
    }
    return ip;
  }
}

/** A pod's DNS name under a headless Service: `<pod>.<service>.<ns>.svc[.cluster.local]`. */
export function podDnsName(host: string): { pod: string; service: string; namespace: string } | undefined {
  const labels = host.split('.');
  const ok = (labels.length === 4 && labels[3] === 'svc') || (labels.length === 6 && labels.slice(3).join('.') === 'svc.cluster.local');
  if (!ok || labels.slice(0, 3).some((l) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(l))) return undefined;
  return { pod: labels[0], service: labels[1], namespace: labels[2] };
}

/** The program and argv of a container, from its command and args (already expanded and rewritten). */
export function hostProgram(kind: 'redis' | 'exporter', command: readonly string[], args: readonly string[]): { program: string; argv: string[] } {
  if (kind === 'redis') {
    // The image's entrypoint (docker-entrypoint.sh) runs `redis-server` with the args, or the args as a command when they name it.
    const all = command.length ? [...command, ...args] : args;
    const names = (s: string | undefined) => s !== undefined && ['redis-server', 'docker-entrypoint.sh'].includes(basename(s));
    let argv = [...all];
    while (names(argv[0])) argv = argv.slice(1);
    if (command.length && !names(command[0])) throw new ConfigError(`the node agent runs the Redis image's redis-server only, not ${JSON.stringify(command)}`, 'RunContainerError');
    return { program: REDIS_SERVER_PROGRAM, argv };
  }
  if (command.length && basename(command[0]) !== 'redis_exporter') {
    throw new ConfigError(`the node agent runs the exporter image's redis_exporter only, not ${JSON.stringify(command)}`, 'RunContainerError');
  }
  return { program: REDIS_EXPORTER_PROGRAM, argv: [...command.slice(1), ...args] };
}

/** Drops `--name value` pairs of the options the agent sets itself. */
function withoutOptions(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (names.includes(argv[i])) {
      // `--bind` takes every value up to the next option.
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

/** redis-server's argv on the pod's address: the config copy first (when there is a config file), the agent's options last. */
export function redisServerArgv(argv: readonly string[], ip: string, configCopy: string | undefined): string[] {
  const rest = configCopy ? argv.slice(1) : [...argv];
  return [...(configCopy ? [configCopy] : []), ...withoutOptions(rest, ['--bind', '--cluster-announce-ip']), '--bind', ip, '--cluster-announce-ip', ip];
}

/** redis_exporter's argv on the pod's address. */
export function exporterArgv(argv: readonly string[], ip: string, port: number | undefined): string[] {
  if (port === undefined || argv.some((a) => /^--?web\.listen-address(=|$)/.test(a))) return [...argv];
  return [...argv, `--web.listen-address=${ip}:${port}`];
}

/** A Redis config file's text with each line passed through `mapPaths` (rule 2). */
export function redisConfigCopy(text: string, mapPaths: (line: string) => string): string {
  const lines = text.split('\n').map((line) => (line.trim().startsWith('#') ? line : mapPaths(line)));
  return `# Copied by the e2e node agent: mountPaths mapped; bind and cluster-announce-ip are set on the command line.\n${lines.join('\n')}`;
}

/** An exec probe's command element with `redis-cli` pointed at the pod's address. */
export function redisCliOnAddress(value: string, ip: string): string {
  return value.replace(/(^|[\s;|&(`])(redis-cli)(?=\s|$)/g, (_whole, before: string, cli: string) => `${before}${cli} -h ${ip}`);
}
