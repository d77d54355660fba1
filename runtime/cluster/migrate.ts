/**
 * Moving slots with their keys from one master to another, the way Redis Cluster expects it:
 * SETSLOT IMPORTING on the target, MIGRATING on the source, the keys moved by GETKEYSINSLOT and
 * pipelined `MIGRATE ... KEYS`, then SETSLOT NODE on the target, the source and every other node.
 *
 * Slots go in waves (many slots of one source per round trip), the sources side by side, because a
 * slot holds few keys on most clusters: round trips per slot, not bytes, bound a rebalance. Every
 * step is idempotent: a rerun after a crash finds the slot IMPORTING / MIGRATING between the same
 * pair, or already owned by the target, and carries on from there. Every reply is checked.
 */
import { Logger } from '../log';
import { sleep } from '../sleep';
import { NodeClient, PipelineReply } from './node-client';
import { MigrateOptions } from './migrate-options';
import { NodeState } from './node-state';
import { formatRange, rangesOf } from './slots';

/** One slot to move from master `from` to master `to` (node ids). */
export interface SlotMove {
  readonly slot: number;
  readonly from: string;
  readonly to: string;
}

export interface MigrateResult {
  readonly slots: number;
  readonly keys: number;
}

/** Where the work happens: a client per node id, and every node SETSLOT NODE is sent to. */
export interface MigrateNodes {
  client(id: string): NodeClient | undefined;
  /** Every node of the cluster that answers (masters and replicas: a replica declines, which is fine). */
  all(): readonly { readonly id: string; readonly client: NodeClient }[];
}

/** The target and the source already agree the slot is the target's: nothing left to do on them. */
const ALREADY_OWNER = /I'm already the owner of hash slot/;
const NOT_OWNER = /I'm not the owner of hash slot/;
/** A node that turned replica (it lost its last slot, cluster-allow-replica-migration): its master speaks for it. */
const NOT_A_MASTER = /Please use SETSLOT only with masters/;
/** MIGRATE gave up on the target mid-way: some keys may have moved; the next round moves the rest. */
const IO_ERROR = /IOERR/;
const BUSY_KEY = /BUSYKEY/;
const MAX_IO_RETRIES = 3;
/** The target says the cluster is down (it lost sight of a majority for a moment, or just joined): wait and retry. */
const TARGET_DOWN = /CLUSTERDOWN|TRYAGAIN/;
const DOWN_RETRY_MS = 500;
const MAX_DOWN_RETRIES = 60;

/** A MIGRATE that cannot go on: the target holds a key of the same name, or the source refused. */
export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Slots left half-moved (IMPORTING / MIGRATING), as the moves that finish them: a rerun starts with these. */
export function openMoves(states: readonly NodeState[]): SlotMove[] {
  const moves = new Map<number, SlotMove>();
  for (const s of states) {
    for (const o of s.myself.openSlots) {
      const move = o.state === 'migrating' ? { slot: o.slot, from: s.id, to: o.peer } : { slot: o.slot, from: o.peer, to: s.id };
      // The source's word wins: it holds the keys.
      if (o.state === 'migrating' || !moves.has(o.slot)) moves.set(o.slot, move);
    }
  }
  return [...moves.values()].sort((a, b) => a.slot - b.slot);
}

/** Moves the slots, each source's waves one after the other and the sources side by side. */
export async function migrateSlots(moves: readonly SlotMove[], nodes: MigrateNodes, options: MigrateOptions, log: Logger): Promise<MigrateResult> {
  const bySource = new Map<string, SlotMove[]>();
  for (const m of moves) bySource.set(m.from, [...(bySource.get(m.from) ?? []), m]);
  const results = await Promise.all(
    [...bySource.entries()].map(async ([from, list]) => {
      let keys = 0;
      for (let i = 0; i < list.length; i += options.slotsPerWave) keys += await migrateWave(list.slice(i, i + options.slotsPerWave), from, nodes, options, log);
      return keys;
    }),
  );
  return { slots: moves.length, keys: results.reduce((a, b) => a + b, 0) };
}

function required(nodes: MigrateNodes, id: string): NodeClient {
  const client = nodes.client(id);
  if (!client) throw new MigrationError(`node ${id} takes part in a slot move but cannot be reached`);
  return client;
}

/** Throws naming the node, the step and the slot unless every reply is OK or an error `accept` allows; returns the accepted errors' slots. */
export function checkReplies(client: NodeClient, what: string, slots: readonly number[], replies: readonly PipelineReply[], accept: readonly RegExp[] = []): Set<number> {
  const accepted = new Set<number>();
  replies.forEach((reply, i) => {
    if ('error' in reply) {
      if (accept.some((a) => a.test(reply.error))) accepted.add(slots[i]);
      else throw new MigrationError(`${what} of slot ${slots[i]} on ${client.address} failed: ${reply.error}`);
    } else if (reply.value !== 'OK') throw new MigrationError(`${what} of slot ${slots[i]} on ${client.address}: expected OK, got ${JSON.stringify(reply.value)}`);
  });
  return accepted;
}

/** Sends one command per slot to `client` in one pipeline. */
export function perSlot(client: NodeClient, what: string, slots: readonly number[], command: (slot: number) => (string | number)[]): Promise<PipelineReply[]> {
  return client.pipeline(what, slots.map(command));
}

async function migrateWave(wave: readonly SlotMove[], from: string, nodes: MigrateNodes, options: MigrateOptions, log: Logger): Promise<number> {
  const source = required(nodes, from);
  const byTarget = new Map<string, number[]>();
  for (const m of wave) byTarget.set(m.to, [...(byTarget.get(m.to) ?? []), m.slot]);
  const targetOf = new Map(wave.map((m) => [m.slot, m.to]));
  const slots = wave.map((m) => m.slot);
  const fields = { from: source.address, to: [...byTarget.keys()].map((id) => required(nodes, id).address), slots: rangesOf(slots).map(formatRange) };

  // 1. Open: IMPORTING on the targets first (so no ASK finds a target that refuses), then MIGRATING on the source.
  for (const [to, list] of byTarget) {
    const target = required(nodes, to);
    checkReplies(target, 'SETSLOT IMPORTING', list, await perSlot(target, 'SETSLOT IMPORTING', list, (s) => ['CLUSTER', 'SETSLOT', s, 'IMPORTING', from]), [ALREADY_OWNER]);
  }
  const migrating = await perSlot(source, 'SETSLOT MIGRATING', slots, (s) => ['CLUSTER', 'SETSLOT', s, 'MIGRATING', targetOf.get(s) as string]);
  // Not the owner any more (or a replica now): a crashed run got past SETSLOT NODE on the source; its keys are gone.
  const sourceDone = checkReplies(source, 'SETSLOT MIGRATING', slots, migrating, [NOT_OWNER, NOT_A_MASTER]);

  // 2. The keys, until the source holds none of the wave's slots.
  let moved = 0;
  let pending = slots.filter((s) => !sourceDone.has(s));
  let ioRetries = 0;
  let downRetries = 0;
  const batch = options.keysPerMigrate * options.migratesInFlight;
  while (pending.length > 0) {
    const listed = await source.pipeline(
      'CLUSTER GETKEYSINSLOT',
      pending.map((s) => ['CLUSTER', 'GETKEYSINSLOT', s, batch]),
      'buffers',
    );
    const commands: { slot: number; keys: Buffer[] }[] = [];
    const next: number[] = [];
    listed.forEach((reply, i) => {
      if ('error' in reply || !Array.isArray(reply.value)) {
        throw new MigrationError(
          `CLUSTER GETKEYSINSLOT of slot ${pending[i]} on ${source.address}: ${'error' in reply ? reply.error : `expected a list, got ${JSON.stringify(reply.value)}`}`,
        );
      }
      const keys = reply.value as Buffer[];
      if (keys.length === 0) return;
      next.push(pending[i]);
      for (let k = 0; k < keys.length; k += options.keysPerMigrate) commands.push({ slot: pending[i], keys: keys.slice(k, k + options.keysPerMigrate) });
    });
    if (commands.length === 0) break;
    // A slot with a full batch has more keys than one round moves: say how far it got.
    const big = listed.some((reply) => 'value' in reply && Array.isArray(reply.value) && reply.value.length >= batch);
    if (big) log.info('moving keys', { ...fields, slots: rangesOf(next).map(formatRange), keys: commands.reduce((n, c) => n + c.keys.length, 0), movedSoFar: moved });
    let ioError: string | undefined;
    let downError: string | undefined;
    for (let c = 0; c < commands.length; c += options.migratesInFlight) {
      const chunk = commands.slice(c, c + options.migratesInFlight);
      const replies = await source.pipeline(
        'MIGRATE',
        chunk.map(({ slot, keys }) => {
          const target = required(nodes, targetOf.get(slot) as string);
          return ['MIGRATE', target.node.host, target.node.port, '', 0, options.migrateTimeoutMs, ...source.migrateAuth(), 'KEYS', ...keys];
        }),
      );
      replies.forEach((reply, i) => {
        const { slot, keys } = chunk[i];
        if ('error' in reply) {
          if (BUSY_KEY.test(reply.error)) {
            throw new MigrationError(
              `MIGRATE of slot ${slot} from ${source.address} to ${required(nodes, targetOf.get(slot) as string).address}: the target already holds a key of that name ` +
                `(${reply.error}); one of ${keys.length} keys (${keys.slice(0, 3).map(String).join(', ')}${keys.length > 3 ? ', ...' : ''}) exists on both: compare them, delete the wrong copy, then rerun`,
            );
          }
          if (TARGET_DOWN.test(reply.error)) downError = `MIGRATE of slot ${slot} from ${source.address}: ${reply.error}`;
          else if (IO_ERROR.test(reply.error)) ioError = `MIGRATE of slot ${slot} from ${source.address}: ${reply.error}`;
          else throw new MigrationError(`MIGRATE of slot ${slot} from ${source.address} failed: ${reply.error}`);
        } else if (reply.value === 'OK') moved += keys.length;
        else if (reply.value !== 'NOKEY') throw new MigrationError(`MIGRATE of slot ${slot} from ${source.address}: expected OK or NOKEY, got ${JSON.stringify(reply.value)}`);
      });
    }
    if (downError) {
      if (++downRetries > MAX_DOWN_RETRIES) throw new MigrationError(`${downError} (for ${(MAX_DOWN_RETRIES * DOWN_RETRY_MS) / 1000} s)`);
      log.warn('the target answers CLUSTERDOWN; retrying the keys left', { ...fields, error: downError });
      await sleep(DOWN_RETRY_MS);
    }
    if (ioError) {
      if (++ioRetries > MAX_IO_RETRIES) throw new MigrationError(`${ioError} (${MAX_IO_RETRIES} retries)`);
      log.warn('MIGRATE timed out or lost the target; retrying the keys left', { ...fields, error: ioError });
    }
    pending = next;
  }

  // 3. Close: the target first (it bumps its epoch and wins any conflict), then the source, then every other node.
  for (const [to, list] of byTarget) {
    const target = required(nodes, to);
    checkReplies(target, 'SETSLOT NODE', list, await perSlot(target, 'SETSLOT NODE', list, (s) => ['CLUSTER', 'SETSLOT', s, 'NODE', to]));
  }
  const setNode = (s: number) => ['CLUSTER', 'SETSLOT', s, 'NODE', targetOf.get(s) as string];
  checkReplies(source, 'SETSLOT NODE', slots, await perSlot(source, 'SETSLOT NODE', slots, setNode), [NOT_A_MASTER]);
  await Promise.all(
    nodes
      .all()
      .filter(({ id }) => id !== from)
      .map(async ({ id, client: c }) => {
        const others = slots.filter((s) => targetOf.get(s) !== id);
        checkReplies(c, 'SETSLOT NODE', others, await perSlot(c, 'SETSLOT NODE', others, setNode), [NOT_A_MASTER]);
      }),
  );
  log.info('moved slots', { ...fields, count: slots.length, keys: moved });
  return moved;
}

/** MigrateNodes over clients whose ids were read (a cluster state). */
export function migrateNodes(clients: readonly NodeClient[], states: readonly NodeState[]): MigrateNodes {
  const members = states.flatMap((s) => {
    const client = clients.find((c) => c.node.address === s.node.address);
    return client ? [{ id: s.id, client }] : [];
  });
  const byId = new Map(members.map((m) => [m.id, m.client]));
  return { client: (id) => byId.get(id), all: () => members };
}
