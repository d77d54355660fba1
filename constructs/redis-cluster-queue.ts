import type * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkClusterListName, leasedListEnv } from './private/triggers';
import { propError } from './private/validation';
import type { RedisClientPods, RedisConnection } from './redis-connection';
import { LeasedList, RedisListTrigger, RedisListTriggerOptions } from './triggers';

/**
 * A leased queue on a RedisCluster (`cluster.queue('{events}')`): what `QueueWorker`, `Publisher`,
 * `QueueExporter` and `AlertRules.addQueue` take where they take a RedisQueue, and KEDA's `redis-cluster`
 * triggers on its ready, in-flight and delayed events. The list name carries a hash tag so every key of the
 * queue lies in one slot.
 */
export class RedisClusterQueue implements LeasedList {
  /** The list producers push to and consumers take from, with its hash tag. */
  public readonly listName: string;

  /**
   * @param scope the RedisCluster; errors name its path
   * @param connection the cluster's connection (seed nodes, password)
   * @param listName the list, with a hash tag (`{events}`)
   */
  public constructor(
    private readonly scope: Construct,
    public readonly connection: RedisConnection,
    listName: string,
  ) {
    if (!listName || /\s/.test(listName)) throw propError(scope, 'listName', listName, 'must be a non-empty key without white space');
    checkClusterListName(scope, connection, listName);
    this.listName = listName;
  }

  /** What a consumer or publisher of this queue needs in its env: `REDIS_CLUSTER_NODES`, the password and `LIST_NAME`. */
  public envVariables(): Record<string, kplus.EnvValue> {
    return leasedListEnv(this);
  }

  /** Lets these pods reach the cluster's client port when its `networkPolicy` is on (the constructs given the queue register themselves). */
  public allowFrom(client: RedisClientPods): void {
    this.connection.allowFrom(client);
  }

  /** KEDA's `redis-cluster` trigger on the ready list. */
  public listTrigger(options: RedisListTriggerOptions = {}): RedisListTrigger {
    return RedisListTrigger.ofLeasedList(this.scope, this, 'ready', options);
  }

  /** A `redis-cluster` trigger on the leased events (ZCARD of `<list>:inflight`): keeps workers that hold work. */
  public inflightTrigger(options: RedisListTriggerOptions = {}): RedisListTrigger {
    return RedisListTrigger.ofLeasedList(this.scope, this, 'inflight', options);
  }

  /** A `redis-cluster` trigger on the events waiting for a retry (ZCARD of `<list>:delayed`). */
  public delayedTrigger(options: RedisListTriggerOptions = {}): RedisListTrigger {
    return RedisListTrigger.ofLeasedList(this.scope, this, 'delayed', options);
  }
}
