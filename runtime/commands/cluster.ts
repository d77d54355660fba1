/**
 * `redis-keda cluster <subcommand>`: operations on a Redis Cluster whose nodes are listed by address
 * (`--nodes host:port,...`), results as JSON on stdout, progress on stderr.
 */
import type { Argv, CommandModule } from 'yargs';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues, UsageError } from '../config';
import { ClusterCommands, Commands, DEFAULT_CLUSTER_REPLICAS_PER_MASTER, DEFAULT_CLUSTER_TIMEOUT_SECONDS, Env, MIN_CLUSTER_MASTERS } from '../contract';
import { parseNodeAddresses } from '../cluster/addresses';
import { KUBERNETES_OPTIONS } from './cluster-kubernetes-options';
import { lazyHandler } from './lazy';
import { helpSections, REDIS_OPTIONS } from './options';

const CONNECTION = ['redis-username', 'redis-tls', 'redis-tls-ca-file', 'redis-connect-timeout'] as const;

const OPTIONS = {
  nodes: {
    env: Env.CLUSTER_NODES,
    type: 'string',
    describe: 'The cluster nodes, host:port separated by commas (required)',
  },
  'replicas-per-master': {
    env: Env.CLUSTER_REPLICAS_PER_MASTER,
    type: 'number',
    integer: true,
    min: 0,
    default: DEFAULT_CLUSTER_REPLICAS_PER_MASTER,
    describe: 'Replicas each master gets (create) or must have (check, fix)',
  },
  ...KUBERNETES_OPTIONS,
  ...(Object.fromEntries(CONNECTION.map((name) => [name, REDIS_OPTIONS[name]])) as Pick<typeof REDIS_OPTIONS, (typeof CONNECTION)[number]>),
} satisfies Record<string, EnvOption>;

const WAIT_OPTIONS = {
  timeout: {
    env: Env.CLUSTER_TIMEOUT,
    type: 'number',
    above: 0,
    max: MAX_DURATION_SECONDS,
    default: DEFAULT_CLUSTER_TIMEOUT_SECONDS,
    describe: 'Seconds each wait for the nodes to agree (after MEET, after the last change) may take before the command fails (exit 1)',
  },
} satisfies Record<string, EnvOption>;

export type ClusterArgs = OptionValues<typeof OPTIONS>;
export type CreateArgs = ClusterArgs & OptionValues<typeof WAIT_OPTIONS>;
export type FixArgs = CreateArgs;

/** The listed nodes; a missing or malformed list is a usage error. */
export function listedNodes(args: Pick<ClusterArgs, 'nodes'>) {
  if (args.nodes === undefined || args.nodes.trim() === '') throw new UsageError(`--nodes (or env ${Env.CLUSTER_NODES}) must list the cluster's nodes as host:port,host:port,...`);
  return parseNodeAddresses(args.nodes, `--nodes (or env ${Env.CLUSTER_NODES})`);
}

/** create's layout: the nodes split into masters of `replicas-per-master` replicas each, at least three masters. */
export function checkLayout(args: Pick<ClusterArgs, 'nodes' | 'replicas-per-master'>): void {
  const count = listedNodes(args).length;
  const perMaster = args['replicas-per-master'] + 1;
  if (count % perMaster !== 0 || count / perMaster < MIN_CLUSTER_MASTERS) {
    throw new UsageError(
      `cluster create needs a multiple of ${perMaster} nodes (1 master + ${args['replicas-per-master']} replicas), at least ${MIN_CLUSTER_MASTERS * perMaster}; --nodes lists ${count}`,
    );
  }
}

/** A subcommand's options (`extra`, then the shared sections) and the check of the node list, before anything connects. */
function subcommandOptions<T>(yargs: Argv<T>, extra: Record<string, EnvOption>, check: (args: CreateArgs) => void): Argv<T> {
  return helpSections(addEnvOptions(yargs, extra)).check((argv) => {
    check(argv as unknown as CreateArgs);
    return true;
  });
}

const create: CommandModule = {
  command: ClusterCommands.CREATE,
  describe:
    'Join the listed nodes into a cluster (MEET, an even share of the 16384 slots for each master, replicas on other hosts than their master where possible) and wait until every node agrees; ' +
    'a rerun does only what is missing. Refuses nodes of another cluster and nodes holding keys. Prints {"changed", "actions", "report"}',
  builder: (yargs) => subcommandOptions(yargs, WAIT_OPTIONS, checkLayout),
  handler: lazyHandler(() => import('./run/cluster-create')),
};

const check: CommandModule = {
  command: ClusterCommands.CHECK,
  describe:
    'Check that every slot is served by one master all nodes name, no slot is open, no node failed, every master has its replicas; ' +
    'prints the report {"ok", "nodes", "slots", "masters", "problems", "warnings"}; exit 1 when not ok',
  builder: (yargs) => subcommandOptions(yargs, {}, listedNodes),
  handler: lazyHandler(() => import('./run/cluster-check')),
};

const fix: CommandModule = {
  command: ClusterCommands.FIX,
  describe:
    'Repair what needs no data moved: clear open slots whose importing side holds none of their keys (SETSLOT STABLE), give uncovered slots to the master serving the fewest (ADDSLOTSRANGE); ' +
    'prints {"changed", "actions", "notFixed", "report"}; exit 1 when the report after it is not ok',
  builder: (yargs) => subcommandOptions(yargs, WAIT_OPTIONS, listedNodes),
  handler: lazyHandler(() => import('./run/cluster-fix')),
};

export const clusterCommand: CommandModule = {
  command: Commands.CLUSTER,
  describe: 'Redis Cluster operations on nodes listed by address: create, check, fix',
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .command(create)
      .command(check)
      .command(fix)
      .demandCommand(1, 'name a cluster subcommand: create, check or fix')
      .example('$0 cluster create --nodes 10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379,10.0.0.4:6379,10.0.0.5:6379,10.0.0.6:6379', '3 masters with 1 replica each')
      .example('$0 cluster check --nodes 10.0.0.1:6379,10.0.0.2:6379', 'the report; exit 1 when not ok')
      .epilogue(
        `Give the password in env ${Env.REDIS_PASSWORD}: it is sent to every node and never printed. ` +
          `Every option can be set by the environment variable named in its description; a flag wins over the variable. ` +
          `Progress goes to stderr, the result to stdout as one JSON object. Exit codes: 0 ok, 1 failed or not ok, 2 usage error.`,
      ),
  handler: () => undefined,
};
