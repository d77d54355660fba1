/**
 * `cluster fix`, for the two cases that need no data moved: an open slot whose importing side holds
 * none of its keys (SETSLOT STABLE where it is open: the half-begun migration is rolled back), and
 * slots no node serves (ADDSLOTSRANGE on the master serving the fewest). Anything else `check`
 * reports is left as it is and listed as not fixed.
 */
import { Logger } from '../log';
import { NodeAddress } from './addresses';
import { checkCluster, CheckReport, Problem } from './check';
import { NodeClient, UnreachableNode } from './node-client';
import { readCluster } from './node-state';
import { formatRange, SlotRange } from './slots';
import { waitUntil } from './wait';

export interface FixOptions {
  readonly replicasPerMaster: number;
  /** How long to wait for the nodes to agree on what was changed. */
  readonly timeoutMs: number;
}

export type FixAction =
  { readonly action: 'setslot-stable'; readonly node: string; readonly slot: number } | { readonly action: 'add-slots'; readonly node: string; readonly slots: readonly string[] };

export interface FixResult {
  readonly changed: boolean;
  readonly actions: readonly FixAction[];
  /** Problems fix does not handle (yet), or could not safely: each with why. */
  readonly notFixed: readonly { readonly problem: Problem['problem']; readonly message: string; readonly reason: string }[];
  /** `cluster check` after the fix. */
  readonly report: CheckReport;
}

function parseRange(text: string): SlotRange {
  const [start, end = start] = text.split('-').map(Number);
  return { start, end };
}

const FIXED: ReadonlySet<Problem['problem']> = new Set(['open-slot', 'uncovered-slots']);
/** A consequence of the others (a node without full slot coverage stops serving): it goes when they go. */
const CONSEQUENCE: Problem['problem'] = 'cluster-state-fail';

export async function fixCluster(
  listed: readonly NodeAddress[],
  clients: readonly NodeClient[],
  unreachable: readonly UnreachableNode[],
  options: FixOptions,
  log: Logger,
): Promise<FixResult> {
  const expect = { replicasPerMaster: options.replicasPerMaster };
  const before = checkCluster(listed, await readCluster(clients, unreachable), expect);
  const client = (address: string) => clients.find((c) => c.address === address);
  const actions: FixAction[] = [];
  const notFixed: FixResult['notFixed'][number][] = [];
  const act = (action: FixAction) => {
    actions.push(action);
    const { action: name, ...fields } = action;
    log.info(name, fields);
  };

  for (const p of before.problems) {
    if (p.problem !== 'open-slot') continue;
    const importing = client(p.state === 'importing' ? p.node : p.peer);
    const node = client(p.node);
    if (!importing || !node) {
      notFixed.push({ problem: p.problem, message: p.message, reason: `${importing ? p.node : p.peer} cannot be asked` });
      continue;
    }
    const keys = await importing.call('CLUSTER COUNTKEYSINSLOT', 'CLUSTER', 'COUNTKEYSINSLOT', p.slot);
    if (keys !== 0) {
      notFixed.push({
        problem: p.problem,
        message: p.message,
        reason: `${importing.address} already holds ${String(keys)} keys of slot ${p.slot}: finishing the migration is not fix's work yet`,
      });
      continue;
    }
    await node.ok('CLUSTER SETSLOT STABLE', 'CLUSTER', 'SETSLOT', p.slot, 'STABLE');
    act({ action: 'setslot-stable', node: p.node, slot: p.slot });
  }

  const load = new Map(before.masters.map((m) => [m.node, m.slots]));
  for (const p of before.problems) {
    if (p.problem !== 'uncovered-slots') continue;
    for (const text of p.slots) {
      const range = parseRange(text);
      const [target] = [...load.entries()].filter(([address]) => client(address)).sort((a, b) => a[1] - b[1]);
      if (!target) {
        notFixed.push({ problem: p.problem, message: p.message, reason: 'no master serving slots can be asked' });
        break;
      }
      await (client(target[0]) as NodeClient).ok('CLUSTER ADDSLOTSRANGE', 'CLUSTER', 'ADDSLOTSRANGE', range.start, range.end);
      act({ action: 'add-slots', node: target[0], slots: [formatRange(range)] });
      load.set(target[0], target[1] + range.end - range.start + 1);
    }
  }
  for (const p of before.problems)
    if (!FIXED.has(p.problem) && p.problem !== CONSEQUENCE)
      notFixed.push({ problem: p.problem, message: p.message, reason: 'not one of the cases fix handles (open slots without keys moved, uncovered slots)' });
  if (actions.length === 0) log.info('nothing fix can change', { problems: before.problems.length });

  let report = before;
  const unfixed = new Set(notFixed.map((n) => n.message));
  await waitUntil(
    'every node to see the fixed slots',
    options.timeoutMs,
    async () => {
      report = checkCluster(listed, await readCluster(clients, unreachable), expect);
      // Until the gossip carried the change, nodes disagree on those slots: wait for all but what was left unfixed
      // (and the cluster state that it keeps failing).
      const left = report.problems.filter((p) => !unfixed.has(p.message) && !(p.problem === CONSEQUENCE && unfixed.size > 0));
      return { done: actions.length === 0 || left.length === 0, detail: left.map((p) => p.message).join('; ') };
    },
    log,
  );
  return { changed: actions.length > 0, actions, notFixed, report };
}
