import * as kplus from 'cdk8s-plus-27';
import { Env } from '../../runtime/contract';
import type { KedaTriggerConfig, LeasedList } from '../triggers';

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
