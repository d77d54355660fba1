/**
 * The frame of the celery-worker tests: our worker as a child process (flags and env only), task
 * messages pushed as Python's apply_async pushes them, and results read back from Redis.
 */
import { join } from 'path';
import type Redis from 'ioredis';
import { CeleryKeys, Env } from '../../../runtime/contract';
import { buildTaskMessage, TaskMessage, TaskMessageOptions } from '../../../runtime/celery/producer';
import { ProcessResult, REPO_ROOT, RunningProcess, startCli, waitFor } from '../../support/cli';

export const FIXTURES = join(REPO_ROOT, 'test', 'runtime', 'fixtures');
export const TASKS_MODULE = join(FIXTURES, 'celery-tasks.js');

const workers = new Set<RunningProcess>();

/** Starts `redis-keda celery-worker <args>` and resolves once it consumes. */
export async function startWorker(redisUrl: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunningProcess> {
  const worker = startCli(['celery-worker', '--metrics-port', '0', ...args], { env: { [Env.REDIS_URL]: redisUrl, ...env } });
  workers.add(worker);
  void worker.done.finally(() => workers.delete(worker));
  await worker.waitForLog((l) => l.msg === 'celery worker started', 20_000);
  return worker;
}

/** SIGTERM and wait for the exit. */
export async function stopWorker(worker: RunningProcess): Promise<ProcessResult> {
  worker.child.kill('SIGTERM');
  return worker.done;
}

/** For afterEach: no worker outlives its test. */
export async function killWorkers(): Promise<void> {
  const all = [...workers];
  for (const w of all) w.child.kill('SIGKILL');
  await Promise.all(all.map((w) => w.done.catch(() => undefined)));
}

/** Pushes a task message exactly as Python's apply_async would. */
export async function send(redis: Redis, options: TaskMessageOptions): Promise<TaskMessage> {
  const message = buildTaskMessage(options);
  await redis.lpush(message.list, message.raw);
  return message;
}

export interface StoredResult {
  readonly status: string;
  readonly result: unknown;
  readonly traceback: string | null;
  readonly children: unknown[];
  readonly date_done: string;
  readonly task_id: string;
  readonly [more: string]: unknown;
}

/** The stored result of a task once there is one. */
export async function resultOf(redis: Redis, taskId: string, timeoutMs = 10_000): Promise<StoredResult> {
  let raw: string | null = null;
  await waitFor(async () => (raw = await redis.get(CeleryKeys.taskMeta(taskId))) !== null, `the result of ${taskId}`, timeoutMs);
  return JSON.parse(raw as unknown as string) as StoredResult;
}

/** kombu's ack bookkeeping, as it stands. */
export async function unackedState(redis: Redis): Promise<{ unacked: Record<string, string>; index: string[] }> {
  return { unacked: await redis.hgetall(CeleryKeys.UNACKED), index: await redis.zrange(CeleryKeys.UNACKED_INDEX, '0', '-1') };
}

/** A kombu envelope around a JSON body (base64), for messages apply_async would not send. */
export function envelope(body: unknown, headers: Record<string, unknown> = {}, properties: Record<string, unknown> = {}, contentType = 'application/json'): string {
  return JSON.stringify({
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': contentType,
    headers,
    properties: {
      body_encoding: 'base64',
      delivery_tag: `tag-${Math.random().toString(36).slice(2)}`,
      delivery_info: { exchange: '', routing_key: 'celery' },
      priority: 0,
      ...properties,
    },
  });
}
