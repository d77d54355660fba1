/**
 * `redis-keda scaler`'s gRPC server: KEDA's ExternalScaler answered from the forecasts in Redis.
 *   GetMetricSpec: from the trigger metadata alone (KEDA's fallback cannot cover a failing GetMetricSpec):
 *     metric forecast-<workload>, target 1, so the metric's value is the replica count.
 *   GetMetrics: the largest desired replica count over [now, now + leadTime] of the workload's forecast.
 *   IsActive: whether that count is above 0. StreamIsActive: the same, sent at once and then on every change.
 * A stale, missing, unreadable or too short forecast, bad metadata, Redis down or a call past the deadline is a
 * gRPC error (never a made-up number), so KEDA's fallback applies; codes in errors.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'perf_hooks';
import { forecastMetricName } from '../contract';
import type { Logger } from '../log';
import { asScalerError, codeName, ScalerError } from './errors';
import { checkFresh, leadTimeMax } from './forecast-record';
import { parseTriggerMetadata, TriggerMetadata } from './metadata';
import type { ScalerMetrics, ServedMethod } from './metrics';
import type { ForecastReader, ReadForecast } from './reader';
import { externalScalerService, GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, ScaledObjectRef } from './service';

export interface ScalerOptions {
  readonly reader: ForecastReader;
  readonly metrics: ScalerMetrics;
  readonly log: Logger;
  /** Milliseconds a call may take. */
  readonly deadlineMs: number;
  /** Seconds; when the trigger metadata gives no staleAfter. */
  readonly staleAfterSeconds: number;
  /** Milliseconds between two checks of a StreamIsActive call. */
  readonly streamIntervalMs: number;
  readonly now?: () => number;
}

/** Fails with `deadline` unless `work` settles within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScalerError('deadline', `no answer within the scaler's deadline of ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

export interface ScalerService {
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Ends every open StreamIsActive call (OK), so a graceful shutdown need not wait for KEDA to hang up. */
  endStreams(): void;
}

export function createScalerService(options: ScalerOptions): ScalerService {
  const now = options.now ?? Date.now;
  const { reader, metrics, log } = options;
  // What each workload's last call ended with: a change is logged once, not every call (KEDA asks often).
  const lastOutcome = new Map<string, string>();
  const streams = new Set<grpc.ServerWritableStream<ScaledObjectRef, IsActiveResponse>>();

  const note = (workload: string | undefined, outcome: ScalerError | 'ok') => {
    if (workload === undefined) return;
    const key = outcome === 'ok' ? 'ok' : outcome.reason;
    if (lastOutcome.get(workload) === key) return;
    const first = !lastOutcome.has(workload);
    lastOutcome.set(workload, key);
    if (outcome === 'ok') {
      if (!first) log.info('forecast usable again', { workload });
    } else log.warn('forecast not usable', { workload, reason: outcome.reason, code: codeName(outcome.code), error: outcome.message });
  };

  /**
   * The lead-time maximum of the workload's forecast, reading again once when a kept read fails the checks. Only a
   * read from Redis can be slow, so only that runs under the deadline (a kept forecast answers at once, and a timer
   * per call would be most of what the call costs).
   */
  const desired = async (meta: TriggerMetadata): Promise<number> => {
    const assess = (read: ReadForecast) => {
      const at = now();
      checkFresh(read.forecast, at, meta.staleAfterSeconds ?? options.staleAfterSeconds);
      return leadTimeMax(read.forecast, at, meta.leadTimeSeconds ?? read.forecast.leadTime);
    };
    const first = reader.kept(meta.workload) ?? (await withDeadline(reader.read(meta.workload), options.deadlineMs));
    try {
      return assess(first);
    } catch (error) {
      if (!first.cached) throw error;
      return assess(await withDeadline(reader.read(meta.workload, true), options.deadlineMs));
    }
  };

  const workloadOf = (ref: ScaledObjectRef | undefined) => ref?.scalerMetadata?.workload;

  function unary<Req, Res>(method: ServedMethod, ref: (req: Req) => ScaledObjectRef | undefined, body: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const started = performance.now();
      body(call.request).then(
        (response) => {
          metrics.call(method, 'OK', (performance.now() - started) / 1000);
          callback(null, response);
        },
        (caught: unknown) => {
          const error = asScalerError(caught);
          metrics.call(method, codeName(error.code), (performance.now() - started) / 1000);
          metrics.error(method, error.reason);
          if (error.reason === 'internal') log.error('scaler call failed', { method, error: error.message });
          note(workloadOf(ref(call.request)), error);
          callback({ code: error.code, details: error.message });
        },
      );
    };
  }

  const getMetricSpec = async (ref: ScaledObjectRef): Promise<GetMetricSpecResponse> => {
    const { workload } = parseTriggerMetadata(ref.scalerMetadata);
    // Target 1 (targetSizeFloat; the int field for older KEDA): the HPA's desired count is the value itself.
    return { metricSpecs: [{ metricName: forecastMetricName(workload), targetSize: 1, targetSizeFloat: 1 }] };
  };

  const getMetrics = async (request: GetMetricsRequest): Promise<GetMetricsResponse> => {
    const meta = parseTriggerMetadata(request.scaledObjectRef?.scalerMetadata);
    const { workload } = meta;
    const metricName = forecastMetricName(workload);
    if (request.metricName !== '' && request.metricName !== metricName) {
      throw new ScalerError('metadata', `metric '${request.metricName}' is not this trigger's: workload '${workload}' serves '${metricName}'`);
    }
    const replicas = await desired(meta);
    note(workload, 'ok');
    return { metricValues: [{ metricName, metricValue: Math.round(replicas), metricValueFloat: replicas }] };
  };

  const isActive = async (ref: ScaledObjectRef): Promise<IsActiveResponse> => {
    const meta = parseTriggerMetadata(ref?.scalerMetadata);
    const replicas = await desired(meta);
    note(meta.workload, 'ok');
    return { result: replicas > 0 };
  };

  const streamIsActive = (call: grpc.ServerWritableStream<ScaledObjectRef, IsActiveResponse>) => {
    let last: boolean | undefined;
    let timer: NodeJS.Timeout | undefined;
    let open = true;
    streams.add(call);
    const close = (code: string, error?: ScalerError) => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      streams.delete(call);
      metrics.call('StreamIsActive', code);
      if (error) metrics.error('StreamIsActive', error.reason);
    };
    call.on('cancelled', () => close('CANCELLED'));
    call.on('close', () => close('OK'));
    const check = () => {
      isActive(call.request).then(
        ({ result }) => {
          if (!open) return;
          if (result !== last) {
            last = result;
            call.write({ result });
          }
          timer = setTimeout(check, options.streamIntervalMs);
        },
        (caught: unknown) => {
          if (!open) return;
          // The stream ends with the error: KEDA opens it again after a backoff, and its polls still call IsActive.
          const error = asScalerError(caught);
          note(workloadOf(call.request), error);
          close(codeName(error.code), error);
          call.emit('error', { code: error.code, details: error.message });
        },
      );
    };
    check();
  };

  return {
    implementation: {
      IsActive: unary<ScaledObjectRef, IsActiveResponse>('IsActive', (r) => r, isActive),
      StreamIsActive: streamIsActive,
      GetMetricSpec: unary<ScaledObjectRef, GetMetricSpecResponse>('GetMetricSpec', (r) => r, getMetricSpec),
      GetMetrics: unary<GetMetricsRequest, GetMetricsResponse>('GetMetrics', (r) => r.scaledObjectRef, getMetrics),
    },
    endStreams: () => {
      for (const call of [...streams]) call.end();
    },
  };
}

export interface RunningGrpcServer {
  readonly port: number;
  /** Stops taking calls, lets those in flight finish for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/** Binds a grpc-js server with the service on all interfaces at `port` (0: a free one). */
export async function startGrpcServer(implementation: grpc.UntypedServiceImplementation, port: number, credentials: grpc.ServerCredentials): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  server.addService(externalScalerService(), implementation);
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`0.0.0.0:${port}`, credentials, (error, p) => (error ? reject(error) : resolve(p))));
  return {
    port: bound,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
