/** The work of `redis-keda forecaster`, loaded when it runs: every workload's loop, the lease given back at the stop. */
import { hostname } from 'os';
import { UsageError } from '../../config';
import { Env } from '../../contract';
import { forecasterRoutes } from '../../forecaster/http-routes';
import { releaseLease } from '../../forecaster/lease-store';
import { createForecasterMetrics } from '../../forecaster/metrics';
import { createPrometheusClient, PrometheusClient } from '../../forecaster/prometheus-client';
import { ForecastWorkload, loadConfigFile, resolveWorkload } from '../../forecaster/workload-config';
import { WorkloadRunner } from '../../forecaster/workload-runner';
import { errorMessage, Logger } from '../../log';
import { connectClient, RedisClient } from '../../redis/connection';
import { sleep } from '../../sleep';
import { connectionOptions, runCommand, stopSignal } from '../common';
import { ForecasterArgs, givenWorkloadFlags, WORKLOAD_FLAGS } from '../forecaster';
import { serveWhileConnected } from './serve';

/** The one workload the flags describe; errors name the flag. */
export function workloadFromFlags(args: ForecasterArgs): ForecastWorkload {
  const raw: Record<string, unknown> = {};
  for (const name of givenWorkloadFlags(args)) raw[WORKLOAD_FLAGS[name as keyof typeof WORKLOAD_FLAGS].field] = args[name as keyof typeof WORKLOAD_FLAGS];
  if (typeof raw.model === 'string') {
    try {
      raw.model = JSON.parse(raw.model);
    } catch (error) {
      throw new UsageError(`--model (env ${Env.FORECAST_MODEL}) must be a JSON object of planner options: ${errorMessage(error)}`);
    }
  }
  const flagOf = (field: string) => Object.entries(WORKLOAD_FLAGS).find(([, spec]) => spec.field === field.replace(/^model\./, ''));
  return resolveWorkload(raw, 'the workload flags', (field) => {
    const flag = field.startsWith('model.') ? undefined : flagOf(field);
    return flag ? `--${flag[0]} (env ${flag[1].env})` : `--model's '${field.replace(/^model\./, '')}'`;
  });
}

/** A forecaster's workloads and Prometheus, checked before anything connects (a bad config is exit 2). */
function configure(args: ForecasterArgs): { workloads: ForecastWorkload[]; prometheus: PrometheusClient } {
  const fromFile = args.config === undefined ? undefined : loadConfigFile(args.config);
  const workloads = fromFile ? fromFile.workloads : [workloadFromFlags(args)];
  const url = args['prometheus-url'] ?? fromFile?.prometheus;
  if (!url) throw new UsageError(`name Prometheus: --prometheus-url (env ${Env.PROMETHEUS_URL})${args.config ? `, or 'prometheus' in ${args.config}` : ''}`);
  // A query slower than the shortest interval is no use: the next run is due.
  const timeoutMs = Math.max(1000, Math.min(...workloads.map((w) => w.intervalSeconds * 1000)));
  try {
    return { workloads, prometheus: createPrometheusClient({ url, timeoutMs }) };
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

/** Runs `runner` every interval until `signal` aborts (a run longer than the interval starts the next at once). */
async function everyInterval(runner: WorkloadRunner, intervalSeconds: number, signal: AbortSignal): Promise<void> {
  let next = Date.now();
  while (!signal.aborted) {
    await runner.run();
    next = Math.max(next + intervalSeconds * 1000, Date.now());
    await sleep(next - Date.now(), signal);
  }
}

async function forecast(args: ForecasterArgs, log: Logger): Promise<number> {
  const { workloads, prometheus } = configure(args);
  const id = process.env[Env.POD_NAME] || `${hostname()}-${process.pid}`;
  const stop = stopSignal(log);
  let client: RedisClient | undefined;
  const redis = () => client as RedisClient;
  try {
    let runners: WorkloadRunner[] = [];
    const states = workloads.map((w) => ({ name: w.name, query: w.query, leader: false, degraded: false, lastErrors: {} }));
    return await serveWhileConnected(
      {
        port: args['metrics-port'],
        connection: connectionOptions(args, log),
        connect: connectClient,
        log,
        signal: stop.signal,
        routes: forecasterRoutes({ id, workloads: states, redis: () => client }),
      },
      async (connected) => {
        client = connected;
        log.info('forecaster running', { id, prometheus: prometheus.url, workloads: workloads.map((w) => w.name) });
        await Promise.all(runners.map((runner, i) => everyInterval(runner, workloads[i].intervalSeconds, stop.signal)));
        for (const runner of runners) {
          if (!runner.state.leader) continue;
          try {
            if (await releaseLease(connected, runner.state.name, id)) log.info('lease released', { workload: runner.state.name });
          } catch (error) {
            log.warn('releasing the lease failed; a standby takes over when it expires', { workload: runner.state.name, error: errorMessage(error) });
          }
        }
      },
      (registry) => {
        const metrics = createForecasterMetrics(
          registry,
          workloads.map((w) => w.name),
        );
        runners = workloads.map((workload) => new WorkloadRunner({ workload, prometheus, redis, id, metrics, log }));
        runners.forEach((runner, i) => (states[i] = runner.state));
      },
    );
  } finally {
    stop.dispose();
  }
}

export const run = runCommand(forecast);
