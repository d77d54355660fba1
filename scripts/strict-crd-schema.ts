/**
 * Validates custom resources against the openAPIV3Schema of their CustomResourceDefinition the way the API server
 * does with `kubectl apply --validate=strict` (field validation "Strict"): unknown fields are errors.
 *
 * A CRD schema is a *structural* OpenAPI schema plus Kubernetes extensions; to check it with Ajv it is rewritten:
 * - an object schema with `properties` (or with neither `properties` nor `additionalProperties`) and without
 *   `x-kubernetes-preserve-unknown-fields: true` gets `additionalProperties: false`: the API server prunes, and
 *   strict validation rejects, every field the schema does not name;
 * - `x-kubernetes-int-or-string: true` accepts an integer or a string (`anyOf` added when the CRD lacks it);
 * - `x-kubernetes-preserve-unknown-fields: true` keeps unknown fields;
 * - `x-kubernetes-embedded-resource: true` allows (and requires) apiVersion and kind, and allows metadata;
 * - `x-kubernetes-list-type: set` -> unique items; `map` with `x-kubernetes-list-map-keys` -> unique key tuples;
 * - `nullable: true` -> null accepted;
 * - `x-kubernetes-validations` (CEL) cannot be evaluated here: the rules are recorded and listed, not checked;
 *   other `x-kubernetes-*` keywords (map-type, list-type atomic) change nothing for validation and are dropped;
 * - formats: int32/int64 are range-checked, date-time/date/byte/uuid/... get simple validators, any other format
 *   the CRDs use is accepted as it is (and listed in `permissiveFormats`);
 * - a description that starts with "Deprecated" makes a set field a warning, not an error.
 * The top-level `metadata` (just `type: object` in a CRD) is replaced by an ObjectMeta schema: name required and a
 * DNS-1123 subdomain, namespace a DNS-1123 label, labels/annotations string maps with qualified-name keys and
 * valid label values, no unknown fields.
 */
import * as fs from 'fs';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types';
import * as yaml from 'js-yaml';
import { defaultReferenceDir, referenceCrdFiles } from './reference-dir';

export type JsonSchema = Record<string, unknown>;

export interface Issue {
  /** JSON path of the offending value, e.g. `.spec.triggers[0].metadata`. */
  readonly path: string;
  readonly message: string;
}

export interface ValidationResult {
  /** False when the document's API group has no CRD in the set (not an error: the caller decides). */
  readonly handled: boolean;
  readonly errors: readonly Issue[];
  readonly warnings: readonly Issue[];
}

/** A CEL rule present in a schema, which this validator does not evaluate. */
export interface UncheckedRule {
  readonly crd: string;
  readonly version: string;
  readonly path: string;
  readonly rule: string;
  readonly message?: string;
}

interface KindVersion {
  readonly crd: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly served: boolean;
  readonly validate: ValidateFunction;
}

export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = new RegExp(DNS1123_SUBDOMAIN);

/** `prefix/name` or `name`, as label and annotation keys must be. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN_RE.test(prefix)) return false;
  }
  return true;
}

/** ObjectMeta of a top-level object, as the API server validates it (server-set fields allowed but not required). */
export const OBJECT_META_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN },
    generateName: { type: 'string' },
    namespace: { type: 'string', minLength: 1, maxLength: 63, pattern: DNS1123_LABEL },
    labels: {
      type: 'object',
      propertyNames: { format: 'k8s-qualified-name' },
      additionalProperties: { type: 'string', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
    },
    annotations: {
      type: 'object',
      propertyNames: { format: 'k8s-qualified-name' },
      additionalProperties: { type: 'string' },
    },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          name: { type: 'string' },
          uid: { type: 'string' },
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
      },
    },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer' },
    creationTimestamp: { type: ['string', 'null'] },
    deletionTimestamp: { type: 'string' },
    deletionGracePeriodSeconds: { type: 'integer' },
    managedFields: { type: 'array', items: { type: 'object' } },
    selfLink: { type: 'string' },
  },
};

const INT32 = { min: -2147483648, max: 2147483647 };

/** Formats with a real check. Anything else a CRD names is registered as "accept anything". */
const KNOWN_FORMATS: Record<string, { type: 'number' | 'string'; validate: (v: never) => boolean }> = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max },
  int64: { type: 'number', validate: (n: number) => Number.isSafeInteger(n) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
  byte: { type: 'string', validate: (s: string) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) },
  'date-time': {
    type: 'string',
    validate: (s: string) => /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(s),
  },
  date: { type: 'string', validate: (s: string) => /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(s) },
  uuid: { type: 'string', validate: (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) },
  ipv4: { type: 'string', validate: (s: string) => /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(s) },
  hostname: { type: 'string', validate: (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN_RE.test(s) },
  'k8s-qualified-name': { type: 'string', validate: (s: string) => isQualifiedName(s) },
};

/**
 * Kubernetes evaluates `pattern` with Go's RE2, which allows inline flags such as `(?i)` (here: at the start, after an optional `^`) that JavaScript
 * (Node 20) rejects; they are turned into RegExp flags. Other RE2 syntax used by CRDs is valid JavaScript.
 */
export const goRegExp: RegExpEngine = Object.assign(
  (source: string, flags: string): RegExp => {
    const m = /^(\^?)\(\?([imsU]+)\)/.exec(source);
    if (!m) return new RegExp(source, flags);
    const extra = m[2].replace(/[^ims]/g, '');
    return new RegExp(m[1] + source.slice(m[0].length), [...new Set((flags + extra).split(''))].join(''));
  },
  { code: 'goRegExp' /* only used by Ajv's standalone code generation, which we do not use */ },
);

/** Options of one strictification pass over a schema. */
interface StrictifyContext {
  readonly crd: string;
  readonly version: string;
  readonly celRules: UncheckedRule[];
  readonly formats: Set<string>;
}

const DROPPED_KEYS = new Set([
  'description',
  'example',
  'externalDocs',
  'x-kubernetes-map-type',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-validations',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'nullable',
]);

/**
 * Rewrites one CRD schema node (and its children) into a strict Ajv schema, following the rules in the file comment.
 * `jsonPath` is only used to name CEL rules.
 */
export function strictify(node: unknown, ctx: StrictifyContext, jsonPath = ''): JsonSchema {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new Error(`${ctx.crd} ${ctx.version} ${jsonPath || '.'}: schema node is not an object`);
  }
  const src = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(src)) {
    if (DROPPED_KEYS.has(k)) continue;
    if (k.startsWith('x-kubernetes-')) continue; // any other extension: no effect on validation
    switch (k) {
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(v as JsonSchema).map(([name, s]) => [name, strictify(s, ctx, `${jsonPath}.${name}`)]));
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof v === 'boolean' ? v : strictify(v, ctx, `${jsonPath}.*`);
        break;
      case 'items':
        out.items = strictify(v, ctx, `${jsonPath}[*]`);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[k] = (v as unknown[]).map((s) => strictify(s, ctx, jsonPath));
        break;
      case 'not':
        out.not = strictify(v, ctx, jsonPath);
        break;
      case 'format':
        ctx.formats.add(String(v));
        out.format = v;
        break;
      default:
        out[k] = v;
    }
  }

  const preserveUnknown = src['x-kubernetes-preserve-unknown-fields'] === true;

  if (src['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    if (!Array.isArray(out.anyOf)) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }

  if (src['x-kubernetes-embedded-resource'] === true) {
    const props = { ...((out.properties as JsonSchema | undefined) ?? {}) };
    props.apiVersion ??= { type: 'string', minLength: 1 };
    props.kind ??= { type: 'string', minLength: 1 };
    props.metadata ??= { type: 'object' };
    out.properties = props;
    out.required = [...new Set([...((out.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  }

  if (src.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];

  if (out.type === 'object' && !preserveUnknown && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }

  const listType = src['x-kubernetes-list-type'];
  if (listType === 'set') out.uniqueItems = true;
  if (listType === 'map' && Array.isArray(src['x-kubernetes-list-map-keys'])) out.k8sListMapKeys = src['x-kubernetes-list-map-keys'];

  if (Array.isArray(src['x-kubernetes-validations'])) {
    for (const r of src['x-kubernetes-validations'] as Array<{ rule?: string; message?: string }>) {
      ctx.celRules.push({ crd: ctx.crd, version: ctx.version, path: jsonPath || '.', rule: String(r.rule), message: r.message });
    }
  }

  if (typeof src.description === 'string' && /^\s*Deprecated\b/i.test(src.description)) {
    out.k8sDeprecated = src.description.split('\n')[0].trim();
  }
  return out;
}

/** Reads every CustomResourceDefinition document of the given YAML files. */
export function readCrds(files: readonly string[]): Array<{ crd: unknown; source: string }> {
  const out: Array<{ crd: unknown; source: string }> = [];
  for (const file of files) {
    for (const doc of yaml.loadAll(fs.readFileSync(file, 'utf8'), undefined, { schema: yaml.CORE_SCHEMA, filename: file })) {
      if (doc && typeof doc === 'object' && (doc as JsonSchema).kind === 'CustomResourceDefinition') out.push({ crd: doc, source: file });
    }
  }
  return out;
}

/** Validates custom resources against a set of CRDs. */
export class StrictCrdValidator {
  /** Loads `keda/*.yaml` and `prometheus-operator/*.yaml` under the reference folder (default: `defaultReferenceDir()`). */
  static fromReference(referenceDir: string = defaultReferenceDir()): StrictCrdValidator {
    return new StrictCrdValidator(readCrds(referenceCrdFiles(referenceDir)));
  }

  /** API groups with at least one CRD. */
  readonly groups: ReadonlySet<string>;
  /** CEL rules present in the schemas, which are not evaluated. */
  readonly uncheckedRules: readonly UncheckedRule[];
  /** Formats used by the schemas that are accepted without a check. */
  readonly permissiveFormats: readonly string[];

  private readonly entries: KindVersion[] = [];
  private warnings: Issue[] = [];

  constructor(crds: ReadonlyArray<{ crd: unknown; source?: string }>) {
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictTypes: false,
      strictTuples: false,
      allowUnionTypes: true,
      code: { regExp: goRegExp },
    });
    const celRules: UncheckedRule[] = [];
    const formats = new Set<string>();
    const groups = new Set<string>();

    ajv.addKeyword({
      keyword: 'k8sListMapKeys',
      type: 'array',
      schemaType: 'array',
      errors: true,
      validate: function listMapKeys(keys: string[], data: unknown[], parentSchema?: JsonSchema) {
        // A missing key counts as its schema default (e.g. ports[].protocol defaults to TCP), as on the server.
        const itemProps = ((parentSchema?.items as JsonSchema | undefined)?.properties ?? {}) as Record<string, JsonSchema>;
        const seen = new Map<string, number>();
        const errors: ErrorObject[] = [];
        data.forEach((item, i) => {
          if (typeof item !== 'object' || item === null) return;
          const id = JSON.stringify(keys.map((k) => (item as JsonSchema)[k] ?? itemProps[k]?.default ?? null));
          const first = seen.get(id);
          if (first !== undefined) {
            // instancePath and schemaPath are filled in by Ajv (the list's path).
            errors.push({
              keyword: 'k8sListMapKeys',
              params: { keys, first, duplicate: i },
              message: `[${i}] duplicates [${first}]: same key (${keys.join(', ')}) = ${id}`,
            } as unknown as ErrorObject);
          } else seen.set(id, i);
        });
        // Ajv collects errors from the function's `errors` property.
        (listMapKeys as unknown as { errors: ErrorObject[] }).errors = errors;
        return errors.length === 0;
      },
    });
    ajv.addKeyword({
      keyword: 'k8sDeprecated',
      schemaType: 'string',
      validate: (message: string, _data: unknown, _schema: unknown, cxt?: { instancePath: string }) => {
        this.warnings.push({ path: pointerToPath(cxt?.instancePath ?? ''), message: `deprecated field: ${message}` });
        return true;
      },
    });

    const compiled: Array<Omit<KindVersion, 'validate'> & { schema: JsonSchema }> = [];
    for (const { crd, source } of crds) {
      const c = crd as { metadata?: { name?: string }; spec?: { group?: string; names?: { kind?: string }; versions?: unknown[] } };
      const name = c.metadata?.name ?? source ?? '?';
      const group = c.spec?.group;
      const kind = c.spec?.names?.kind;
      if (!group || !kind || !Array.isArray(c.spec?.versions)) throw new Error(`${name}: not a CustomResourceDefinition with group, names.kind and versions`);
      groups.add(group);
      for (const v of c.spec.versions as Array<{ name: string; served?: boolean; schema?: { openAPIV3Schema?: unknown } }>) {
        const root = v.schema?.openAPIV3Schema;
        if (!root) throw new Error(`${name} ${v.name}: no schema.openAPIV3Schema`);
        const schema = strictify(root, { crd: name, version: v.name, celRules, formats });
        const props = { ...((schema.properties as JsonSchema | undefined) ?? {}) };
        props.metadata = OBJECT_META_SCHEMA;
        props.apiVersion = { const: `${group}/${v.name}` };
        props.kind = { const: kind };
        schema.properties = props;
        schema.required = [...new Set([...((schema.required as string[] | undefined) ?? []), 'apiVersion', 'kind', 'metadata'])];
        compiled.push({ crd: name, group, version: v.name, kind, served: v.served !== false, schema });
      }
    }

    const permissive: string[] = [];
    for (const [name, f] of Object.entries(KNOWN_FORMATS)) ajv.addFormat(name, f as { type: 'number'; validate: (n: number) => boolean });
    for (const f of formats) {
      if (!(f in KNOWN_FORMATS)) {
        ajv.addFormat(f, true);
        permissive.push(f);
      }
    }
    for (const c of compiled) {
      const { schema, ...rest } = c;
      this.entries.push({ ...rest, validate: ajv.compile(schema) });
    }
    this.groups = groups;
    this.uncheckedRules = celRules;
    this.permissiveFormats = permissive.sort();
  }

  /** `group/version Kind` of every served kind, sorted. */
  kinds(): string[] {
    return this.entries
      .filter((e) => e.served)
      .map((e) => `${e.group}/${e.version} ${e.kind}`)
      .sort();
  }

  /** Whether the document's API group is one this validator has CRDs for. */
  handles(doc: { apiVersion?: unknown }): boolean {
    return typeof doc.apiVersion === 'string' && this.groups.has(doc.apiVersion.split('/')[0]) && doc.apiVersion.includes('/');
  }

  /** Validates one document. Documents of other API groups come back with `handled: false` and no errors. */
  validate(doc: unknown): ValidationResult {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      return { handled: true, errors: [{ path: '.', message: 'document is not an object' }], warnings: [] };
    }
    const d = doc as { apiVersion?: unknown; kind?: unknown };
    if (!this.handles(d)) return { handled: false, errors: [], warnings: [] };
    const apiVersion = d.apiVersion as string;
    const [group, version] = apiVersion.split('/');
    const ofKind = this.entries.filter((e) => e.group === group && e.kind === d.kind);
    if (ofKind.length === 0) {
      const known = [...new Set(this.entries.filter((e) => e.group === group).map((e) => e.kind))].join(', ');
      return { handled: true, errors: [{ path: '.kind', message: `no CRD for kind ${JSON.stringify(d.kind)} in group ${group} (known: ${known})` }], warnings: [] };
    }
    const entry = ofKind.find((e) => e.version === version && e.served);
    if (!entry) {
      const served = ofKind
        .filter((e) => e.served)
        .map((e) => `${group}/${e.version}`)
        .join(', ');
      return { handled: true, errors: [{ path: '.apiVersion', message: `${apiVersion} is not a served version of ${String(d.kind)} (served: ${served})` }], warnings: [] };
    }
    this.warnings = [];
    const ok = entry.validate(doc);
    const warnings = this.warnings;
    this.warnings = [];
    return { handled: true, errors: ok ? [] : formatErrors(entry.validate.errors ?? []), warnings };
  }
}

/** `/spec/triggers/0/metadata` -> `.spec.triggers[0].metadata` (keys that are not identifiers in ["..."]). */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '.';
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => {
      const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (/^\d+$/.test(seg)) return `[${seg}]`;
      if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) return `.${seg}`;
      return `[${JSON.stringify(seg)}]`;
    })
    .join('');
}

function joinPath(base: string, key: string): string {
  const seg = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return base === '.' ? seg : base + seg;
}

const PATTERN_NAMES: Record<string, string> = {
  [DNS1123_SUBDOMAIN]: "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; start and end with a letter or digit)",
  [DNS1123_LABEL]: "must be a DNS-1123 label (lowercase letters, digits and '-'; start and end with a letter or digit)",
  '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$': "must be a valid label value (letters, digits, '-', '_', '.'; start and end with a letter or digit)",
};

/** Ajv errors -> issues in kubectl's terms: one "unknown field" per extra field; int-or-string noise folded. */
export function formatErrors(errors: readonly ErrorObject[]): Issue[] {
  // Errors inside a failed anyOf/oneOf say "must be integer" and "must be string" separately; keep only the summary.
  const branches = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  const out: Issue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (branches.some((b) => e.schemaPath.startsWith(b))) continue;
    if ((e as { propertyName?: string }).propertyName !== undefined) continue; // detail of a propertyNames error
    const at = pointerToPath(e.instancePath);
    let issue: Issue;
    switch (e.keyword) {
      case 'additionalProperties':
        issue = { path: joinPath(at, String((e.params as { additionalProperty: string }).additionalProperty)), message: 'unknown field' };
        break;
      case 'anyOf':
      case 'oneOf':
        issue = { path: at, message: 'must be an integer or a string (or match one of the allowed shapes)' };
        break;
      case 'enum':
        issue = { path: at, message: `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}` };
        break;
      case 'required':
        issue = { path: joinPath(at, String((e.params as { missingProperty: string }).missingProperty)), message: 'required field is missing' };
        break;
      case 'const':
        issue = { path: at, message: `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` };
        break;
      case 'propertyNames':
        issue = { path: joinPath(at, String((e.params as { propertyName: string }).propertyName)), message: 'invalid key (must be a qualified name: [prefix/]name)' };
        break;
      case 'pattern':
        issue = { path: at, message: PATTERN_NAMES[(e.params as { pattern: string }).pattern] ?? e.message ?? 'must match pattern' };
        break;
      default:
        issue = { path: at, message: e.message ?? e.keyword };
    }
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

/** A document with a known verdict, to prove on every run that the validator accepts good input and rejects bad. */
export interface SelfCheckCase {
  readonly name: string;
  readonly doc: unknown;
  /** `ok`: no errors; otherwise an error (or, with `warning`, a warning and no error) at `path` whose message contains `message`. */
  readonly expect: 'ok' | { readonly path: string; readonly message: string; readonly warning?: boolean };
}

function scaledJob(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = { name: 'consumer' }, container: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata,
    spec: {
      jobTargetRef: {
        backoffLimit: 2,
        template: {
          spec: {
            restartPolicy: 'Never',
            securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'consumer',
                image: 'ghcr.io/example/redis-keda:0.1.0',
                args: ['consume', '--once'],
                ports: [{ containerPort: 9090, name: 'metrics' }],
                resources: { requests: { cpu: 1, memory: '64Mi' }, limits: { memory: '128Mi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                ...container,
              },
            ],
          },
        },
      },
      rollout: { strategy: 'gradual' },
      scalingStrategy: { strategy: 'accurate', pendingPodConditions: ['Ready'] },
      maxReplicaCount: 20,
      triggers: [{ type: 'redis', metadata: { address: 'redis:6379', listName: 'events', listLength: '1' }, authenticationRef: { name: 'redis-auth' } }],
      ...spec,
    },
  };
}

const scaledObject = (spec: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'worker' },
  spec: {
    scaleTargetRef: { name: 'worker' },
    minReplicaCount: 0,
    maxReplicaCount: 10,
    triggers: [{ type: 'redis', metadata: { address: 'redis:6379', listName: 'events', listLength: '10' } }],
    ...spec,
  },
});

/** Known-good and known-bad KEDA and Prometheus-Operator documents (real mistakes where we have them). */
export const SELF_CHECK_CASES: readonly SelfCheckCase[] = [
  { name: 'good ScaledJob', doc: scaledJob(), expect: 'ok' },
  { name: 'good ScaledObject', doc: scaledObject(), expect: 'ok' },
  {
    name: 'good TriggerAuthentication',
    doc: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'redis-auth' },
      spec: { secretTargetRef: [{ parameter: 'password', name: 'redis', key: 'password' }] },
    },
    expect: 'ok',
  },
  {
    name: 'good ClusterTriggerAuthentication',
    doc: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ClusterTriggerAuthentication',
      metadata: { name: 'redis-auth' },
      spec: { secretTargetRef: [{ parameter: 'password', name: 'redis', key: 'password' }] },
    },
    expect: 'ok',
  },
  {
    name: 'good PodMonitor',
    doc: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'worker', labels: { 'app.kubernetes.io/name': 'worker' } },
      spec: { selector: { matchLabels: { app: 'worker' } }, podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }] },
    },
    expect: 'ok',
  },
  {
    name: 'good ServiceMonitor',
    doc: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'redis' },
      spec: { selector: { matchLabels: { app: 'redis' } }, endpoints: [{ port: 'metrics' }] },
    },
    expect: 'ok',
  },
  {
    name: 'good PrometheusRule',
    doc: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'redis' },
      spec: { groups: [{ name: 'redis', rules: [{ alert: 'Backlog', expr: 'redis_list_length > 100', for: '10m', labels: { severity: 'warning' } }] }] },
    },
    expect: 'ok',
  },
  // The deprecated spec.rolloutStrategy is still in KEDA's schema: kubectl accepts it; we warn.
  { name: 'deprecated spec.rolloutStrategy', doc: scaledJob({ rolloutStrategy: 'gradual' }), expect: { path: '.spec.rolloutStrategy', message: 'deprecated', warning: true } },
  {
    name: 'unknown field: pendingPodConditions outside scalingStrategy',
    doc: scaledJob({ pendingPodConditions: ['Ready'] }),
    expect: { path: '.spec.pendingPodConditions', message: 'unknown field' },
  },
  {
    name: 'unknown field: rolloutStrategy in the Job spec',
    doc: scaledJob({ jobTargetRef: { rolloutStrategy: 'gradual', template: { spec: { containers: [{ name: 'c', image: 'i:1' }] } } } }),
    expect: { path: '.spec.jobTargetRef.rolloutStrategy', message: 'unknown field' },
  },
  { name: 'wrong type: rollout as a string', doc: scaledJob({ rollout: 'gradual' }), expect: { path: '.spec.rollout', message: 'must be object' } },
  {
    name: 'unknown trigger field (listLength outside metadata)',
    doc: scaledJob({ triggers: [{ type: 'redis', listLength: '5', metadata: { listName: 'events' } }] }),
    expect: { path: '.spec.triggers[0].listLength', message: 'unknown field' },
  },
  {
    name: 'trigger metadata value not a string',
    doc: scaledJob({ triggers: [{ type: 'redis', metadata: { listName: 'events', listLength: 5 } }] }),
    expect: { path: '.spec.triggers[0].metadata.listLength', message: 'must be string' },
  },
  { name: 'empty trigger type', doc: scaledJob({ triggers: [{ type: '', metadata: {} }] }), expect: { path: '.spec.triggers[0].type', message: 'fewer than 1' } },
  { name: 'no triggers', doc: scaledJob({ triggers: [] }), expect: { path: '.spec.triggers', message: 'fewer than 1' } },
  {
    name: 'unknown field deep in the pod template',
    doc: scaledJob({}, undefined, { securityContext: { runAsNonroot: true } }),
    expect: { path: '.spec.jobTargetRef.template.spec.containers[0].securityContext.runAsNonroot', message: 'unknown field' },
  },
  {
    name: 'int-or-string given a boolean',
    doc: scaledJob({}, undefined, { resources: { requests: { cpu: true } } }),
    expect: { path: '.spec.jobTargetRef.template.spec.containers[0].resources.requests.cpu', message: 'integer or a string' },
  },
  {
    name: 'duplicate list-map key (ports, protocol defaulted)',
    doc: scaledJob({}, undefined, { ports: [{ containerPort: 9090 }, { containerPort: 9090, protocol: 'TCP' }] }),
    expect: { path: '.spec.jobTargetRef.template.spec.containers[0].ports', message: 'duplicates' },
  },
  { name: 'name not a DNS-1123 subdomain', doc: scaledJob({}, { name: 'Redis_Consumer' }), expect: { path: '.metadata.name', message: 'DNS-1123' } },
  { name: 'label value not a string', doc: scaledJob({}, { name: 'consumer', labels: { replicas: 3 } }), expect: { path: '.metadata.labels.replicas', message: 'must be string' } },
  { name: 'unknown metadata field', doc: scaledJob({}, { name: 'consumer', label: { a: 'b' } }), expect: { path: '.metadata.label', message: 'unknown field' } },
  {
    name: 'unknown trigger field on a ScaledObject',
    doc: scaledObject({ triggers: [{ type: 'redis', metadata: {}, fallback: { replicas: 1 } }] }),
    expect: { path: '.spec.triggers[0].fallback', message: 'unknown field' },
  },
  { name: 'scaleTargetRef without name', doc: scaledObject({ scaleTargetRef: { kind: 'Deployment' } }), expect: { path: '.spec.scaleTargetRef.name', message: 'required' } },
  {
    name: 'PodMonitor with a ServiceMonitor field',
    doc: { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'worker' }, spec: { selector: {}, endpoints: [{ port: 'metrics' }] } },
    expect: { path: '.spec.endpoints', message: 'unknown field' },
  },
  { name: 'unserved version', doc: { ...(scaledJob() as object), apiVersion: 'keda.sh/v1beta1' }, expect: { path: '.apiVersion', message: 'not a served version' } },
  { name: 'unknown kind in a known group', doc: { ...(scaledJob() as object), kind: 'ScaledJobs' }, expect: { path: '.kind', message: 'no CRD' } },
];

/** Runs the self-check cases; returns one line per case that did not get its expected verdict (empty: all good). */
export function runSelfCheck(validator: StrictCrdValidator, cases: readonly SelfCheckCase[] = SELF_CHECK_CASES): string[] {
  const failures: string[] = [];
  const show = (issues: readonly Issue[]) => issues.map((i) => `${i.path}: ${i.message}`).join('; ') || 'none';
  for (const c of cases) {
    const r = validator.validate(c.doc);
    if (!r.handled) {
      failures.push(`${c.name}: not handled (no CRDs for its group)`);
    } else if (c.expect === 'ok') {
      if (r.errors.length > 0) failures.push(`${c.name}: expected no errors, got ${show(r.errors)}`);
    } else {
      const { path: p, message, warning } = c.expect;
      const pool = warning ? r.warnings : r.errors;
      if (!pool.some((i) => i.path === p && i.message.includes(message))) {
        failures.push(`${c.name}: expected ${warning ? 'a warning' : 'an error'} at ${p} containing "${message}", got errors: ${show(r.errors)}; warnings: ${show(r.warnings)}`);
      }
      if (warning && r.errors.length > 0) failures.push(`${c.name}: expected no errors, got ${show(r.errors)}`);
    }
  }
  return failures;
}
