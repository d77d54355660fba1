/**
 * A `--tasks` module for our `celery-worker` in the interop tests: tasks.add, tasks.noop and
 * tasks.sleep as the package ships them, plus one record per run in the Redis list `executed`
 * (and app.py's old-style errback interop.on_error),
 * the same record app.py's Python tasks write, so a test counts the runs of a mixed fleet.
 * (The shipped tasks themselves are tested by the suites that run the worker without this module.)
 *
 * Plain task objects `{ name, params, run }`: the shape defineTask returns, without importing the
 * runtime from here. Set CELERY_TEST_WORKER_TAG in the worker's env to tell workers apart.
 */
'use strict';

const EXECUTED_KEY = 'executed';
/** tasks.sleep also records its end here: a run killed mid-sleep is in `executed` only. */
const COMPLETED_KEY = 'completed';

async function record(ctx, key = EXECUTED_KEY) {
  const entry = { id: ctx.id, task: ctx.name, worker: process.env.CELERY_TEST_WORKER_TAG || ctx.hostname, at: Date.now() / 1000, eta: null };
  await ctx.redis.rpush(key, JSON.stringify(entry));
}

/** Resolves after `ms`, or rejects when the worker aborts the task at the end of its grace. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });
}

module.exports = [
  {
    // A result JSON cannot carry: Celery's worker stores kombu's EncodeError for such a return value.
    name: 'interop.unserializable',
    params: [],
    run: async () => ({ big: 10n }),
  },
  {
    // An old-style errback, as app.py's: Celery calls it with the failed task's id.
    name: 'interop.on_error',
    params: ['failed_task_id'],
    run: async (failedTaskId, ctx) => {
      await record(ctx);
      const worker = process.env.CELERY_TEST_WORKER_TAG || ctx.hostname;
      await ctx.redis.rpush('errbacks', JSON.stringify({ errback: ctx.id, failed: failedTaskId, worker }));
      return failedTaskId;
    },
  },
  {
    name: 'tasks.add',
    params: ['a', 'b'],
    run: async (a, b, ctx) => {
      await record(ctx);
      return a + b;
    },
  },
  {
    name: 'tasks.noop',
    params: [],
    run: async (ctx) => {
      await record(ctx);
      return null;
    },
  },
  {
    name: 'tasks.sleep',
    params: ['seconds'],
    run: async (seconds, ctx) => {
      await record(ctx);
      await pause(Number(seconds) * 1000, ctx.signal);
      await record(ctx, COMPLETED_KEY);
      return seconds;
    },
  },
];
