/**
 * The programs of the live control plane, each built by `go build` from a go.mod of ours under
 * e2e/build/<module>/ (requires and replace lines only, no source), and where their binaries live:
 * a cache outside the clone, one folder per component keyed by its version and a hash of what
 * decides the binary (go.mod, go.sum, flags, Go version), so a fresh clone on the same machine
 * reuses what an earlier build made.
 */
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';

export interface Component {
  /** The folder under e2e/build holding the go.mod, and the first part of the cache key. */
  readonly module: string;
  /** The upstream version the go.mod pins (part of the cache key, for people reading the cache). */
  readonly version: string;
  /** Binary name -> the main package go builds it from. */
  readonly binaries: Readonly<Record<string, string>>;
  /** -X settings: the version the binaries report (upstream's release builds set them the same way). */
  readonly ldflagsX: readonly string[];
}

export const KUBERNETES_VERSION = 'v1.35.5';
export const KEDA_VERSION = 'v2.20.2';

const k8sVersionFlags = (pkg: string): string[] => [`${pkg}.gitVersion=${KUBERNETES_VERSION}`, `${pkg}.gitMajor=1`, `${pkg}.gitMinor=35`, `${pkg}.gitTreeState=clean`];

export const COMPONENTS: readonly Component[] = [
  {
    // The version KEDA v2.20.2's go.mod pins k8s.io/* to (v0.35.5).
    module: 'kubernetes',
    version: KUBERNETES_VERSION,
    binaries: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    ldflagsX: [...k8sVersionFlags('k8s.io/component-base/version'), ...k8sVersionFlags('k8s.io/client-go/pkg/version')],
  },
  { module: 'etcd', version: 'v3.6.16', binaries: { etcd: 'go.etcd.io/etcd/server/v3' }, ldflagsX: [] },
  { module: 'kwok', version: 'v0.7.0', binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' }, ldflagsX: ['sigs.k8s.io/kwok/pkg/consts.Version=v0.7.0'] },
  {
    module: 'keda',
    version: KEDA_VERSION,
    binaries: {
      'keda-operator': 'github.com/kedacore/keda/v2/cmd/operator',
      'keda-adapter': 'github.com/kedacore/keda/v2/cmd/adapter',
      'keda-webhooks': 'github.com/kedacore/keda/v2/cmd/webhooks',
    },
    ldflagsX: [`github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION.slice(1)}`],
  },
];

/** Every binary name of the harness. */
export type BinaryName = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'etcd' | 'kwok' | 'keda-operator' | 'keda-adapter' | 'keda-webhooks';

export const MODULES_DIR = __dirname;
/** Written last into a component's folder: a folder without it is an interrupted build. */
export const COMPLETE_MARKER = '.complete';

/** $E2E_BIN_CACHE, else $XDG_CACHE_HOME or ~/.cache, then cdk8s-redis-keda/e2e-bin. */
export function cacheRoot(): string {
  if (process.env.E2E_BIN_CACHE) return process.env.E2E_BIN_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cdk8s-redis-keda', 'e2e-bin');
}

let goVersion: string | undefined;
function currentGoVersion(): string {
  goVersion ??= execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  return goVersion;
}

export function ldflags(component: Component): string {
  return ['-s', '-w', ...component.ldflagsX.map((x) => `-X=${x}`)].join(' ');
}

/** <module>-<version>-<12 hex of sha256(go.mod, go.sum, binaries, ldflags, Go version)>. */
export function cacheKey(component: Component): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(MODULES_DIR, component.module, file)));
  hash.update(JSON.stringify(component.binaries)).update(ldflags(component)).update(currentGoVersion());
  return `${component.module}-${component.version}-${hash.digest('hex').slice(0, 12)}`;
}

export function componentDir(component: Component): string {
  return join(cacheRoot(), cacheKey(component));
}

export function isBuilt(component: Component): boolean {
  return existsSync(join(componentDir(component), COMPLETE_MARKER));
}

/** The absolute path of a binary; throws naming the command that builds it when its component is not built. */
export function binaryPath(name: BinaryName): string {
  const component = COMPONENTS.find((c) => name in c.binaries);
  if (!component) throw new Error(`no component builds ${name}`);
  if (!isBuilt(component)) {
    throw new Error(`${name} is not built (${componentDir(component)} is missing): run \`npm run e2e:build\` (needs Go and the Go module proxy)`);
  }
  return join(componentDir(component), name);
}
