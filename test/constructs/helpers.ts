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
