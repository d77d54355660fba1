// What KEDA scales on, one file per trigger kind; a source of events (RedisQueue, CeleryWorker) hands out its own.
export * from './trigger';
export * from './redis-list';
export * from './custom';
export * from './prometheus';
