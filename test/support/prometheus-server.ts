/**
 * A real Prometheus (Debian's `prometheus`) for tests: its own free loopback port, temp config and TSDB dir,
 * static scrape targets with the labels a PodMonitor scrape would attach, a short scrape interval, and the
 * HTTP query API. Targets and rule files can be replaced while it runs (`/-/reload`). Stop it in afterAll.
 */
import { ChildProcess, spawn } from 'child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, stopChild } from './redis-server';

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BINARY ?? 'prometheus';

export interface ScrapeTarget {
  /** The scrape job's name (Prometheus' `job` label unless `labels.job` says otherwise). */
  readonly job: string;
  /** host:port on loopback. */
  readonly address: string;
  /** Target labels, e.g. `namespace` and `pod` as a PodMonitor scrape sets them. @default - none */
  readonly labels?: Record<string, string>;
  /** @default /metrics */
  readonly metricsPath?: string;
  /** @default http */
  readonly scheme?: 'http' | 'https';
  /** For https targets with a self-signed certificate. @default false */
  readonly insecureSkipVerify?: boolean;
}

export interface PrometheusOptions {
  readonly targets?: readonly ScrapeTarget[];
  /** Rule files (YAML of `groups:`), evaluated every `evaluationIntervalSeconds`. @default - none */
  readonly ruleFiles?: readonly string[];
  /** Rule groups (a PrometheusRule's `spec.groups`) written to a rule file in Prometheus' own dir. @default - none */
  readonly ruleGroups?: readonly unknown[];
  /** @default 1 */
  readonly scrapeIntervalSeconds?: number;
  /** @default 1 */
  readonly evaluationIntervalSeconds?: number;
  /**
   * A folder of TSDB blocks (e.g. from `promtool tsdb create-blocks-from openmetrics`, see ./prometheus-history)
   * copied into the data dir before start: history Prometheus serves from its first query. @default - none
   */
  readonly blocksDir?: string;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  /** [unix seconds, value as Prometheus prints it] */
  readonly value: [number, string];
}

export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

export interface PrometheusTargetState {
  readonly job: string;
  readonly address: string;
  readonly health: string;
  readonly lastError: string;
}

export interface PrometheusServer {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly dir: string;
  /** An instant query; throws with Prometheus' own error (e.g. a parse error) when it refuses the query. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** A range query (start and end in unix seconds, step in seconds). */
  queryRange(expr: string, start: number, end: number, step: number): Promise<PromSeries[]>;
  /** The active scrape targets with their health. */
  targets(): Promise<PrometheusTargetState[]>;
  /** Waits until every configured target has been scraped successfully at least once. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  /** Replaces the scrape targets and rule files and reloads the configuration. */
  reconfigure(options: PrometheusOptions): Promise<void>;
  /** Stops the process and removes its dir. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;

/** The prometheus.yml for these options. */
function prometheusConfig(options: PrometheusOptions): string {
  const scrape = options.scrapeIntervalSeconds ?? 1;
  const evaluation = options.evaluationIntervalSeconds ?? 1;
  const config = {
    global: { scrape_interval: `${scrape}s`, scrape_timeout: `${scrape}s`, evaluation_interval: `${evaluation}s` },
    rule_files: [...(options.ruleFiles ?? [])],
    scrape_configs: (options.targets ?? []).map((target, i) => ({
      job_name: `${target.job}-${i}`,
      metrics_path: target.metricsPath ?? '/metrics',
      scheme: target.scheme ?? 'http',
      ...(target.insecureSkipVerify ? { tls_config: { insecure_skip_verify: true } } : {}),
      static_configs: [{ targets: [target.address], labels: { job: target.job, ...(target.labels ?? {}) } }],
    })),
  };
  // JSON is YAML: no YAML dependency needed here.
  return JSON.stringify(config, null, 2);
}

export async function startPrometheus(options: PrometheusOptions = {}, attempts = 3): Promise<PrometheusServer> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'redis-keda-test-prometheus-'));
    try {
      return await serverIn(dir, await freePort(), options);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      lastError = error;
    }
  }
  throw new Error(`prometheus did not start after ${attempts} attempts: ${String(lastError)}`);
}

async function serverIn(dir: string, port: number, initial: PrometheusOptions): Promise<PrometheusServer> {
  const configFile = join(dir, 'prometheus.yml');
  const writeConfig = (options: PrometheusOptions) => {
    const groupsFile = join(dir, 'groups.rules.json');
    if (options.ruleGroups) writeFileSync(groupsFile, JSON.stringify({ groups: options.ruleGroups }));
    writeFileSync(configFile, prometheusConfig({ ...options, ruleFiles: [...(options.ruleFiles ?? []), ...(options.ruleGroups ? [groupsFile] : [])] }));
  };
  writeConfig(initial);
  if (initial.blocksDir) cpSync(initial.blocksDir, join(dir, 'data'), { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  await waitReady(child, url, () => stderr);
  let current = initial;

  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  };

  const server: PrometheusServer = {
    port,
    url,
    dir,
    query: async (expr, time) => {
      const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) });
      if (data.resultType === 'scalar') {
        const [t, v] = data.result as [number, string];
        return [{ metric: {}, value: [t, v] }];
      }
      return data.result as PromSample[];
    },
    queryRange: async (expr, start, end, step) =>
      (await api<{ result: PromSeries[] }>('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) })).result,
    targets: async () => {
      const data = await api<{ activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[] }>('/api/v1/targets', {
        state: 'active',
      });
      return data.activeTargets.map((t) => ({ job: t.labels.job, address: new URL(t.scrapeUrl).host, health: t.health, lastError: t.lastError }));
    },
    waitForTargetsUp: async (timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      const wanted = (current.targets ?? []).length;
      let last: PrometheusTargetState[] = [];
      while (Date.now() < deadline) {
        last = await server.targets();
        if (last.length === wanted && last.every((t) => t.health === 'up')) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`prometheus targets not all up after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    },
    reconfigure: async (options) => {
      writeConfig(options);
      const response = await fetch(`${url}/-/reload`, { method: 'POST' });
      if (!response.ok) throw new Error(`prometheus reload: ${response.status} ${await response.text()}`);
      current = options;
    },
    stop: async () => {
      await stopChild(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function waitReady(child: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`prometheus not ready after ${STARTUP_TIMEOUT_MS} ms: ${stderr()}`);
}
