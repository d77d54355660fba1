export * from './keda-scaled-job';
export * from './keda-trigger';
export * from './kustomization';
export * from './publisher';
export * from './redis-connection';
export * from './redis-queue';
export * from './scaling-strategy';
export { resolveRuntimeImage } from './runtime-image';
export { DEFAULT_RUNTIME_IMAGE, RUNTIME_IMAGE_CONTEXT_KEY, RUNTIME_IMAGE_ENV, RUNTIME_IMAGE_REPOSITORY } from '../runtime/contract';
