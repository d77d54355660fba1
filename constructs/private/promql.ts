/**
 * PromQL pieces the dashboards and alert rules share, so a series is selected the same way in both.
 * Our pods are scraped with the target labels a PodMonitor (or kube-prometheus-stack's pod discovery)
 * attaches: `namespace` and `pod`. A workload's pods are named `<name>-<hash>-<suffix>` (a Deployment's
 * ReplicaSet, or a ScaledJob's Job), so `podPattern(name)` selects one workload's pods and no other's.
 */

/** `name="value"` matchers, in the order given, values escaped for a PromQL string. */
export function matchers(labels: Record<string, string | { readonly regex: string }>): string {
  return Object.entries(labels)
    .map(([name, value]) => (typeof value === 'string' ? `${name}="${escape(value)}"` : `${name}=~"${escape(value.regex)}"`))
    .join(', ');
}

/** `metric{matchers}`. */
export function series(metric: string, labels: Record<string, string | { readonly regex: string }> = {}): string {
  const inner = matchers(labels);
  return inner ? `${metric}{${inner}}` : metric;
}

/** A regex matching the pods of the Deployment or ScaledJob named `name`, and no other workload's. */
export function podPattern(name: string): { readonly regex: string } {
  return { regex: `${regexQuote(name)}-[a-z0-9]+-[a-z0-9]+` };
}

/** A regex matching the pods of the StatefulSet named `name` (`<name>-<ordinal>`), and no other workload's. */
export function statefulSetPodPattern(name: string): { readonly regex: string } {
  return { regex: `${regexQuote(name)}-[0-9]+` };
}

/** A regex matching the names of the Jobs a ScaledJob named `name` starts (`<name>-<suffix>`). */
export function jobNamePattern(name: string): { readonly regex: string } {
  return { regex: `${regexQuote(name)}-[a-z0-9]+` };
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function regexQuote(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
