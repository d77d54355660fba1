/**
 * One node's view of the cluster, typed: the lines of CLUSTER NODES and the fields of CLUSTER INFO.
 * Pure parsing, no IO; a reply that is not what Redis writes is an error naming the line.
 */
import { SlotRange } from './slots';

/** A slot being moved, as the node that moves it (migrating) or receives it (importing) reports it. */
export interface OpenSlot {
  readonly slot: number;
  readonly state: 'migrating' | 'importing';
  /** The other end: the node it migrates to, or imports from. */
  readonly peer: string;
}

/** One line of CLUSTER NODES: what the observing node believes about one node. */
export interface ClusterNodeEntry {
  readonly id: string;
  /** `ip:port` the node is reached at (`:0` when the observer does not know it yet: flag noaddr). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  /** `cluster-announce-hostname`, when the node announces one. */
  readonly hostname?: string;
  readonly flags: readonly string[];
  readonly myself: boolean;
  readonly role: 'master' | 'replica' | 'unknown';
  /** The master of a replica. */
  readonly masterId?: string;
  readonly configEpoch: number;
  readonly linkState: 'connected' | 'disconnected';
  /** Slots it serves, in ranges. */
  readonly slots: readonly SlotRange[];
  /** Slots it moves in or out (only the observer's own line carries them). */
  readonly openSlots: readonly OpenSlot[];
}

/** The fields of CLUSTER INFO this tool reads. */
export interface ClusterInfo {
  readonly state: 'ok' | 'fail';
  readonly slotsAssigned: number;
  readonly knownNodes: number;
  /** Masters serving at least one slot. */
  readonly size: number;
  readonly currentEpoch: number;
}

export function parseClusterNodes(reply: string): ClusterNodeEntry[] {
  return reply
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map(parseNodeLine);
}

function parseNodeLine(line: string): ClusterNodeEntry {
  const fields = line.split(' ');
  const [id, endpoint, flagText, master, , , epoch, link, ...slotFields] = fields;
  const bad = (why: string) => new Error(`unexpected CLUSTER NODES line (${why}): '${line}'`);
  if (fields.length < 8 || !/^[0-9a-f]{40}$/.test(id)) throw bad('expected <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots...>');
  const endpointMatch = /^(.*):(\d+)@(\d+)(?:,(.*))?$/.exec(endpoint);
  if (!endpointMatch) throw bad(`address '${endpoint}'`);
  const [, host, port, busPort, hostname] = endpointMatch;
  const flags = flagText.split(',').filter((f) => f !== 'noflags');
  const slots: SlotRange[] = [];
  const openSlots: OpenSlot[] = [];
  for (const field of slotFields) {
    const open = /^\[(\d+)-([<>])-([0-9a-f]{40})\]$/.exec(field);
    if (open) {
      openSlots.push({ slot: Number(open[1]), state: open[2] === '>' ? 'migrating' : 'importing', peer: open[3] });
      continue;
    }
    const range = /^(\d+)(?:-(\d+))?$/.exec(field);
    if (!range) throw bad(`slot '${field}'`);
    slots.push({ start: Number(range[1]), end: Number(range[2] ?? range[1]) });
  }
  return {
    id,
    address: `${host}:${port}`,
    host,
    port: Number(port),
    busPort: Number(busPort),
    ...(hostname ? { hostname } : {}),
    flags,
    myself: flags.includes('myself'),
    role: flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : 'unknown',
    ...(master !== '-' ? { masterId: master } : {}),
    configEpoch: Number(epoch),
    linkState: link === 'connected' ? 'connected' : 'disconnected',
    slots,
    openSlots,
  };
}

/** Parses CLUSTER INFO (`field:value` lines). */
export function parseClusterInfo(reply: string): ClusterInfo {
  const fields = new Map(
    reply
      .split(/\r?\n/)
      .map((line) => line.split(':'))
      .filter((parts) => parts.length === 2)
      .map(([k, v]) => [k, v.trim()]),
  );
  const number = (name: string) => {
    const value = Number(fields.get(name));
    if (!Number.isInteger(value)) throw new Error(`unexpected CLUSTER INFO: no integer ${name} in '${reply.trim().split(/\r?\n/).join(' ')}'`);
    return value;
  };
  const state = fields.get('cluster_state');
  if (state !== 'ok' && state !== 'fail') throw new Error(`unexpected CLUSTER INFO: cluster_state '${state}'`);
  return {
    state,
    slotsAssigned: number('cluster_slots_assigned'),
    knownNodes: number('cluster_known_nodes'),
    size: number('cluster_size'),
    currentEpoch: number('cluster_current_epoch'),
  };
}

/** The observer's own line. */
export function myselfOf(view: readonly ClusterNodeEntry[]): ClusterNodeEntry {
  const me = view.find((n) => n.myself);
  if (!me) throw new Error('CLUSTER NODES has no line flagged myself');
  return me;
}

/** An observer's verdict on a node: `pfail` (flag `fail?`: it alone thinks it down) or `fail` (the majority agreed). */
export function isFailing(entry: ClusterNodeEntry): 'fail' | 'pfail' | undefined {
  return entry.flags.includes('fail') ? 'fail' : entry.flags.includes('fail?') ? 'pfail' : undefined;
}

/** What INFO replication says about a replica's link to its master (undefined on a master). */
export interface ReplicationLink {
  /** `master_link_status:up`: the first sync is done and the link is live. */
  readonly up: boolean;
  /** `master_sync_in_progress:1`: a full sync is running. */
  readonly syncing: boolean;
}

/** Parses INFO replication; a master has no link. */
export function parseReplicationLink(reply: string): ReplicationLink | undefined {
  const fields = new Map(reply.split(/\r?\n/).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
  if (fields.get('role') !== 'slave') return undefined;
  return { up: fields.get('master_link_status') === 'up', syncing: fields.get('master_sync_in_progress') === '1' };
}
