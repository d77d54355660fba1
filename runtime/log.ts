/**
 * Log lines on stderr (stdout is kept for a command's result, e.g. `queue stats`): JSON, one
 * object per line with `time`, `level`, `msg` first and the fields after them (pods, pipes), or
 * plain text for a person at a terminal. Every line, whatever its format, passes through
 * {@link redactUrls}: this is the one place where logs and errors are written.
 */
import { Env } from './contract';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  readonly level?: LogLevel;
  /** Where each line goes (without its newline). @default - stderr, lines of one tick written together */
  readonly write?: (line: string) => void;
  readonly fields?: LogFields;
  /** @default - {@link defaultLogFormat} */
  readonly format?: LogFormat;
}

const RESERVED = new Set(['time', 'level', 'msg']);

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === 'string' && (LOG_FORMATS as readonly string[]).includes(value);
}

/** Text for a person at a terminal, JSON lines for pods, pipes and files; `given` (a flag or env value) wins when valid. */
export function defaultLogFormat(given?: unknown, stderrIsTty: boolean = process.stderr.isTTY === true): LogFormat {
  if (isLogFormat(given)) return given;
  return stderrIsTty ? 'text' : 'json';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  const write = options.write ?? writeStderr;
  const base = options.fields ?? {};
  const format = options.format ?? defaultLogFormat(process.env[Env.LOG_FORMAT]);
  // The fields every line carries, serialized once: a busy consumer logs a line per event.
  const baseJson = fieldsJson(base);

  const log = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    if (format === 'text') return write(redactUrls(textLine(level, msg, { ...base, ...fields })));
    const head = `{"time":"${isoNow()}","level":"${level}","msg":${JSON.stringify(msg)}`;
    write(redactUrls(`${head}${baseJson}${fields ? fieldsJson(fields) : ''}}`));
  };

  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** `level: message (key: value, ...)`: a sentence, with the fields after it. */
function textLine(level: LogLevel, msg: string, fields: LogFields): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || typeof value === 'function') continue;
    parts.push(`${key}: ${typeof value === 'string' ? value : valueJson(value)}`);
  }
  return `${level}: ${msg}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * Redacts the userinfo of every URL-like value (`scheme://userinfo@host`, any scheme, any case):
 * what lies between `://` and the last `@` of the value (a value ends at white space, a quote or
 * `<>`; a backslash escape, as JSON writes one, stays inside it). A user name before a `:` is
 * kept: `redis://u:Se@cret@host` becomes `redis://u:***@host`, `redis://:S3/cr3t@host`
 * becomes `redis://:***@host`, `redis://token@host` becomes `redis://***@host`.
 */
export function redactUrls(text: string): string {
  if (!text.includes('://')) return text; // most lines: no URL at all
  return text.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 && !userinfo.slice(0, colon).includes('@') ? userinfo.slice(0, colon + 1) : '';
    return `${scheme}${user}***@`;
  });
}

const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)((?:[^\s"'<>\\]|\\.)*)@/gi;

/** `,"key":value` per field (a later key wins when parsed); undefined values are left out as JSON.stringify does. */
function fieldsJson(fields: LogFields): string {
  let json = '';
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined || typeof value === 'function') continue;
    json += `,${jsonKey(key)}:${valueJson(value)}`;
  }
  return json;
}

const keys = new Map<string, string>();

/** A field name as JSON, remembered: the same few names recur on every line. */
function jsonKey(key: string): string {
  let json = keys.get(key);
  if (json === undefined) {
    // A field must not disguise the line's own time, level or message.
    json = JSON.stringify(RESERVED.has(key) ? `field.${key}` : key);
    if (keys.size < 1000) keys.set(key, json);
  }
  return json;
}

function valueJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return safeStringify(value instanceof Error ? value.message : value);
}

let isoMs = 0;
let iso = '';

/** The time as ISO 8601, formatted once per millisecond. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

/**
 * Lines logged in one tick go to stderr in one write (a consumer handling thousands of events a
 * second would otherwise spend its time in write calls); what is pending is written at exit.
 */
let pending: string[] = [];
let flushScheduled = false;
let exitHooked = false;

function writeStderr(line: string): void {
  pending.push(line);
  if (pending.length >= 1000) return flushStderr();
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushStderr);
  }
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', flushStderr);
  }
}

/** Writes the lines logged so far (stderr is synchronous for files, pipes and terminals on Linux). */
export function flushStderr(): void {
  flushScheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('\n') + '\n';
  pending = [];
  process.stderr.write(text);
}

/** A logger that drops everything (programmatic use without logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** The message of anything thrown, for a log field or a dead-letter entry. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : safeStringify(error);
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
