/**
 * Programmatic entry of the runtime: `import { runConsumer } from 'cdk8s-redis-keda/lib/runtime'`.
 * (The package's main entry is the construct library, which must not pull in ioredis.)
 */
export * from './contract';
export { consumeOnce, runConsumer } from './queue/consumer';
export type { ConsumerOptions, ConsumeOnceOptions, ConsumeOnceResult, RunConsumerOptions, Outcome } from './queue/consumer';
export { parseEvent, createEvent, createEventJson, SEED_ID_PREFIX } from './queue/event';
export type { ParseResult } from './queue/event';
export { demoHandler, loadHandler } from './queue/handler';
export type { EventHandler, HandlerContext } from './queue/handler';
export { publishEvents } from './queue/publisher';
export type { PublishOptions } from './queue/publisher';
export { Queue } from './queue/queue';
export type { Claim, ClaimBatch, QueueStats, DeadLetterOptions, RetryPolicy, RetryResult, PurgeScope } from './queue/queue';
export { connectRedis, closeRedis, resolveRedisOptions } from './redis/connection';
export type { RedisConnectionOptions } from './redis/connection';
export { createLogger } from './log';
export type { Logger, LogLevel } from './log';
export { createConsumerMetrics, createPublisherMetrics } from './queue/metrics';
export type { ConsumerMetrics, GaugeSource, PublisherMetrics, QueueDepth } from './queue/metrics';
export { createRegistry } from './http/registry';
export { startHealthServer } from './http/health-server';
export type { HealthServer } from './http/health-server';
export { defineTask, loadTasks, TaskRegistry } from './celery/tasks';
export type { Task, TaskContext, TaskDefinition, TaskHandler } from './celery/tasks';
export { TaskError } from './celery/results';
export type { CeleryException, CeleryState } from './celery/results';
export { BUILTIN_TASKS } from './celery/builtin-tasks';
export { decodeMessage } from './celery/message';
export type { CeleryTask, DecodeResult } from './celery/message';
export { CeleryConsumer, runCeleryConsumer } from './celery/consumer';
export type { CeleryConsumerOptions, UnknownTaskPolicy } from './celery/consumer';
export { CeleryBroker } from './celery/broker';
export { buildTaskMessage, sendTaskMessage, waitForResult } from './celery/producer';
export type { TaskMessage, TaskMessageOptions } from './celery/producer';
export { createCeleryWorkerMetrics } from './celery/metrics';
export type { CeleryWorkerMetrics } from './celery/metrics';
export { createCapacityPlanner, PlannerOptionError, quantileKey } from './forecast';
export type { CapacityPlan, CapacityPlanner, CapacityPlannerOptions } from './forecast';
