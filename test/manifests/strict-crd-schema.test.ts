/**
 * The strict CRD validator behind `npm run validate:strict`, tested on a small in-memory CRD that uses every
 * Kubernetes extension the validator interprets, so these tests need no ../shared. The script's self-check
 * against the real KEDA and Prometheus-Operator CRDs runs in `npm run validate:strict`.
 */
import * as yaml from 'js-yaml';
import { goRegExp, isQualifiedName, pointerToPath, StrictCrdValidator } from '../../scripts/strict-crd-schema';

const CRD = yaml.load(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: scaledwidgets.example.com
spec:
  group: example.com
  names: { kind: ScaledWidget, plural: scaledwidgets }
  scope: Namespaced
  versions:
  - name: v1beta1
    served: false
    storage: false
    schema:
      openAPIV3Schema: { type: object }
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: { type: string }
          kind: { type: string }
          metadata: { type: object }
          spec:
            type: object
            required: [triggers]
            x-kubernetes-validations:
            - rule: '!has(self.minReplicaCount) || self.minReplicaCount <= self.maxReplicaCount'
              message: minReplicaCount must be less than or equal to maxReplicaCount
            properties:
              rolloutStrategy:
                description: 'Deprecated: Use Rollout.Strategy instead.'
                type: string
                enum: [gradual, immediate]
              rollout:
                type: object
                properties:
                  strategy: { type: string, enum: [gradual, immediate] }
              minReplicaCount: { type: integer, format: int32 }
              maxReplicaCount: { type: integer, format: int32 }
              cpu:
                anyOf: [{ type: integer }, { type: string }]
                pattern: '^[0-9]+m?$'
                x-kubernetes-int-or-string: true
              port:
                x-kubernetes-int-or-string: true
              since: { type: string, format: date-time }
              caBundle: { type: string, format: byte }
              onError: { type: string, pattern: '^(?i)(abort|warn)?$' }
              note: { type: string, nullable: true }
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  known: { type: string }
              template:
                type: object
                x-kubernetes-embedded-resource: true
                properties:
                  spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
              labels:
                type: object
                additionalProperties: { type: string }
                x-kubernetes-map-type: atomic
              empty: { type: object }
              tags:
                type: array
                items: { type: string }
                x-kubernetes-list-type: set
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [containerPort, protocol]
                items:
                  type: object
                  required: [containerPort]
                  properties:
                    containerPort: { type: integer, format: int32 }
                    protocol: { type: string, default: TCP }
              triggers:
                type: array
                minItems: 1
                items:
                  type: object
                  required: [type, metadata]
                  properties:
                    type: { type: string, minLength: 1 }
                    metadata: { type: object, additionalProperties: { type: string } }
          status:
            type: object
            properties:
              ready: { type: boolean }
`) as object;

const validator = new StrictCrdValidator([{ crd: CRD }]);

function widget(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = { name: 'w' }): Record<string, unknown> {
  return { apiVersion: 'example.com/v1', kind: 'ScaledWidget', metadata, spec: { triggers: [{ type: 'redis', metadata: { listName: 'events' } }], ...spec } };
}

const errorsOf = (doc: unknown) => validator.validate(doc).errors.map((e) => `${e.path}: ${e.message}`);

describe('StrictCrdValidator on an in-memory CRD', () => {
  test('a valid document passes', () => {
    expect(
      validator.validate(
        widget(
          {
            rollout: { strategy: 'gradual' },
            minReplicaCount: 0,
            maxReplicaCount: 10,
            cpu: '100m',
            port: 'http',
            since: '2026-08-20T10:00:00Z',
            caBundle: 'aGVsbG8=',
            onError: 'WARN',
            note: null,
            extra: { known: 'x', anything: { goes: [1, 2] } },
            template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { whatever: true } },
            labels: { a: 'b' },
            empty: {},
            tags: ['a', 'b'],
            ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'UDP' }],
          },
          { name: 'w.example', namespace: 'demo', labels: { 'app.kubernetes.io/name': 'w' }, annotations: { note: 'free text: ok' } },
        ),
      ),
    ).toEqual({ handled: true, errors: [], warnings: [] });
  });

  test('an unknown field in the spec is reported (objects with properties are closed)', () => {
    expect(errorsOf(widget({ rolloutStrateg: 'gradual' }))).toEqual(['.spec.rolloutStrateg: unknown field']);
  });

  test('unknown fields are reported at any depth, each one', () => {
    expect(errorsOf(widget({ rollout: { strategy: 'gradual', maxSurge: 1 }, triggers: [{ type: 'redis', metadata: {}, listLength: '5' }] }))).toEqual([
      '.spec.rollout.maxSurge: unknown field',
      '.spec.triggers[0].listLength: unknown field',
    ]);
  });

  test('an object schema without properties accepts no fields', () => {
    expect(errorsOf(widget({ empty: { a: 1 } }))).toEqual(['.spec.empty.a: unknown field']);
  });

  test('unknown top-level fields are reported', () => {
    expect(errorsOf({ ...widget(), specs: {} })).toEqual(['.specs: unknown field']);
  });

  test('x-kubernetes-preserve-unknown-fields keeps unknown fields but still checks the known ones', () => {
    expect(errorsOf(widget({ extra: { known: 1, other: 1 } }))).toEqual(['.spec.extra.known: must be string']);
  });

  test('x-kubernetes-int-or-string accepts integers and strings only (with or without anyOf in the CRD)', () => {
    expect(errorsOf(widget({ cpu: 2, port: 8080 }))).toEqual([]);
    expect(errorsOf(widget({ cpu: true, port: 1.5 }))).toEqual([
      '.spec.cpu: must be an integer or a string (or match one of the allowed shapes)',
      '.spec.port: must be an integer or a string (or match one of the allowed shapes)',
    ]);
    expect(errorsOf(widget({ cpu: '1.5 cores' }))).toEqual(['.spec.cpu: must match pattern "^[0-9]+m?$"']);
  });

  test('x-kubernetes-embedded-resource requires apiVersion and kind and allows metadata', () => {
    expect(errorsOf(widget({ template: { metadata: {}, spec: {} } }))).toEqual([
      '.spec.template.apiVersion: required field is missing',
      '.spec.template.kind: required field is missing',
    ]);
    expect(errorsOf(widget({ template: { apiVersion: 'v1', kind: 'Pod', status: {} } }))).toEqual(['.spec.template.status: unknown field']);
  });

  test('list-type map rejects duplicate keys, counting a missing key as its default', () => {
    expect(errorsOf(widget({ ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'TCP' }] }))).toEqual([
      '.spec.ports: [1] duplicates [0]: same key (containerPort, protocol) = [80,"TCP"]',
    ]);
  });

  test('list-type set rejects duplicates', () => {
    expect(errorsOf(widget({ tags: ['a', 'a'] }))).toEqual([expect.stringMatching(/^\.spec\.tags: must NOT have duplicate items/)]);
  });

  test('formats: int32 range, date-time, byte', () => {
    expect(errorsOf(widget({ maxReplicaCount: 2 ** 31, since: 'yesterday', caBundle: 'not base64!' }))).toEqual([
      '.spec.maxReplicaCount: must match format "int32"',
      '.spec.since: must match format "date-time"',
      '.spec.caBundle: must match format "byte"',
    ]);
  });

  test('types, enums, required fields and minItems', () => {
    expect(errorsOf(widget({ minReplicaCount: '1', rollout: { strategy: 'sometimes' }, note: 3 }))).toEqual([
      '.spec.rollout.strategy: must be one of: "gradual", "immediate"',
      '.spec.minReplicaCount: must be integer',
      '.spec.note: must be string,null',
    ]);
    expect(errorsOf(widget({ triggers: [] }))).toEqual(['.spec.triggers: must NOT have fewer than 1 items']);
    expect(errorsOf({ apiVersion: 'example.com/v1', kind: 'ScaledWidget', metadata: { name: 'w' }, spec: {} })).toEqual(['.spec.triggers: required field is missing']);
  });

  test('Go regexp inline flags work: (?i) makes the pattern case-insensitive', () => {
    expect(errorsOf(widget({ onError: 'Abort' }))).toEqual([]);
    expect(errorsOf(widget({ onError: 'retry' }))).toEqual(['.spec.onError: must match pattern "^(?i)(abort|warn)?$"']);
    expect(goRegExp('^(?i)ab$', 'u').test('AB')).toBe(true);
    expect(goRegExp('^ab$', 'u').test('AB')).toBe(false);
  });

  test('top-level metadata: name required, a DNS-1123 subdomain; labels and annotations string maps', () => {
    expect(errorsOf(widget({}, {}))).toEqual(['.metadata.name: required field is missing']);
    expect(errorsOf(widget({}, { name: 'Bad_Name', namespace: 'Demo', labels: { tier: 1, ok: 'not ok', 'a/b/c': 'x' }, annotations: { n: false }, bogus: 1 }))).toEqual([
      '.metadata.bogus: unknown field',
      ".metadata.name: must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; start and end with a letter or digit)",
      ".metadata.namespace: must be a DNS-1123 label (lowercase letters, digits and '-'; start and end with a letter or digit)",
      '.metadata.labels["a/b/c"]: invalid key (must be a qualified name: [prefix/]name)',
      '.metadata.labels.tier: must be string',
      ".metadata.labels.ok: must be a valid label value (letters, digits, '-', '_', '.'; start and end with a letter or digit)",
      '.metadata.annotations.n: must be string',
    ]);
  });

  test('a deprecated field is a warning, not an error', () => {
    expect(validator.validate(widget({ rolloutStrategy: 'gradual' }))).toEqual({
      handled: true,
      errors: [],
      warnings: [{ path: '.spec.rolloutStrategy', message: 'deprecated field: Deprecated: Use Rollout.Strategy instead.' }],
    });
  });

  test('CEL rules are listed as not evaluated', () => {
    expect(validator.uncheckedRules).toEqual([
      expect.objectContaining({ crd: 'scaledwidgets.example.com', version: 'v1', path: '.spec', message: 'minReplicaCount must be less than or equal to maxReplicaCount' }),
    ]);
  });

  test('versions, kinds and groups', () => {
    expect(validator.kinds()).toEqual(['example.com/v1 ScaledWidget']);
    expect(errorsOf({ ...widget(), apiVersion: 'example.com/v1beta1' })).toEqual([
      '.apiVersion: example.com/v1beta1 is not a served version of ScaledWidget (served: example.com/v1)',
    ]);
    expect(errorsOf({ ...widget(), kind: 'Gadget' })).toEqual(['.kind: no CRD for kind "Gadget" in group example.com (known: ScaledWidget)']);
    expect(validator.validate({ apiVersion: 'apps/v1', kind: 'Deployment' })).toEqual({ handled: false, errors: [], warnings: [] });
    expect(validator.validate({ apiVersion: 'v1', kind: 'Service' }).handled).toBe(false);
    expect(validator.validate('text').errors).toEqual([{ path: '.', message: 'document is not an object' }]);
  });

  test('a CRD without a schema is refused', () => {
    expect(() => new StrictCrdValidator([{ crd: { metadata: { name: 'x' }, spec: { group: 'g', names: { kind: 'K' }, versions: [{ name: 'v1', served: true }] } } }])).toThrow(
      'no schema.openAPIV3Schema',
    );
  });
});

describe('helpers', () => {
  test('pointerToPath', () => {
    expect(pointerToPath('')).toBe('.');
    expect(pointerToPath('/spec/triggers/0/metadata')).toBe('.spec.triggers[0].metadata');
    expect(pointerToPath('/metadata/labels/app.kubernetes.io~1name')).toBe('.metadata.labels["app.kubernetes.io/name"]');
  });

  test.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['a/b/c', false],
    ['/name', false],
    ['Prefix.io/x', false],
    ['-x', false],
    ['x'.repeat(64), false],
  ])('isQualifiedName(%s) = %s', (k, ok) => {
    expect(isQualifiedName(k as string)).toBe(ok);
  });
});
// The self-check against the real CRDs in ../shared runs in `npm run validate:strict` (CI), not here:
// `npm test` must pass on a machine that has only the project.
