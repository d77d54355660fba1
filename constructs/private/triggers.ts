import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Env, hashTag } from '../../runtime/contract';
import type { RedisConnection } from '../redis-connection';
import type { KedaTriggerConfig, LeasedList } from '../triggers';
import { propError } from './validation';

/**
 * On a Redis Cluster a queue's list name must carry a hash tag (`{events}`): the queue's scripts touch all of
 * its keys at once, which a cluster serves only from one slot. Enforced, not added, as the runtime does: the
 * name is also what producers push to and KEDA counts, so a rewritten one would have them use another key.
 */
export function checkClusterListName(scope: Construct, connection: RedisConnection, listName: string, prop = 'listName'): void {
  if (connection.clusterNodes && hashTag(listName) === undefined) {
    throw propError(scope, prop, listName, `must carry a hash tag on a Redis Cluster, e.g. '{${listName}}', so the queue's keys share one slot`);
  }
}

/**
 * The first `...FromEnv` variable a trigger wants that `defined` lacks: KEDA resolves those keys
 * from the target's (or job template's) container env.
 */
export function missingEnvFromTarget(triggers: KedaTriggerConfig[], defined: Set<string>): { name: string; type: string } | undefined {
  for (const t of triggers) {
    const wanted = [
      ...(t.envFromTarget ?? []),
      ...Object.entries(t.metadata)
        .filter(([k]) => k.endsWith('FromEnv'))
        .map(([, v]) => v),
    ];
    const name = wanted.find((n) => !defined.has(n));
    if (name) return { name, type: t.type };
  }
  return undefined;
}

/** The env of a program working on a leased list: the connection plus `LIST_NAME`. */
export function leasedListEnv(list: LeasedList): Record<string, kplus.EnvValue> {
  return { ...list.connection.envVariables(), [Env.LIST_NAME]: kplus.EnvValue.fromValue(list.listName) };
}
