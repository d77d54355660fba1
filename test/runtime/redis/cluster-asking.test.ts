/**
 * A command redirected by ASK to a node whose connection then fails: ioredis sends ASKING first and drops that
 * promise, so its rejection reached nobody and Node ended the process (a consumer died this way in a CI run
 * while `cluster scale` moved its queue's slot). The clients made by `clusterClient` catch it; the command
 * itself still fails to its caller. Real redis-servers, the slot put in migration by hand.
 */
import type { Cluster, ClusterOptions } from 'ioredis';
import { clusterClient } from '../../../runtime/redis/connection';
import { ClusterNodes, createCluster, startClusterNodes } from '../../support/redis-cluster';

let cluster: ClusterNodes;

beforeEach(async () => {
  cluster = await startClusterNodes({ count: 3 });
  await createCluster(cluster);
}, 60_000);
afterEach(() => cluster?.stop());

const OPTIONS: ClusterOptions = { redisOptions: { protocol: 2, maxRetriesPerRequest: 1 }, lazyConnect: true, clusterRetryStrategy: () => 200 };

/** Puts the slot of `key` in migration from its owner to another master, stops that master, and runs a GET through `client`. */
async function getRedirectedToADeadNode(client: Cluster, key: string): Promise<string> {
  const clients = cluster.nodes.map((n) => n.client());
  try {
    const slot = Number(await clients[0].call('CLUSTER', 'KEYSLOT', key));
    const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
    const ranges = (await clients[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const owner = ids.indexOf(ranges.find(([start, end]) => start <= slot && slot <= end)![2][2]);
    const target = (owner + 1) % 3;
    await clients[target].call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[owner]);
    await clients[owner].call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[target]);
    if (client.status === 'wait') await client.connect();
    await client.ping();
    await cluster.nodes[target].kill();
    // The key is not on its owner, so the owner answers ASK <target>: ASKING and the GET wait for a node that is gone.
    const error = await client.get(key).then(
      () => 'no error',
      (e: Error) => e.message,
    );
    // Time for the rejections to surface: Jest fails the test on an unhandled one ("Connection is closed."), as it
    // did with a plain ioredis Cluster in place of clusterClient.
    await new Promise((r) => setTimeout(r, 1000));
    return error;
  } finally {
    for (const c of clients) c.disconnect();
    client.disconnect();
  }
}

test.each([true, false])(
  'clusterClient (lazyConnect %s): the ASKING of a redirect to a node that went away rejects into nothing; the GET fails to its caller',
  async (lazyConnect) => {
    const client = clusterClient(
      cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      { ...OPTIONS, lazyConnect },
    );
    const error = await getRedirectedToADeadNode(client, '{asking}');
    // ioredis gives up after its redirections to the dead node (the last an ASK, a MOVED once the owner sees the
    // target fail, or the closed connection).
    expect(error).toMatch(/^Too many Cluster redirections\. Last error: (ReplyError: (ASK|MOVED) \d+ 127\.0\.0\.1:\d+|Error: Connection is closed\.)$/);
  },
  30_000,
);
