// What users compose: the constructs, their props and the value types they take. Rendering helpers, pod defaults
// and validation live in ./private and are not part of the API.
export * from './alert-rules';
export * from './celery-producer';
export * from './celery-worker';
export * from './dashboards';
export * from './keda-scaled-job';
export * from './keda-scaled-object';
export * from './kustomization';
export * from './publisher';
export * from './queue-exporter';
export * from './queue-worker';
export * from './redis-cluster';
export * from './redis-cluster-queue';
export * from './redis-connection';
export * from './redis-queue';
export * from './restricted-namespace';
export * from './runtime-deployment-props';
export * from './scaling-strategy';
export * from './triggers';
export { resolveRuntimeImage } from './runtime-image';
export { DEFAULT_RUNTIME_IMAGE, RUNTIME_IMAGE_CONTEXT_KEY, RUNTIME_IMAGE_ENV, RUNTIME_IMAGE_REPOSITORY, UNKNOWN_TASK_POLICIES } from '../runtime/contract';
export type { UnknownTaskPolicy } from '../runtime/contract';
export { LOAD_PATTERNS } from '../runtime/contract';
export type { LoadPatternName } from '../runtime/contract';
export * from './demo-app';
export * from './external-scaler';
export * from './forecaster';
export * from './load-generator';
