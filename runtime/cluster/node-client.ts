/**
 * One connection per listed node (a plain client: cluster operations address each node, never a slot),
 * every reply checked: a command that fails or answers something unexpected throws an error naming the
 * node and the step, never the password.
 */
import type Redis from 'ioredis';
import { errorMessage, Logger } from '../log';
import { closeRedis, connectRedis, RedisConnectionOptions } from '../redis/connection';
import { NodeAddress } from './addresses';
import { ClusterInfo, ClusterNodeEntry, parseClusterInfo, parseClusterNodes, parseReplicationLink, ReplicationLink } from './topology';

/** How to reach every node: the connection options of one node, without host and port. */
export type NodeConnectionOptions = Omit<RedisConnectionOptions, 'url' | 'host' | 'port' | 'db'>;

/** Who MIGRATE authenticates as on the target (the same user and password every node takes). */
export interface MigrateCredentials {
  readonly username?: string;
  readonly password?: string;
}

/** One reply of a pipeline: the value, or the Redis error's message. */
export type PipelineReply = { readonly value: unknown } | { readonly error: string };

export class NodeClient {
  constructor(
    readonly node: NodeAddress,
    private readonly redis: Redis,
    private readonly credentials: MigrateCredentials = {},
  ) {}

  /** MIGRATE's authentication arguments (`AUTH2 user pass`, `AUTH pass` or none); never logged. */
  migrateAuth(): string[] {
    const { username, password } = this.credentials;
    if (password === undefined) return [];
    return username ? ['AUTH2', username, password] : ['AUTH', password];
  }

  /**
   * Sends the commands in one pipeline (one round trip); each reply or error is returned in order, for the
   * caller to check (as Buffers with `'buffers'`: keys need not be UTF-8). A lost connection fails the whole call, naming the step.
   */
  async pipeline(what: string, commands: readonly (readonly (string | number | Buffer)[])[], replyType: 'text' | 'buffers' = 'text'): Promise<PipelineReply[]> {
    if (commands.length === 0) return [];
    let replies: [Error | null, unknown][] | null;
    const pipeline = this.redis.pipeline();
    for (const [command, ...args] of commands) {
      if (replyType === 'buffers') pipeline.callBuffer(String(command), ...args);
      else pipeline.call(String(command), ...args);
    }
    try {
      replies = await pipeline.exec();
    } catch (error) {
      throw new Error(`${what} on ${this.address} failed: ${errorMessage(error)}`);
    }
    if (!replies || replies.length !== commands.length) throw new Error(`${what} on ${this.address}: expected ${commands.length} replies, got ${replies?.length ?? 0}`);
    return replies.map(([error, value]) => (error ? { error: error.message } : { value }));
  }

  get address(): string {
    return this.node.address;
  }

  /** Sends a command; a Redis error becomes `<what> on <address>: <error>`. */
  async call(what: string, command: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.call(command, ...args);
    } catch (error) {
      throw new Error(`${what} on ${this.address} failed: ${errorMessage(error)}`);
    }
  }

  /** A command whose only good reply is OK. */
  async ok(what: string, command: string, ...args: (string | number)[]): Promise<void> {
    const reply = await this.call(what, command, ...args);
    if (reply !== 'OK') throw new Error(`${what} on ${this.address}: expected OK, got ${JSON.stringify(reply)}`);
  }

  private async text(what: string, command: string, ...args: string[]): Promise<string> {
    const reply = await this.call(what, command, ...args);
    const text = Buffer.isBuffer(reply) ? reply.toString() : reply;
    if (typeof text !== 'string') throw new Error(`${what} on ${this.address}: expected text, got ${JSON.stringify(reply)}`);
    return text;
  }

  async myId(): Promise<string> {
    const id = await this.text('CLUSTER MYID', 'CLUSTER', 'MYID');
    if (!/^[0-9a-f]{40}$/.test(id)) throw new Error(`CLUSTER MYID on ${this.address}: expected a 40-character node id, got '${id}'`);
    return id;
  }

  async nodes(): Promise<ClusterNodeEntry[]> {
    return parseClusterNodes(await this.text('CLUSTER NODES', 'CLUSTER', 'NODES'));
  }

  async info(): Promise<ClusterInfo> {
    return parseClusterInfo(await this.text('CLUSTER INFO', 'CLUSTER', 'INFO'));
  }

  async replicationLink(): Promise<ReplicationLink | undefined> {
    return parseReplicationLink(await this.text('INFO replication', 'INFO', 'replication'));
  }

  async keyCount(): Promise<number> {
    const reply = await this.call('DBSIZE', 'DBSIZE');
    if (typeof reply !== 'number') throw new Error(`DBSIZE on ${this.address}: expected an integer, got ${JSON.stringify(reply)}`);
    return reply;
  }

  close(): Promise<void> {
    return closeRedis(this.redis);
  }
}

/** A node that could not be reached, and why. */
export interface UnreachableNode {
  readonly node: NodeAddress;
  readonly error: string;
}

export interface NodeClients {
  readonly clients: readonly NodeClient[];
  readonly unreachable: readonly UnreachableNode[];
  close(): Promise<void>;
}

/** Connects to every node at once; those that cannot be reached within the connect timeout are listed, not thrown. */
export async function connectNodes(nodes: readonly NodeAddress[], options: NodeConnectionOptions, log: Logger): Promise<NodeClients> {
  const results = await Promise.all(
    nodes.map(async (node) => {
      try {
        const redis = await connectRedis(
          { ...options, host: node.host, port: node.port, connectionName: options.connectionName ?? 'redis-keda-cluster' },
          log.child({ node: node.address }),
        );
        return new NodeClient(node, redis, { username: options.username, password: options.password });
      } catch (error) {
        return { node, error: errorMessage(error) };
      }
    }),
  );
  const clients = results.filter((r): r is NodeClient => r instanceof NodeClient);
  return {
    clients,
    unreachable: results.filter((r): r is UnreachableNode => !(r instanceof NodeClient)),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}
