/**
 * Unknown-field detection for core Kubernetes objects, the part of `kubectl --validate=strict` that the
 * kubernetes-models validators skip (their schemas allow additional properties).
 *
 * kubernetes-models ships its field lists only as TypeScript declarations (`<group>/<version>/<Kind>.d.ts`,
 * interface `I<Kind>` and the `IIoK8s...` interfaces it references), so the TypeScript compiler reads them and a
 * document is walked along the declared types: a key that the declared object type neither names nor allows by
 * an index signature (`{ [key: string]: T }`, e.g. labels) is an unknown field. Values typed `any`, `object` or
 * `{}` (free-form JSON, RawExtension) are not descended into; type mismatches are left to the upstream validator.
 */
import * as path from 'path';
import * as ts from 'typescript';
import type { KubeObject } from './load-dist';
import { modelFor, modelModuleFor } from './upstream-models';

export class CoreFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly program: ts.Program;
  private readonly rootTypes = new Map<string, ts.Type | undefined>();

  /** `specifiers`: model modules such as `kubernetes-models/apps/v1/Deployment` (all loaded in one program). */
  constructor(specifiers: readonly string[]) {
    const files = [...new Set(specifiers)].map((s) => declarationFileOf(s));
    this.program = ts.createProgram(files, {
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      types: [],
      lib: ['lib.es2022.d.ts'],
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    this.checker = this.program.getTypeChecker();
  }

  /** A checker for every core (kubernetes-models) kind among `docs`. */
  static forDocuments(docs: ReadonlyArray<KubeObject>): CoreFieldChecker {
    const specs = docs.map((d) => coreModelModule(d)).filter((s): s is string => s !== undefined);
    return new CoreFieldChecker(specs);
  }

  /**
   * JSON paths of the fields of `doc` that its declared type does not know, e.g. `.spec.template.spec.containers[0].resource`.
   * Throws when the document's kind is not a kubernetes-models kind (validate those elsewhere).
   */
  unknownFields(doc: KubeObject): string[] {
    const spec = coreModelModule(doc);
    if (!spec) throw new Error(`${String(doc.apiVersion)} ${String(doc.kind)} is not a kubernetes-models kind`);
    const type = this.rootType(spec, String(doc.kind));
    if (!type) throw new Error(`no interface I${String(doc.kind)} in ${declarationFileOf(spec)}`);
    const out: string[] = [];
    this.walk(doc, type, '', out);
    return out;
  }

  private rootType(specifier: string, kind: string): ts.Type | undefined {
    const key = `${specifier}|${kind}`;
    if (!this.rootTypes.has(key)) {
      const sf = this.program.getSourceFile(declarationFileOf(specifier));
      const moduleSymbol = sf && this.checker.getSymbolAtLocation(sf);
      const iface = moduleSymbol && this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `I${kind}`);
      this.rootTypes.set(key, iface && this.checker.getDeclaredTypeOfSymbol(iface));
    }
    return this.rootTypes.get(key);
  }

  private walk(value: unknown, declared: ts.Type, at: string, out: string[]): void {
    if (value === null || value === undefined) return;
    const type = this.checker.getNonNullableType(declared);
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) {
      const members = type.types;
      if (Array.isArray(value)) {
        const arr = members.find((t) => this.checker.isArrayType(t));
        if (arr) this.walk(value, arr, at, out);
      } else if (isPlainObject(value)) {
        // Pick the object member that leaves the fewest unknown fields.
        let best: string[] | undefined;
        for (const m of members.filter((t) => t.flags & ts.TypeFlags.Object && !this.checker.isArrayType(t))) {
          const attempt: string[] = [];
          this.walk(value, m, at, attempt);
          if (!best || attempt.length < best.length) best = attempt;
        }
        if (best) out.push(...best);
      }
      return;
    }
    if (Array.isArray(value)) {
      if (!this.checker.isArrayType(type)) return;
      const element = this.checker.getTypeArguments(type as ts.TypeReference)[0];
      value.forEach((item, i) => this.walk(item, element, `${at}[${i}]`, out));
      return;
    }
    if (!isPlainObject(value) || !(type.flags & ts.TypeFlags.Object)) return;
    const props = new Map(this.checker.getPropertiesOfType(type).map((p) => [p.name, p]));
    const index = this.checker.getIndexTypeOfType(type, ts.IndexKind.String);
    if (props.size === 0 && !index) return; // object / {}: free-form
    for (const [key, v] of Object.entries(value)) {
      const child = at + (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
      const p = props.get(key);
      if (p) {
        const decl = p.valueDeclaration ?? p.declarations?.[0];
        this.walk(v, decl ? this.checker.getTypeOfSymbolAtLocation(p, decl) : this.checker.getAnyType(), child, out);
      } else if (index) {
        this.walk(v, index, child, out);
      } else {
        out.push(child);
      }
    }
  }
}

/** The kubernetes-models module of a core (non-CRD) document, or undefined for KEDA, Prometheus-Operator and unknown kinds. */
export function coreModelModule(doc: KubeObject): string | undefined {
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') return undefined;
  const spec = modelModuleFor(doc.apiVersion, doc.kind);
  if (!spec || !spec.startsWith('kubernetes-models/') || !modelFor(doc.apiVersion, doc.kind)) return undefined;
  return spec;
}

function declarationFileOf(specifier: string): string {
  return require.resolve(specifier).replace(/\.js$/, '.d.ts').split(path.sep).join('/');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
