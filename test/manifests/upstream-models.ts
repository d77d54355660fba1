/**
 * Validation against the upstream schemas published on npm as kubernetes-models packages:
 * core Kubernetes (kubernetes-models 4.5.1), KEDA (@kubernetes-models/keda 0.4.2) and Prometheus-Operator
 * (@kubernetes-models/prometheus-operator 4.4.4). Each package has one CommonJS module per kind at
 * `<package>/<group>/<version>/<Kind>` (core group: `kubernetes-models/v1/<Kind>`), exporting a class whose
 * `validate()` runs a precompiled Ajv validator and throws with every error.
 *
 * What these validators check: types, required fields, enums, patterns and formats. What they do not: unknown
 * fields (the generated schemas allow additional properties), so a misspelt field passes here. For KEDA and
 * Prometheus-Operator objects `npm run validate:strict` covers that against the CRDs; for core objects
 * `CoreFieldChecker` in core-fields.ts does.
 */

import type { KubeObject } from './load-dist';

/** API group -> npm package holding its models. Groups not listed come from kubernetes-models. */
const PACKAGE_BY_GROUP: Readonly<Record<string, string>> = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/** Shape of a generated model class. */
export interface ModelClass {
  new (data: object): { validate(): void };
  readonly apiVersion?: string;
  readonly kind?: string;
}

/** The module specifier that would hold the model of `apiVersion`/`kind`, or undefined when the names are malformed. */
export function modelModuleFor(apiVersion: string, kind: string): string | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  const m = /^(?:([a-z0-9.-]+)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/.exec(apiVersion);
  if (!m) return undefined;
  const [, group, version] = m;
  if (!group) return `kubernetes-models/${version}/${kind}`;
  return `${PACKAGE_BY_GROUP[group] ?? 'kubernetes-models'}/${group}/${version}/${kind}`;
}

/**
 * The model class for an apiVersion/kind, or undefined when no installed package has one. A module is accepted only
 * when its class declares exactly that apiVersion and kind (so `v1/PodSpec`, a nested type, is not a model of a kind).
 */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const specifier = modelModuleFor(apiVersion, kind);
  if (!specifier) return undefined;
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(specifier) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' || /Cannot find module/.test((e as Error).message)) return undefined;
    throw e;
  }
  const cls = mod[kind] as ModelClass | undefined;
  if (typeof cls !== 'function' || cls.apiVersion !== apiVersion || cls.kind !== kind) return undefined;
  return cls;
}

/**
 * Errors of `doc` against its upstream model; an empty list when valid. A document whose apiVersion/kind has no
 * model is an error, never a silent pass.
 */
export function upstreamErrors(doc: KubeObject): string[] {
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    return ['apiVersion and kind must be strings'];
  }
  const cls = modelFor(doc.apiVersion, doc.kind);
  if (!cls) {
    return [
      `no upstream schema for ${doc.apiVersion} ${doc.kind} (module ${modelModuleFor(doc.apiVersion, doc.kind) ?? '-'} not found); ` +
        'add its model package or do not emit this kind',
    ];
  }
  try {
    new cls(doc).validate();
    return [];
  } catch (e) {
    const err = e as Error & { errors?: Array<{ instancePath?: string; message?: string; params?: unknown }> };
    if (Array.isArray(err.errors) && err.errors.length > 0) {
      return err.errors.map((x) => `${x.instancePath || '/'}: ${x.message ?? 'invalid'}${x.params ? ` ${JSON.stringify(x.params)}` : ''}`);
    }
    return [err.message];
  }
}
