/**
 * Revokes from Celery's remote control: the ids are remembered for messages to come (RevokedIds);
 * held tasks that wait settle REVOKED now, running ones only with `terminate` (through their signal).
 */
import type { Revoke, RevokedIds } from './control';
import type { HeldTask, HeldTasks } from './held-tasks';
import type { RevokeReason } from './results';
import type { Settler } from './settle';

/** A revoke from Celery's remote control: remembered for messages to come; held tasks settle now. */
export function revokeHeld({ ids, terminate }: Revoke, held: HeldTasks, settler: Settler, revoked: RevokedIds): void {
  for (const id of ids) revoked.add(id);
  const wanted = new Set(ids);
  for (const h of held.all()) {
    if (!wanted.has(h.task.id) || h.handedBack) continue;
    if (h.state === 'eta' || h.state === 'due') {
      held.withdraw(h);
      settleRevoked(h, held, settler, 'revoked');
    } else if (h.state === 'running' && terminate) {
      // One process runs every task: stop it through its signal; its slot frees when it returns.
      h.abort?.abort(new Error('revoked with terminate'));
      settleRevoked(h, held, settler, 'terminated');
    }
  }
}

function settleRevoked(h: HeldTask, held: HeldTasks, settler: Settler, reason: RevokeReason): void {
  h.handedBack = true;
  held.release(h);
  settler.background(settler.revoke(h.delivery, h.task, reason));
}
