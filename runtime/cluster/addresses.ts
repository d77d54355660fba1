/** The nodes of address mode: `--nodes host:port,host:port,...`. */
import { UsageError } from '../config';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port` as given (IPv6 in brackets). */
  readonly address: string;
}

/** Parses the list; an empty entry, a missing or invalid port, or a node listed twice is a usage error naming it. */
export function parseNodeAddresses(list: string, option = '--nodes'): NodeAddress[] {
  const entries = list.split(',').map((e) => e.trim());
  const nodes = entries.map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d+)$/.exec(entry);
    const port = match ? Number(match[3]) : NaN;
    if (!match || !(port >= 1 && port <= 65535)) throw new UsageError(`${option} must be host:port entries separated by commas, got '${entry}' in '${list}'`);
    const host = match[1] ?? match[2];
    return { host, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
  });
  const seen = new Set<string>();
  for (const node of nodes) {
    if (seen.has(node.address)) throw new UsageError(`${option} lists ${node.address} more than once`);
    seen.add(node.address);
  }
  return nodes;
}
