/**
 * The upgrade procedure's node set for local redis-server processes: the desired configuration is a set of
 * config directives (`{ hz: '20' }`); a node is outdated while CONFIG GET says otherwise, and restart()
 * stops it (SIGTERM: nodes.conf and the AOF written) and starts it on the same port and dir with them.
 */
import type Redis from 'ioredis';
import type { NodeAddress } from '../../runtime/cluster/addresses';
import type { RestartableNodeSet } from '../../runtime/cluster/node-set';
import type { Logger } from '../../runtime/log';
import { ClusterNodeProcess, ClusterNodes } from './redis-cluster';

const addressOf = (n: ClusterNodeProcess): NodeAddress => ({ host: n.host, port: n.port, address: n.address });

export class LocalNodeSet implements RestartableNodeSet {
  readonly description: string;
  /** Restarts done, in order (what the test asserts the procedure asked for). */
  readonly restarted: string[] = [];

  constructor(
    private readonly cluster: ClusterNodes,
    private readonly desired: Readonly<Record<string, string>>,
  ) {
    this.description = `local nodes ${cluster.addresses}`;
  }

  async members(): Promise<readonly NodeAddress[]> {
    return this.cluster.nodes.map(addressOf);
  }

  /** What the running process says (CONFIG GET), not what it was started with. */
  async runningConfig(node: ClusterNodeProcess): Promise<Record<string, string>> {
    const client: Redis = node.client();
    try {
      const entries = await Promise.all(Object.keys(this.desired).map(async (k) => [k, ((await client.call('CONFIG', 'GET', k)) as string[])[1]] as const));
      return Object.fromEntries(entries);
    } finally {
      client.disconnect();
    }
  }

  async outdated(): Promise<readonly NodeAddress[]> {
    const old: ClusterNodeProcess[] = [];
    for (const node of this.cluster.nodes) {
      const running = await this.runningConfig(node);
      if (Object.entries(this.desired).some(([k, v]) => running[k] !== v)) old.push(node);
    }
    return old.reverse().map(addressOf);
  }

  async restart(address: NodeAddress, log: Logger): Promise<NodeAddress> {
    const node = this.cluster.nodes.find((n) => n.address === address.address);
    if (!node) throw new Error(`${address.address} is not a member of ${this.description}`);
    log.info('restarting local node', { node: node.address, config: this.desired });
    await node.stop();
    await node.restart({ config: this.desired });
    this.restarted.push(node.address);
    return addressOf(node);
  }
}
