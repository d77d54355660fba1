/**
 * Prometheus metrics of the runtime commands, named in contract.ts. Each command builds its own
 * registry, so programmatic users and tests can run several consumers in one process.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Metrics } from './contract';

/** A registry with the Node process metrics (CPU, memory, event loop lag) already in it. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface ConsumerMetrics {
  /** Events handled and acknowledged. */
  readonly processed: Counter;
  /** Events whose handler threw. */
  readonly failed: Counter;
  /** Events moved to the dead-letter list, by `reason` (malformed, handler-failed, ...). */
  readonly deadLettered: Counter<'reason'>;
  /** Expired leases this process requeued. */
  readonly redelivered: Counter;
  /** Handler run time, successful or not. */
  readonly processingSeconds: Histogram;
}

export function createConsumerMetrics(registry: Registry = new Registry()): ConsumerMetrics {
  return {
    processed: new Counter({ name: Metrics.PROCESSED, help: 'Events handled and acknowledged.', registers: [registry] }),
    failed: new Counter({ name: Metrics.FAILED, help: 'Events whose handler threw.', registers: [registry] }),
    deadLettered: new Counter({
      name: Metrics.DEAD_LETTERED,
      help: 'Events moved to the dead-letter list, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    redelivered: new Counter({ name: Metrics.REDELIVERED, help: 'Expired leases requeued by this process.', registers: [registry] }),
    processingSeconds: new Histogram({
      name: Metrics.PROCESSING_SECONDS,
      help: 'Time the handler took per event.',
      // The demo's events take 10-20 s; real handlers are often far shorter.
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
  };
}

export interface PublisherMetrics {
  readonly published: Counter;
}

export function createPublisherMetrics(registry: Registry = new Registry()): PublisherMetrics {
  return { published: new Counter({ name: Metrics.PUBLISHED, help: 'Events pushed onto the list.', registers: [registry] }) };
}
