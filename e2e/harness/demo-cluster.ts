/**
 * What the demo suites share: a control plane without KWOK Nodes, a NodeAgent running the pods,
 * KEDA, a redis-server with a password, the demo's restricted namespace with the Secret
 * `redis-auth`; the chart's connection to that Redis; the JSON log lines of the agent's pods.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import Redis from 'ioredis';
import { RedisServer, startRedis } from '../../test/support/redis-server';
import { createSecret, REDIS_AUTH_SECRET } from './charts';
import { ControlPlane } from './control-plane';
import { Keda, KedaOptions } from './keda';
import { NodeAgent } from './node-agent';

export interface DemoCluster {
  readonly plane: ControlPlane;
  readonly agent: NodeAgent;
  readonly keda: Keda;
  readonly server: RedisServer;
  /** A client of the server, for the test's own reads. */
  readonly redis: Redis;
}

/** Starts everything; what started is handed to `started` at once, so afterAll can stop it when a later step fails. */
export async function startDemoCluster(namespace: string, password: string, started: (parts: Partial<DemoCluster>) => void, kedaOptions: KedaOptions = {}): Promise<DemoCluster> {
  const server = await startRedis({ password });
  const redis = new Redis(server.port, '127.0.0.1', { password, protocol: 2 });
  started({ server, redis });
  const plane = await ControlPlane.start({ kwokNodes: 0 });
  started({ server, redis, plane });
  const agent = await NodeAgent.start(plane);
  started({ server, redis, plane, agent });
  const keda = await Keda.start(plane, kedaOptions);
  started({ server, redis, plane, agent, keda });
  await plane.createRestrictedNamespace(namespace);
  await createSecret(plane, namespace, REDIS_AUTH_SECRET, { password });
  return { plane, agent, keda, server, redis };
}

export async function stopDemoCluster(parts: Partial<DemoCluster>): Promise<void> {
  await parts.agent?.stop();
  await parts.plane?.stop();
  parts.redis?.disconnect();
  await parts.server?.stop();
}

/** The JSON log lines of the agent's pods in `namespace` whose names start with `prefix`, by pod name. */
export function podLogLines(plane: ControlPlane, namespace: string, prefix: string, exclude?: string): Map<string, any[]> {
  const logs = new Map<string, any[]>();
  const head = `pod-${namespace}-`;
  for (const file of readdirSync(plane.logDir).sort()) {
    if (!file.startsWith(head + prefix) || !file.endsWith('.log') || (exclude && file.startsWith(head + exclude))) continue;
    const lines = readFileSync(join(plane.logDir, file), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    logs.set(file.slice(head.length, -'.log'.length), lines);
  }
  return logs;
}
