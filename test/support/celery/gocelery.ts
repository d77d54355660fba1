/**
 * A Celery protocol 1 message laid out as gocelery (the original demo's producer) sends it: no
 * headers, the task in the base64 JSON body `{id, task, args, kwargs, retries, eta, expires}`, and
 * `delivery_info.exchange` "celery" (not Python's ""), LPUSHed onto the queue list.
 */
import { randomUUID } from 'crypto';
import { DEFAULT_CELERY_QUEUE } from '../../../runtime/contract';

export interface ProtocolOneTask {
  readonly id: string;
  readonly task: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
}

export function gocelerMessage(task: ProtocolOneTask, queue: string = DEFAULT_CELERY_QUEUE): string {
  const body = { id: task.id, task: task.task, args: task.args, kwargs: task.kwargs, retries: 0, eta: null, expires: null };
  return JSON.stringify({
    body: Buffer.from(JSON.stringify(body)).toString('base64'),
    'content-type': 'application/json',
    properties: {
      body_encoding: 'base64',
      // gocelery draws these afresh: the correlation id is not the task id.
      correlation_id: randomUUID(),
      reply_to: randomUUID(),
      delivery_info: { priority: 0, routing_key: queue, exchange: queue },
      delivery_mode: 2,
      delivery_tag: randomUUID(),
    },
    'content-encoding': 'utf-8',
  });
}
