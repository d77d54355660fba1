/**
 * Decoding a kombu message taken from a Celery queue list: the JSON envelope, its base64 body,
 * and the task in it, in Celery protocol 2 (task name in `headers.task`, body
 * `[args, kwargs, embed]`) or protocol 1 (no `headers.task`; body `{task, id, args, kwargs, ...}`,
 * what gocelery and old clients send). Never throws: input a worker cannot use comes back as
 * `{ ok: false }` with the reason, and the task id when one could be read, so the caller can
 * still store a FAILURE result.
 */

/** A task ready to run, as read from one message. */
export interface CeleryTask {
  readonly id: string;
  readonly name: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  /** Times the task was retried (Celery's `retries`). */
  readonly retries: number;
  /** Run no earlier than this (ms since the epoch). */
  readonly eta?: number;
  /** Do not run after this (ms since the epoch): store REVOKED instead. */
  readonly expires?: number;
  /** `headers.ignore_result`: store no result. */
  readonly ignoreResult: boolean;
  readonly protocol: 1 | 2;
  /** Protocol 2's group / parent ids, written into the result like Celery does. */
  readonly group?: string;
  readonly parentId?: string;
  /** The kombu priority (0..9) of the message; undefined when it carried none. */
  readonly priority?: number;
  /** Protocol 2's root_id (the first task of a workflow). */
  readonly rootId?: string;
  /** Protocol 2's canvas: what to send on after the task (see ./canvas); undefined when there is none. */
  readonly embed?: Embed;
  /** Celery's time limits in seconds (`timelimit` = [hard, soft]). */
  readonly timeLimit?: TimeLimit;
  /**
   * The first integer of the body beyond 2**53 (as written), which a JS number would round:
   * such a task is not run on changed numbers (see the worker).
   */
  readonly unsafeInteger?: string;
}

export interface TimeLimit {
  /** Past this the task fails with TimeLimitExceeded. */
  readonly hard?: number;
  /** Past this the task's signal aborts with SoftTimeLimitExceeded. */
  readonly soft?: number;
}

/** The third element of a protocol 2 body: signatures (as JSON) to run after the task. */
export interface Embed {
  readonly callbacks?: unknown;
  readonly errbacks?: unknown;
  /** The rest of a chain, last step first. */
  readonly chain?: unknown;
  readonly chord?: unknown;
}

export type DecodeResult =
  | { readonly ok: true; readonly task: CeleryTask }
  | {
      readonly ok: false;
      readonly error: string;
      /** `content`: a serializer or encoding this worker does not accept (kombu's ContentDisallowed); `decode`: broken input (kombu's DecodeError). */
      readonly kind: 'content' | 'decode';
      /** The task id, when it could be read. */
      readonly taskId?: string;
      readonly taskName?: string;
    };

interface Envelope {
  body?: unknown;
  'content-type'?: unknown;
  'content-encoding'?: unknown;
  headers?: Record<string, unknown> | null;
  properties?: Record<string, unknown> | null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeMessage(raw: string): DecodeResult {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(raw) as Envelope;
  } catch (error) {
    return { ok: false, kind: 'decode', error: `message is not JSON: ${(error as Error).message}` };
  }
  if (!isObject(envelope)) return { ok: false, kind: 'decode', error: 'message is not a JSON object' };
  const headers = isObject(envelope.headers) ? envelope.headers : {};
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  // Whatever else is wrong, the id lets the caller store a FAILURE instead of leaving a caller waiting.
  const headerId = typeof headers.id === 'string' ? headers.id : undefined;
  const headerTask = typeof headers.task === 'string' ? headers.task : undefined;
  const fail = (error: string, taskId = headerId ?? stringOr(properties.correlation_id), taskName = headerTask, kind: 'content' | 'decode' = 'decode') => ({
    ok: false as const,
    error,
    kind,
    taskId,
    taskName,
  });

  const contentType = envelope['content-type'];
  if (contentType !== 'application/json') return fail(`content-type '${String(contentType)}' is not supported (only application/json)`, undefined, undefined, 'content');
  if (typeof envelope.body !== 'string') return fail('message body is not a string');

  let bodyText = envelope.body;
  const encoding = properties.body_encoding;
  if (encoding === 'base64') {
    const compact = bodyText.replace(/\s+/g, '');
    if (compact.length % 4 === 1 || !BASE64.test(compact)) return fail('message body is not valid base64');
    bodyText = Buffer.from(compact, 'base64').toString('utf8');
  } else if (encoding !== undefined && encoding !== null) {
    return fail(`body_encoding '${String(encoding)}' is not supported (only base64 or none)`, undefined, undefined, 'content');
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    return fail(`message body is not JSON: ${(error as Error).message}`);
  }
  const priority = typeof properties.priority === 'number' ? properties.priority : undefined;
  const decoded = headerTask !== undefined ? protocol2(headers, body, priority, fail) : protocol1(body, priority, fail);
  const unsafe = decoded.ok ? unsafeInteger(bodyText) : undefined;
  return unsafe === undefined || !decoded.ok ? decoded : { ok: true, task: { ...decoded.task, unsafeInteger: unsafe } };
}

/**
 * The first integer literal of a JSON text (outside strings) that a JS number cannot hold exactly,
 * or undefined. Python's json writes its ints exactly, whatever their size.
 */
export function unsafeInteger(json: string): string | undefined {
  if (!/\d{16}/.test(json)) return undefined; // the common case: no literal long enough
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < json.length && json.charCodeAt(i) !== 34; i++) if (json.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const token = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(json.slice(i, i + 400))?.[0] ?? json[i];
      if (!/[.eE]/.test(token) && !Number.isSafeInteger(Number(token))) return token;
      i += token.length - 1;
    }
  }
  return undefined;
}

type Fail = (error: string, taskId?: string, taskName?: string, kind?: 'content' | 'decode') => DecodeResult & { ok: false };

function protocol2(headers: Record<string, unknown>, body: unknown, priority: number | undefined, fail: Fail): DecodeResult {
  const id = headers.id;
  if (typeof id !== 'string' || id === '') return fail("protocol 2 message has no task id in 'headers.id'");
  if (!Array.isArray(body) || body.length < 2) return fail('protocol 2 body must be [args, kwargs, embed]');
  const [args, kwargs, embed] = body as unknown[];
  if (!Array.isArray(args)) return fail('task args must be a JSON array');
  if (!isObject(kwargs)) return fail('task kwargs must be a JSON object');
  const times = readTimes(headers.eta, headers.expires);
  if (typeof times === 'string') return fail(times);
  return {
    ok: true,
    task: {
      id,
      name: headers.task as string,
      args,
      kwargs,
      retries: typeof headers.retries === 'number' ? headers.retries : 0,
      ...times,
      ignoreResult: headers.ignore_result === true,
      protocol: 2,
      group: stringOr(headers.group),
      parentId: stringOr(headers.parent_id),
      priority,
      rootId: stringOr(headers.root_id),
      embed: isObject(embed) && Object.values(embed).some((v) => v !== null && v !== undefined) ? embed : undefined,
      timeLimit: readTimeLimit(headers.timelimit),
    },
  };
}

function protocol1(body: unknown, priority: number | undefined, fail: Fail): DecodeResult {
  if (!isObject(body)) return fail("message has no 'headers.task' and its body is not a protocol 1 task object");
  const id = typeof body.id === 'string' && body.id !== '' ? body.id : undefined;
  const name = typeof body.task === 'string' && body.task !== '' ? body.task : undefined;
  if (name === undefined) return fail("protocol 1 body has no 'task' name", id);
  if (id === undefined) return fail("protocol 1 body has no task 'id'", undefined, name);
  const args = body.args ?? [];
  const kwargs = body.kwargs ?? {};
  if (!Array.isArray(args)) return fail('task args must be a JSON array', id, name);
  if (!isObject(kwargs)) return fail('task kwargs must be a JSON object', id, name);
  const times = readTimes(body.eta, body.expires);
  if (typeof times === 'string') return fail(times, id, name);
  return {
    ok: true,
    task: {
      id,
      name,
      args,
      kwargs,
      retries: typeof body.retries === 'number' ? body.retries : 0,
      ...times,
      ignoreResult: false,
      protocol: 1,
      group: stringOr(body.taskset),
      priority,
      timeLimit: readTimeLimit(body.timelimit),
    },
  };
}

/** `[hard, soft]` seconds, either null; anything else means no limits. */
function readTimeLimit(value: unknown): TimeLimit | undefined {
  if (!Array.isArray(value)) return undefined;
  const seconds = (v: unknown) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? v : undefined);
  const hard = seconds(value[0]);
  const soft = seconds(value[1]);
  return hard === undefined && soft === undefined ? undefined : { hard, soft };
}

function readTimes(eta: unknown, expires: unknown): { eta?: number; expires?: number } | string {
  const etaMs = parseTime(eta);
  if (etaMs === null) return `eta '${String(eta)}' is not an ISO 8601 time`;
  const expiresMs = parseTime(expires);
  if (expiresMs === null) return `expires '${String(expires)}' is not an ISO 8601 time`;
  return { eta: etaMs, expires: expiresMs };
}

/**
 * An ISO 8601 time as Celery writes it (`2024-01-02T03:04:05.123456+00:00`); a time without an
 * offset is UTC (protocol 1 clients send naive UTC). Numbers are seconds since the epoch. Null for
 * what is not a time, undefined for no time.
 */
export function parseTime(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : null;
  if (typeof value !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) return null;
  const fraction = m[3] ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : '';
  const offset = m[4] === undefined ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  const ms = Date.parse(`${m[1]}T${m[2]}${fraction}${offset}`);
  return Number.isNaN(ms) ? null : ms;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
