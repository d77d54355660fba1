/**
 * The reference of bench:scaler: a grpc-js server of the same ExternalScaler service (the generated descriptor) that
 * answers every call with a constant and reads nothing. Prints `{"port": N}` on stdout once it listens; SIGTERM stops it.
 */
import * as grpc from '@grpc/grpc-js';
import { externalScalerService, GetMetricsRequest, GetMetricsResponse, ScaledObjectRef } from '../../runtime/scaler/service';

const server = new grpc.Server();
server.addService(externalScalerService(), {
  IsActive: (_call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, { result: true }),
  GetMetricSpec: (call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, { metricSpecs: [{ metricName: `forecast-${call.request.scalerMetadata.workload}`, targetSize: 1, targetSizeFloat: 1 }] }),
  GetMetrics: (call: grpc.ServerUnaryCall<GetMetricsRequest, GetMetricsResponse>, callback: grpc.sendUnaryData<GetMetricsResponse>) =>
    callback(null, { metricValues: [{ metricName: call.request.metricName, metricValue: 3, metricValueFloat: 3 }] }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
