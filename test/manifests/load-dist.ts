/**
 * Reads the synth output: one folder per chart under the dist directory, one YAML file per resource and a
 * `kustomization.yaml` listing them. Shared by the jest suite (test/manifests) and `scripts/validate-strict.ts`;
 * it depends on nothing but node and js-yaml, and never throws on malformed input it can describe instead
 * (problems are collected so that a test can name them all).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

/** The repository root (this file lives in <repo>/test/manifests). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** `DIST_DIR` if set (a path relative to the current directory or absolute), else `<repo>/dist`. */
export function distDir(): string {
  const fromEnv = process.env.DIST_DIR;
  return fromEnv ? path.resolve(fromEnv) : path.join(REPO_ROOT, 'dist');
}

/** A Kubernetes object as read from YAML: every field may be missing or of any type. */
export interface KubeObject {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown; readonly [key: string]: unknown };
  readonly spec?: unknown;
  readonly [key: string]: unknown;
}

/** One YAML document of one file. */
export interface LoadedDoc {
  /** Chart folder name, e.g. `redis-keda`. */
  readonly chart: string;
  /** Absolute path of the file. */
  readonly file: string;
  /** Path for messages: relative to the current directory when below it, e.g. `dist/redis-keda/Service.x.k8s.yaml`. */
  readonly displayPath: string;
  /** Index of the document in its file (0-based, empty documents included in the count). */
  readonly index: number;
  readonly doc: KubeObject;
}

export interface ChartFolder {
  readonly name: string;
  readonly dir: string;
  /** Names of the resource YAML files in the folder (kustomization.yaml excluded), sorted. */
  readonly yamlFiles: readonly string[];
  /** Parsed kustomization.yaml, or undefined when missing or unparsable (see `problems`). */
  readonly kustomization?: Record<string, unknown>;
  readonly docs: readonly LoadedDoc[];
  /** Layout problems: missing kustomization, resources not matching the files, unparsable YAML, ... */
  readonly problems: readonly string[];
}

export interface DistTree {
  readonly dir: string;
  readonly charts: readonly ChartFolder[];
  /** Problems outside the chart folders (missing dir, stray YAML files at the top level). */
  readonly problems: readonly string[];
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export function isYamlFile(name: string): boolean {
  return /\.ya?ml$/i.test(name);
}

export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

/**
 * Parses all documents of a YAML text with the YAML 1.2 core schema (no timestamps or other implicit types
 * beyond null/bool/int/float, which is what the API server's decoder sees for cdk8s output).
 */
export function parseYamlDocuments(text: string, filename?: string): unknown[] {
  return yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA, filename });
}

/** Loads one chart folder. */
export function loadChartFolder(dir: string): ChartFolder {
  const name = path.basename(dir);
  const problems: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) problems.push(`${name}/${e.name}: unexpected ${e.isDirectory() ? 'sub-folder' : 'entry'} (a chart folder holds only YAML files)`);
  }
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  const kustomizationFile = files.find((f) => KUSTOMIZATION_FILES.includes(f));
  const yamlFiles = files.filter((f) => isYamlFile(f) && !KUSTOMIZATION_FILES.includes(f)).sort();
  for (const f of files) {
    if (!isYamlFile(f) && !KUSTOMIZATION_FILES.includes(f)) problems.push(`${name}/${f}: not a YAML file`);
  }

  let kustomization: Record<string, unknown> | undefined;
  if (kustomizationFile !== 'kustomization.yaml') {
    problems.push(kustomizationFile ? `${name}/${kustomizationFile}: name it kustomization.yaml` : `${name}/kustomization.yaml is missing`);
  }
  if (kustomizationFile) {
    try {
      const parsed = parseYamlDocuments(fs.readFileSync(path.join(dir, kustomizationFile), 'utf8'), kustomizationFile);
      if (parsed.length !== 1 || !isPlainObject(parsed[0])) {
        problems.push(`${name}/${kustomizationFile}: expected exactly one YAML mapping`);
      } else {
        kustomization = parsed[0];
      }
    } catch (e) {
      problems.push(`${name}/${kustomizationFile}: ${(e as Error).message}`);
    }
  }
  if (kustomization) problems.push(...kustomizationProblems(name, kustomization, yamlFiles));

  const docs: LoadedDoc[] = [];
  for (const f of yamlFiles) {
    const file = path.join(dir, f);
    let parsed: unknown[];
    try {
      parsed = parseYamlDocuments(fs.readFileSync(file, 'utf8'), f);
    } catch (e) {
      problems.push(`${name}/${f}: YAML does not parse: ${(e as Error).message}`);
      continue;
    }
    const nonEmpty = parsed.filter((d) => d !== null && d !== undefined);
    if (nonEmpty.length !== 1) {
      problems.push(`${name}/${f}: holds ${nonEmpty.length} documents; expected exactly one resource per file`);
    }
    parsed.forEach((d, index) => {
      if (d === null || d === undefined) return;
      if (!isPlainObject(d)) {
        problems.push(`${name}/${f}: document ${index} is not a mapping`);
        return;
      }
      docs.push({ chart: name, file, displayPath: displayPath(file), index, doc: d as KubeObject });
    });
  }
  problems.push(...duplicateIdProblems(name, docs));
  return { name, dir, yamlFiles, kustomization, docs, problems };
}

/** `resources` must list exactly the YAML files of the folder: no missing file, no extra entry, no duplicate. */
export function kustomizationProblems(chart: string, kustomization: Record<string, unknown>, yamlFiles: readonly string[]): string[] {
  const problems: string[] = [];
  const where = `${chart}/kustomization.yaml`;
  if (kustomization.kind !== undefined && kustomization.kind !== 'Kustomization') {
    problems.push(`${where}: kind is ${JSON.stringify(kustomization.kind)}, expected Kustomization`);
  }
  const resources = kustomization.resources;
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string')) {
    problems.push(`${where}: 'resources' must be a list of file names`);
    return problems;
  }
  const listed = resources as string[];
  const seen = new Set<string>();
  for (const r of listed) {
    if (seen.has(r)) problems.push(`${where}: '${r}' is listed twice`);
    seen.add(r);
  }
  for (const f of yamlFiles) if (!seen.has(f)) problems.push(`${where}: does not list ${f}`);
  const present = new Set(yamlFiles);
  for (const r of seen) if (!present.has(r)) problems.push(`${where}: lists '${r}', which is not a YAML file of this folder`);
  return problems;
}

/** Two objects with the same group, kind, namespace and name would make `kubectl kustomize` fail. */
function duplicateIdProblems(chart: string, docs: readonly LoadedDoc[]): string[] {
  const byId = new Map<string, string>();
  const problems: string[] = [];
  for (const d of docs) {
    const group = typeof d.doc.apiVersion === 'string' && d.doc.apiVersion.includes('/') ? d.doc.apiVersion.split('/')[0] : '';
    const id = `${group}|${String(d.doc.kind)}|${String(d.doc.metadata?.namespace ?? '')}|${String(d.doc.metadata?.name)}`;
    const other = byId.get(id);
    if (other) problems.push(`${chart}: ${String(d.doc.kind)}/${String(d.doc.metadata?.name)} is defined twice (${other}, ${path.basename(d.file)})`);
    else byId.set(id, path.basename(d.file));
  }
  return problems;
}

/** Loads every chart folder (sorted by name) of a dist directory. */
export function loadDist(dir: string = distDir()): DistTree {
  const problems: string[] = [];
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return { dir, charts: [], problems: [`${dir} does not exist or is not a directory (run \`npm run synth\`)`] };
  }
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.isFile() && isYamlFile(e.name)) {
      problems.push(`${e.name}: YAML file at the top level of ${displayPath(dir)}; every resource belongs in a chart folder`);
    }
  }
  const charts = entries.filter((e) => e.isDirectory()).map((e) => loadChartFolder(path.join(dir, e.name)));
  if (charts.length === 0) problems.push(`${displayPath(dir)} has no chart folders (run \`npm run synth\`)`);
  return { dir, charts, problems };
}

/** `<displayPath> <Kind>/<name>` (with `#<index>` when the document is not the first of its file). */
export function describeDoc(d: LoadedDoc): string {
  const suffix = d.index > 0 ? `#${d.index}` : '';
  return `${d.displayPath}${suffix} ${String(d.doc.kind)}/${String(d.doc.metadata?.name)}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Splits `group/version` (core objects: `v1`, group ''). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
