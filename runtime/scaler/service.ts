/**
 * KEDA's ExternalScaler gRPC service, loaded from the descriptor generated into imports/ (`npm run import`): the
 * server's service definition and the client constructor (tests, benchmarks). Messages come as the generated types:
 * field names as in the .proto, int64 as numbers, every field present.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON, Options } from '@grpc/proto-loader';
import { DESCRIPTOR, EXTERNALSCALER_SERVICE } from '../../imports/externalscaler';

export type { GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, MetricSpec, MetricValue, ScaledObjectRef } from '../../imports/externalscaler';
export { ExternalScalerMethods } from '../../imports/externalscaler';

export const LOADER_OPTIONS: Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

let loaded: grpc.ServiceClientConstructor | undefined;

/** The generated client class of the service; its `service` is the server's definition. */
export function externalScalerClient(): grpc.ServiceClientConstructor {
  if (!loaded) {
    // The generated JSON is protobufjs' own toJSON() output; its literal type is narrower than INamespace's union.
    const definition = fromJSON(DESCRIPTOR as unknown as Parameters<typeof fromJSON>[0], LOADER_OPTIONS);
    const [pkg, service] = EXTERNALSCALER_SERVICE.split('.');
    const grpcObject = grpc.loadPackageDefinition(definition) as Record<string, Record<string, grpc.ServiceClientConstructor>>;
    loaded = grpcObject[pkg][service];
  }
  return loaded;
}

/** The service definition a grpc-js Server adds. */
export function externalScalerService(): grpc.ServiceDefinition {
  return externalScalerClient().service;
}
