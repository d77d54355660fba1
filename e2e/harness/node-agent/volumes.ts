/**
 * A pod's volumes as directories of its own: `<podDir>/volumes/<volume>`. emptyDir is an empty
 * directory; secret, configMap and downwardAPI volumes (and those sources of a projected volume)
 * are written as files, one per key or per `items` entry (with its mode); a persistentVolumeClaim is
 * the claim's own folder outside the pod's (`ObjectSource.claim`: it outlives the pod); any other kind
 * is an empty directory. Each container mountPath maps to its volume's directory (or subPath in it).
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'fs';
import { dirname, join, normalize } from 'path';
import { ConfigError, fieldValue, KeyedData, missing, ObjectSource, resourceValue } from './env';

/** A container path and the host path standing in for it. */
export interface MountMapping {
  readonly mountPath: string;
  readonly hostPath: string;
}

type Files = Map<string, { content: Buffer; mode?: number }>;

function keyedFiles(object: KeyedData, items: any[] | undefined, optional: boolean, describe: () => ConfigError, mode: number | undefined): Files {
  const files: Files = new Map();
  if (!items) {
    for (const [key, content] of Object.entries(object.data)) files.set(key, { content, mode });
    return files;
  }
  for (const item of items) {
    const content = object.data[item.key];
    if (content === undefined) {
      if (optional) continue;
      throw describe();
    }
    files.set(item.path, { content, mode: item.mode ?? mode });
  }
  return files;
}

async function sourceFiles(pod: any, source: ObjectSource, spec: any, defaultMode: number | undefined, podIp?: string): Promise<Files> {
  const ns: string = pod.metadata.namespace;
  for (const kind of ['secret', 'configMap'] as const) {
    const ref = spec[kind];
    if (!ref) continue;
    const name: string = kind === 'secret' ? (ref.secretName ?? ref.name) : ref.name;
    const what = kind === 'secret' ? 'secret' : 'configmap';
    const object = kind === 'secret' ? await source.secret(name) : await source.configMap(name);
    if (!object) {
      if (ref.optional) return new Map();
      throw missing(what, ns, name);
    }
    const absent = (ref.items ?? []).find((i: any) => object.data[i.key] === undefined);
    return keyedFiles(object, ref.items, ref.optional, () => missing(what, ns, name, absent?.key), ref.defaultMode ?? defaultMode);
  }
  if (spec.downwardAPI) {
    const files: Files = new Map();
    for (const item of spec.downwardAPI.items ?? []) {
      const value = item.fieldRef ? fieldValue(pod, item.fieldRef.fieldPath, podIp) : resourceValue(pod, item.resourceFieldRef.containerName, item.resourceFieldRef);
      files.set(item.path, { content: Buffer.from(value), mode: item.mode ?? spec.downwardAPI.defaultMode ?? defaultMode });
    }
    return files;
  }
  if (spec.projected) {
    const files: Files = new Map();
    for (const projection of spec.projected.sources ?? []) {
      // serviceAccountToken and clusterTrustBundle sources are not written.
      if (projection.secret || projection.configMap || projection.downwardAPI) {
        for (const [path, file] of await sourceFiles(pod, source, projection, spec.projected.defaultMode ?? defaultMode, podIp)) files.set(path, file);
      }
    }
    return files;
  }
  return new Map();
}

/** Makes every volume's directory and files under `podDir`; returns the directory of each volume by name. */
export async function materializeVolumes(pod: any, podDir: string, source: ObjectSource, podIp?: string): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const volume of pod.spec.volumes ?? []) {
    if (volume.persistentVolumeClaim && source.claim) {
      dirs.set(volume.name, await source.claim(volume.persistentVolumeClaim.claimName));
      continue;
    }
    const dir = join(podDir, 'volumes', volume.name);
    mkdirSync(dir, { recursive: true });
    for (const [path, file] of await sourceFiles(pod, source, volume, undefined, podIp)) {
      const target = normalize(join(dir, path));
      if (!target.startsWith(dir + '/')) throw new ConfigError(`volume ${volume.name}: path "${path}" leaves the volume`);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
      chmodSync(target, file.mode ?? 0o644);
    }
    dirs.set(volume.name, dir);
  }
  return dirs;
}

/** The host path of each of the container's mounts, longest mountPath first (so nested mounts win). */
export function mountMappings(container: any, volumeDirs: Map<string, string>): MountMapping[] {
  return (container.volumeMounts ?? [])
    .map((mount: any) => {
      const dir = volumeDirs.get(mount.name);
      if (!dir) throw new ConfigError(`volumeMount ${mount.mountPath}: no volume "${mount.name}"`);
      const hostPath = mount.subPath ? join(dir, mount.subPath) : dir;
      if (mount.subPath && !existsSync(hostPath)) mkdirSync(hostPath, { recursive: true });
      return { mountPath: mount.mountPath.replace(/\/+$/, ''), hostPath };
    })
    .sort((a: MountMapping, b: MountMapping) => b.mountPath.length - a.mountPath.length);
}
