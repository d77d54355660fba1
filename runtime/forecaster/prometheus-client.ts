/**
 * Prometheus' `query_range` over Node's http/https: one request, a deadline, basic auth from the URL's userinfo (sent
 * as a header, never logged), and every failure a {@link PrometheusError} saying which kind it was.
 */
import { request as httpRequest } from 'http';
import { request as httpsRequest } from 'https';

/** What went wrong: no answer, too slow, an HTTP error, Prometheus refusing the query, or a body that is not its API's. */
export type PrometheusErrorKind = 'unreachable' | 'timeout' | 'http' | 'query' | 'response';

export class PrometheusError extends Error {
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PrometheusError';
  }
}

/** One series of a range query: unix seconds and values, oldest first (NaN where Prometheus said NaN). */
export interface RangeSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly timestamps: number[];
  readonly values: number[];
}

export interface PrometheusClient {
  /** The server's URL without credentials (what a forecast says it came from). */
  readonly url: string;
  /** `query_range` from `start` to `end` (unix seconds) every `step` seconds: every series of the result. */
  queryRange(query: string, start: number, end: number, step: number): Promise<RangeSeries[]>;
}

export interface PrometheusClientOptions {
  /** `http(s)://[user:password@]host:port[/prefix]`. */
  readonly url: string;
  /** A request without a complete answer after this many ms fails with kind `timeout`. */
  readonly timeoutMs: number;
}

/** The URL without its userinfo. */
export function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/$/, '');
}

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`the Prometheus URL must be http:// or https://, got '${withoutCredentials(options.url)}'`);
  const authorization = base.username ? `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}` : undefined;
  const url = withoutCredentials(options.url);

  return {
    url,
    async queryRange(query, start, end, step) {
      const target = new URL(`${base.pathname.replace(/\/$/, '')}/api/v1/query_range`, base);
      target.username = '';
      target.password = '';
      const body = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }).toString();
      const { status, text } = await post(target, body, authorization, options.timeoutMs);
      let parsed: { status?: string; data?: { resultType?: string; result?: unknown }; errorType?: string; error?: string };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new PrometheusError(status >= 400 ? 'http' : 'response', `Prometheus at ${url} answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
      if (parsed.status !== 'success') {
        // 400 and 422 are Prometheus refusing the query itself (a parse or evaluation error); other codes are the server's.
        const kind = status === 400 || status === 422 ? 'query' : 'http';
        throw new PrometheusError(kind, `Prometheus at ${url} refused the query (HTTP ${status}): ${parsed.errorType ?? 'error'}: ${parsed.error ?? text.slice(0, 200)}`);
      }
      if (parsed.data?.resultType !== 'matrix' || !Array.isArray(parsed.data.result)) {
        throw new PrometheusError('response', `Prometheus at ${url} answered a range query with a '${String(parsed.data?.resultType)}' result, not a matrix`);
      }
      return (parsed.data.result as { metric?: Record<string, string>; values?: [number, string][] }[]).map((series) => ({
        labels: series.metric ?? {},
        timestamps: (series.values ?? []).map(([t]) => t),
        values: (series.values ?? []).map(([, v]) => Number(v)),
      }));
    },
  };
}

/** POSTs a form (a long query does not fit a URL) and reads the whole answer, or fails with a PrometheusError. */
function post(target: URL, body: string, authorization: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const where = `Prometheus at ${target.origin}`;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
          Accept: 'application/json',
          ...(authorization ? { Authorization: authorization } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() });
        });
        res.on('error', (error) => fail(new PrometheusError('unreachable', `${where}: the answer broke off: ${error.message}`)));
      },
    );
    const fail = (error: PrometheusError) => {
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new PrometheusError('timeout', `${where} did not answer within ${timeoutMs / 1000}s`)), timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail(new PrometheusError('unreachable', `${where} is not reachable: ${error.code ?? error.message}`)));
    req.end(body);
  });
}
