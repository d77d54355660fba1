/** Polling until a condition holds, and the HTTP(S) probes the harness waits on. */
import { request as httpRequest } from 'http';
import { request as httpsRequest } from 'https';

/** Calls `probe` every `intervalMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : lastError !== undefined ? String(lastError) : 'not yet';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface HttpGetOptions {
  /** PEM of the CA that signed the server's certificate; omitted: the certificate is not checked. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** GET `url`, resolving with the status code and body (http or https; loopback only). */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const tls = parsed.protocol === 'https:';
    const request = (tls ? httpsRequest : httpRequest)(
      parsed,
      { method: 'GET', timeout: 5000, ...(tls ? { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.ca !== undefined } : {}) },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
    request.end();
  });
}

/** A probe for waitFor: true once GET `url` answers 200. */
export async function answers200(url: string, options: HttpGetOptions = {}): Promise<true | undefined> {
  const { status } = await httpGet(url, options);
  return status === 200 ? true : undefined;
}
