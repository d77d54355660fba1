import { App, Chart, Testing } from 'cdk8s';

/** A chart in the namespace a real deployment would have; `null` for a chart without one. */
export function testChart(namespace: string | null = 'test-ns'): Chart {
  return new Chart(Testing.app(), 'test', { namespace: namespace ?? undefined });
}

export type Doc = Record<string, any>;

export function synth(chart: Chart): Doc[] {
  return Testing.synth(chart) as Doc[];
}

export function only(docs: Doc[], kind: string): Doc {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}: ${docs.map((d) => d.kind).join(', ')}`);
  return found[0];
}

export function all(docs: Doc[], kind: string): Doc[] {
  return docs.filter((d) => d.kind === kind);
}

/** The env of a container as name -> value | valueFrom. */
export function envOf(container: Doc): Record<string, any> {
  return Object.fromEntries((container.env ?? []).map((e: Doc) => [e.name, e.value ?? e.valueFrom]));
}

export function appWithContext(context: Record<string, unknown>): App {
  return Testing.app({ context } as any);
}

/**
 * The environment a container of a rendered pod would see, for running the program as Kubernetes
 * would: literal values, `fieldRef: metadata.name` as `podName`, `secretKeyRef` from `secrets`
 * (`"<secret>/<key>"` -> value). Any other source fails, so a test never runs with a variable missing.
 */
export function podEnv(container: Doc, options: { podName: string; secrets?: Record<string, string> }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = options.podName;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      if (options.secrets?.[ref] === undefined) throw new Error(`env ${e.name}: no value given for Secret key ${ref}`);
      env[e.name] = options.secrets[ref];
    } else throw new Error(`env ${e.name}: cannot resolve ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}
