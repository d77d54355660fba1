/** Prometheus metrics of `redis-keda celery-worker`, named in the contract (CeleryMetrics). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CeleryMetrics, MetricLabels } from '../contract';

export interface CeleryWorkerMetrics {
  /** Tasks finished, by `task` and `state` (SUCCESS, FAILURE, REVOKED, REQUEUED). */
  readonly tasks: Counter<'task' | 'state'>;
  readonly taskSeconds: Histogram<'task'>;
  readonly active: Gauge;
  readonly restored: Counter;
  readonly deadLettered: Counter;
  /** Connects the active gauge to a running worker. */
  watch(active: () => number): void;
  /** Starts every (task, state) series of these tasks at 0: a series born at 1 has no increase, so rate() would miss it. */
  seedTasks(names: readonly string[]): void;
}

/** The states a finished task is counted under. */
const FINISHED_STATES = ['SUCCESS', 'FAILURE', 'REVOKED', 'REQUEUED'] as const;

export function createCeleryWorkerMetrics(registry: Registry = new Registry()): CeleryWorkerMetrics {
  let source: (() => number) | undefined;
  const tasks = new Counter({
    name: CeleryMetrics.TASKS,
    help: 'Tasks finished, by task name and state.',
    labelNames: [MetricLabels.TASK, MetricLabels.STATE],
    registers: [registry],
  });
  return {
    tasks,
    taskSeconds: new Histogram({
      name: CeleryMetrics.TASK_SECONDS,
      help: 'Run time of task handlers, by task name.',
      labelNames: [MetricLabels.TASK],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    active: new Gauge({
      name: CeleryMetrics.TASKS_ACTIVE,
      help: 'Tasks this worker holds (running or waiting for their eta).',
      registers: [registry],
      collect() {
        this.set(source?.() ?? 0);
      },
    }),
    restored: new Counter({ name: CeleryMetrics.RESTORED, help: 'Unacknowledged messages this worker put back after their visibility timeout.', registers: [registry] }),
    deadLettered: new Counter({ name: CeleryMetrics.DEAD_LETTERED, help: 'Messages moved to a dead-letter list.', registers: [registry] }),
    watch: (active) => (source = active),
    seedTasks: (names) => {
      for (const task of names) for (const state of FINISHED_STATES) tasks.inc({ task, state }, 0);
    },
  };
}
