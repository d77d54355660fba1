/**
 * A grpc-js client of KEDA's ExternalScaler made from the generated descriptor (as KEDA's own Go client is made
 * from the same .proto), promisified: for the scaler's tests and benchmark.
 */
import * as grpc from '@grpc/grpc-js';
import { externalScalerClient, GetMetricSpecResponse, GetMetricsResponse, IsActiveResponse, ScaledObjectRef } from '../../runtime/scaler/service';

export interface ScalerClient {
  readonly raw: grpc.Client;
  isActive(ref: Partial<ScaledObjectRef>): Promise<IsActiveResponse>;
  getMetricSpec(ref: Partial<ScaledObjectRef>): Promise<GetMetricSpecResponse>;
  getMetrics(ref: Partial<ScaledObjectRef>, metricName?: string): Promise<GetMetricsResponse>;
  /** A StreamIsActive call: its messages so far, and how it ended (an error, or null for OK) once it has. */
  streamIsActive(ref: Partial<ScaledObjectRef>): ScalerStream;
  close(): void;
}

export interface ScalerStream {
  readonly results: boolean[];
  readonly ended: Promise<grpc.ServiceError | null>;
  cancel(): void;
}

type Unary = (request: unknown, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: unknown) => void) => void;

export function connectScaler(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): ScalerClient {
  const Client = externalScalerClient();
  const client = new Client(address, credentials, options) as unknown as grpc.Client &
    Record<string, Unary> &
    Record<string, (r: unknown) => grpc.ClientReadableStream<IsActiveResponse>>;
  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) =>
      (client[method] as Unary).call(client, request, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response as T))),
    );
  const ref = (r: Partial<ScaledObjectRef>) => ({ name: 'so', namespace: 'default', scalerMetadata: {}, ...r });
  return {
    raw: client,
    isActive: (r) => call('IsActive', ref(r)),
    getMetricSpec: (r) => call('GetMetricSpec', ref(r)),
    getMetrics: (r, metricName = '') => call('GetMetrics', { scaledObjectRef: ref(r), metricName }),
    streamIsActive: (r) => {
      const stream = (client.StreamIsActive as (request: unknown) => grpc.ClientReadableStream<IsActiveResponse>).call(client, ref(r));
      const results: boolean[] = [];
      stream.on('data', (m: IsActiveResponse) => results.push(m.result));
      const ended = new Promise<grpc.ServiceError | null>((resolve) => {
        stream.on('error', (error: grpc.ServiceError) => resolve(error));
        stream.on('end', () => resolve(null));
      });
      return { results, ended, cancel: () => stream.cancel() };
    },
    close: () => client.close(),
  };
}

/** The gRPC status code an operation failed with (a failing test when it did not fail). */
export async function failureOf(work: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await work;
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { code: grpc.status[e.code], details: e.details };
  }
  throw new Error('the call succeeded; an error was expected');
}
