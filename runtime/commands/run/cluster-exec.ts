/** The work of `redis-keda cluster exec`, loaded when it runs. */
import { execOnNodes, selectOrdinals } from '../../cluster/exec';
import { ExecArgs, execOrdinals } from '../cluster';
import { runCommand } from '../common';
import { memberNodes, withNodes } from './cluster-nodes';

export const run = runCommand<ExecArgs>(async (args, log) => {
  // In Kubernetes mode the members are in ordinal order, so an ordinal names its pod.
  const members = await memberNodes(args);
  const nodes = selectOrdinals(members, execOrdinals(args, members.length));
  const result = await withNodes(nodes, args, log, ({ clients, unreachable }) => execOnNodes(clients, unreachable, args.command));
  if (!result.ok)
    log.warn('the command failed on some nodes', {
      failed: Object.entries(result.replies)
        .filter(([, r]) => 'error' in r)
        .map(([node]) => node),
    });
  process.stdout.write(JSON.stringify(result.replies) + '\n');
  return result.ok ? 0 : 1;
});
