/** The scaler's `/metrics`: calls by method and gRPC status, their latency, failures by method and reason. */
import { Counter, Histogram, Registry } from 'prom-client';
import { MetricLabels, ScalerErrorReasons, ScalerMetrics as Names } from '../contract';
import { ExternalScalerMethods } from './service';

export type ScalerMethod = keyof typeof ExternalScalerMethods;

/** The methods the scaler serves (StreamMetricSpec is left to grpc-js: UNIMPLEMENTED, which KEDA takes as "pull"). */
export const SERVED_METHODS = ['IsActive', 'StreamIsActive', 'GetMetricSpec', 'GetMetrics'] as const satisfies readonly ScalerMethod[];
export type ServedMethod = (typeof SERVED_METHODS)[number];

export interface ScalerMetrics {
  /** One finished call: its status name and, for unary calls, its duration. */
  call(method: ServedMethod, code: string, seconds?: number): void;
  error(method: ServedMethod, reason: string): void;
}

// A Redis GET answers in well under a millisecond: the buckets resolve the goal of 5 ms and what a deadline cuts.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createScalerMetrics(registry: Registry): ScalerMetrics {
  const calls = new Counter({
    name: Names.CALLS,
    help: 'gRPC calls answered, by method and status code (a StreamIsActive call counts when it ends)',
    labelNames: [MetricLabels.METHOD, MetricLabels.CODE],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: Names.CALL_SECONDS,
    help: 'Seconds from a unary call to its answer, by method',
    labelNames: [MetricLabels.METHOD],
    buckets: BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: Names.ERRORS,
    help: 'Failed calls by method and reason (stale, missing, unreadable, horizon, redis, deadline, metadata, internal)',
    labelNames: [MetricLabels.METHOD, MetricLabels.REASON],
    registers: [registry],
  });
  // Every series from the start, so rate() and increase() see the first call and the first error.
  for (const method of SERVED_METHODS) {
    calls.labels(method, 'OK').inc(0);
    for (const reason of Object.values(ScalerErrorReasons)) errors.labels(method, reason).inc(0);
  }
  // The labelled children, looked up once: prom-client hashes the labels on every labels() call.
  const callsOf = new Map<string, Counter.Internal>();
  const secondsOf = new Map<string, Histogram.Internal<string>>();
  const errorsOf = new Map<string, Counter.Internal>();
  const child = <T>(cache: Map<string, T>, key: string, make: () => T): T => {
    let found = cache.get(key);
    if (!found) cache.set(key, (found = make()));
    return found;
  };
  return {
    call: (method, code, duration) => {
      child(callsOf, `${method} ${code}`, () => calls.labels(method, code)).inc();
      if (duration !== undefined) child(secondsOf, method, () => seconds.labels(method)).observe(duration);
    },
    error: (method, reason) => child(errorsOf, `${method} ${reason}`, () => errors.labels(method, reason)).inc(),
  };
}
