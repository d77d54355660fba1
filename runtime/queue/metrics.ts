/** Prometheus metrics of the queue's consumer and publisher, named in the contract. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DEAD_LETTER_REASONS, MetricLabels, Metrics, QUEUE_STATES } from '../contract';
import { createRejectedCounter } from '../redis/queue-full';

/** The counts of a queue's parts, as `queue stats` prints them. */
export interface QueueDepth {
  readonly ready: number;
  readonly inflight: number;
  readonly delayed: number;
  readonly dead: number;
}

/** What the gauges read at each scrape (not on the hot path). */
export interface GaugeSource {
  /** Events this process holds. */
  inFlight(): number;
  /** The queue's depth, or undefined when it cannot be read now (Redis away): the last values stay. */
  depth(): Promise<QueueDepth | undefined>;
}

export interface ConsumerMetrics {
  /** Events handled and acknowledged. */
  readonly processed: Counter;
  /** Handler runs that threw. */
  readonly failed: Counter;
  /** Failed events scheduled for a retry. */
  readonly retried: Counter;
  /** Events moved to the dead-letter list, by `reason` (malformed, handler-failed, max-deliveries). */
  readonly deadLettered: Counter<'reason'>;
  /** Expired leases this process requeued. */
  readonly redelivered: Counter;
  /** Handler run time, successful or not. */
  readonly processingSeconds: Histogram;
  /** enqueuedAt (the publisher's clock) to acknowledgement, for events that carry enqueuedAt. */
  readonly latencySeconds: Histogram;
  readonly inFlight: Gauge;
  /** Queue depth by `state`: ready, inflight, delayed, dead; read from Redis on scrape. */
  readonly queueDepth: Gauge<'state'>;
  /** Connects the gauges to a running consumer. */
  watch(source: GaugeSource): void;
}

export function createConsumerMetrics(registry: Registry = new Registry()): ConsumerMetrics {
  let source: GaugeSource | undefined;
  const deadLettered = new Counter({
    name: Metrics.DEAD_LETTERED,
    help: 'Events moved to the dead-letter list, by reason.',
    labelNames: [MetricLabels.REASON],
    registers: [registry],
  });
  // Every reason's series from the first scrape: a series born at 1 has no increase, so rate() > 0 would miss the first dead letters.
  for (const reason of DEAD_LETTER_REASONS) deadLettered.inc({ reason }, 0);
  return {
    processed: new Counter({ name: Metrics.PROCESSED, help: 'Events handled and acknowledged.', registers: [registry] }),
    failed: new Counter({ name: Metrics.FAILED, help: 'Handler runs that threw.', registers: [registry] }),
    retried: new Counter({ name: Metrics.RETRIED, help: 'Failed events scheduled for a retry with backoff.', registers: [registry] }),
    deadLettered,
    redelivered: new Counter({ name: Metrics.REDELIVERED, help: 'Expired leases requeued by this process.', registers: [registry] }),
    processingSeconds: new Histogram({
      name: Metrics.PROCESSING_SECONDS,
      help: 'Time the handler took per event.',
      // From no-op handlers to the demo's 10-20 s events.
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    latencySeconds: new Histogram({
      name: Metrics.LATENCY_SECONDS,
      help: 'Time from enqueuedAt to acknowledgement, for events that carry enqueuedAt.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: Metrics.IN_FLIGHT,
      help: 'Events this process holds.',
      registers: [registry],
      collect() {
        this.set(source?.inFlight() ?? 0);
      },
    }),
    queueDepth: new Gauge({
      name: Metrics.QUEUE_DEPTH,
      help: 'Events in each part of the queue (one MULTI per scrape).',
      labelNames: [MetricLabels.STATE],
      registers: [registry],
      async collect() {
        const depth = await source?.depth().catch(() => undefined);
        if (depth) for (const state of QUEUE_STATES) this.set({ state }, depth[state]);
      },
    }),
    watch: (s) => (source = s),
  };
}

export interface PublisherMetrics {
  readonly published: Counter;
  /** Events Redis refused because it was at maxmemory (the queue was full). */
  readonly rejected: Counter;
  /** The target rate in events per second; only a paced publisher has it. */
  readonly targetRate?: Gauge;
}

/** The publisher's metrics; `paced` adds the target-rate gauge. */
export function createPublisherMetrics(registry: Registry = new Registry(), paced = false): PublisherMetrics {
  return {
    published: new Counter({ name: Metrics.PUBLISHED, help: 'Events pushed onto the list.', registers: [registry] }),
    rejected: createRejectedCounter(registry),
    targetRate: paced ? new Gauge({ name: Metrics.PUBLISH_TARGET_RATE, help: 'Events per second the publisher aims at (0: paused).', registers: [registry] }) : undefined,
  };
}
