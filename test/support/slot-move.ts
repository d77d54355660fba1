/**
 * Moves one hash slot between masters the way a rebalance does, with raw commands on plain node
 * clients: SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE ... KEYS in batches
 * (a pause between them keeps the slot's keys split over two nodes for a while, as a long
 * migration does), then SETSLOT NODE on the target, the source and the others. Every reply checked.
 */
import type Redis from 'ioredis';

export interface SlotMove {
  readonly slot: number;
  readonly from: string;
  readonly to: string;
  /** Keys moved. */
  readonly keys: number;
  /** MIGRATE calls. */
  readonly batches: number;
}

/** The id of the master serving `slot`, as `via` sees it. */
export async function slotOwner(via: Redis, slot: number): Promise<string> {
  const ranges = (await via.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const range = ranges.find(([start, end]) => start <= slot && slot <= end);
  if (!range) throw new Error(`slot ${slot} is not served`);
  return range[2][2];
}

/** Moves `slot` from its owner to the master `to` (an index of `clients`), `batch` keys per MIGRATE, `pauseMs` between. */
export async function moveSlot(clients: readonly Redis[], slot: number, to: number, batch = 1, pauseMs = 20): Promise<SlotMove> {
  const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
  const fromId = await slotOwner(clients[to], slot);
  const from = ids.indexOf(fromId);
  if (from < 0) throw new Error(`slot ${slot} is served by ${fromId}, a node not given`);
  if (from === to) throw new Error(`slot ${slot} is already served by node ${to}`);
  const [source, target] = [clients[from], clients[to]];
  ok(await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId));
  ok(await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to]));
  const { host, port } = target.options;
  let keys = 0;
  let batches = 0;
  for (;;) {
    const inSlot = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
    if (inSlot.length === 0) break;
    ok(await source.call('MIGRATE', host ?? '127.0.0.1', port ?? 6379, '', 0, 5000, 'KEYS', ...inSlot));
    keys += inSlot.length;
    batches++;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  // The target first: once it owns the slot, no node redirects a client to where the keys no longer are.
  for (const i of [to, from, ...clients.keys()].filter((i, at, all) => all.indexOf(i) === at)) {
    ok(await clients[i].call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]));
  }
  return { slot, from: fromId, to: ids[to], keys, batches };
}

function ok(reply: unknown): void {
  if (reply !== 'OK') throw new Error(`expected OK from the node, got ${JSON.stringify(reply)}`);
}
