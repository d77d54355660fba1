/**
 * `cluster exec` (the original's multi-cli.py, with every reply kept): one command on chosen nodes, the
 * replies (or errors) by node. Which node an ordinal names is the caller's: an index of `--nodes` in address
 * mode, a pod's ordinal in Kubernetes mode.
 */
import { errorMessage } from '../log';
import { NodeAddress } from './addresses';
import { NodeClient, UnreachableNode } from './node-client';

/** The members at `ordinals`, in that order; an ordinal without a member throws. */
export function selectOrdinals(members: readonly NodeAddress[], ordinals: readonly number[]): NodeAddress[] {
  return ordinals.map((o) => {
    const node = members[o];
    if (!node) throw new Error(`no node has ordinal ${o}: there are ${members.length} (0 to ${members.length - 1})`);
    return node;
  });
}

export type ExecReply = { readonly reply: unknown } | { readonly error: string };

export interface ExecResult {
  readonly ok: boolean;
  /** Address -> the reply, or the error. */
  readonly replies: Readonly<Record<string, ExecReply>>;
}

/** Buffers become text; everything else as RESP2 gives it. */
function plain(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString();
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}

export async function execOnNodes(clients: readonly NodeClient[], unreachable: readonly UnreachableNode[], command: readonly (string | number)[]): Promise<ExecResult> {
  const [name, ...args] = command.map(String);
  const results = await Promise.all(
    clients.map(async (c): Promise<[string, ExecReply]> => {
      try {
        return [c.address, { reply: plain(await c.call(name, name, ...args)) }];
      } catch (error) {
        return [c.address, { error: errorMessage(error) }];
      }
    }),
  );
  const replies = Object.fromEntries([...results, ...unreachable.map((u): [string, ExecReply] => [u.node.address, { error: `not reachable: ${u.error}` }])]);
  return { ok: Object.values(replies).every((r) => 'reply' in r), replies };
}
