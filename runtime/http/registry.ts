/**
 * The Prometheus registry each long-running command serves on /metrics. One per command (not
 * prom-client's global one), so programmatic users and tests can run several in one process.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry with the Node process metrics (CPU, memory, event loop lag) already in it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
