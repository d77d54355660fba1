/**
 * The node agent's client of the API server: HTTPS with a client certificate (keep-alive, JSON),
 * and watches (`?watch=1`) read as newline-delimited events, resumed from the last resourceVersion
 * and relisted when the server answers 410 Gone.
 */
import { readFileSync } from 'fs';
import { Agent, request } from 'https';
import type { KeyPair } from '../pki';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: string,
  ) {
    super(`${method} ${path}: ${status} ${body.slice(0, 300)}`);
  }
}

export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

export class ApiClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(server: string, caFile: string, user: KeyPair) {
    this.url = new URL(server);
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, ca: readFileSync(caFile), cert: readFileSync(user.cert), key: readFileSync(user.key) });
  }

  /** One request; resolves with the parsed JSON body, throws {@link ApiError} on a status of 300 or more. */
  async call<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          timeout: 30_000,
          headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 300) return reject(new ApiError(status, method, path, text));
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T = any>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** GET that resolves undefined on 404. */
  async find<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * Lists `path` then watches it until `signal` aborts, calling `onEvent` for every object (the
   * listed ones as ADDED) in order. A closed watch resumes from the last resourceVersion; 410 relists.
   * `onListed` is called after each list's objects were passed on (the first, and any after a 410).
   */
  async listAndWatch<T extends { metadata: { resourceVersion?: string } }>(
    path: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
    onError: (error: unknown) => void,
    onListed: () => void = () => undefined,
  ): Promise<void> {
    const separator = path.includes('?') ? '&' : '?';
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await this.get<{ metadata: { resourceVersion: string }; items: T[] }>(path);
          for (const item of list.items) onEvent({ type: 'ADDED', object: item });
          resourceVersion = list.metadata.resourceVersion;
          onListed();
        }
        resourceVersion = await this.watchOnce(
          `${path}${separator}watch=1&allowWatchBookmarks=true&timeoutSeconds=240&resourceVersion=${resourceVersion}`,
          onEvent,
          signal,
          resourceVersion,
        );
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.status === 410) resourceVersion = undefined;
        else onError(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** One watch request; resolves with the last resourceVersion seen when the server ends it. */
  private watchOnce<T extends { metadata: { resourceVersion?: string } }>(
    path: string,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
    from: string,
  ): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let last = from;
      // Its own connection: a watch holds it for minutes.
      const req = request({ host: this.url.hostname, port: this.url.port, path, method: 'GET', agent: false, ...this.tlsOptions() }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => reject(new ApiError(res.statusCode ?? 0, 'GET', path, text)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<any>;
            if (event.type === 'ERROR') {
              const status = event.object as { code?: number; message?: string };
              req.destroy();
              return reject(new ApiError(status.code ?? 500, 'WATCH', path, status.message ?? ''));
            }
            if (event.object?.metadata?.resourceVersion) last = event.object.metadata.resourceVersion;
            if (event.type !== 'BOOKMARK') onEvent(event as WatchEvent<T>);
          }
        });
        res.on('end', () => resolve(last));
        res.on('error', reject);
      });
      const abort = () => req.destroy();
      signal.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', abort));
      req.on('error', (error) => (signal.aborted ? resolve(last) : reject(error)));
      req.end();
    });
  }

  private tlsOptions(): { ca: Buffer; cert: Buffer; key: Buffer } {
    const options = this.agent.options as { ca: Buffer; cert: Buffer; key: Buffer };
    return { ca: options.ca, cert: options.cert, key: options.key };
  }

  close(): void {
    this.agent.destroy();
  }
}
