/**
 * `redis-keda cluster <subcommand>`: operations on a Redis Cluster whose nodes are listed by address
 * (`--nodes host:port,...`) or are the pods of a StatefulSet (`--statefulset`), results as JSON on stdout,
 * progress on stderr.
 */
import type { Argv, CommandModule } from 'yargs';
import { addEnvOptions, EnvOption, MAX_DURATION_SECONDS, OptionValues, UsageError } from '../config';
import { ClusterCommands, Commands, CONSISTENCY_DEFAULTS, DEFAULT_CLUSTER_REPLICAS_PER_MASTER, DEFAULT_CLUSTER_TIMEOUT_SECONDS, Env, MIN_CLUSTER_MASTERS } from '../contract';
import { parseNodeAddresses } from '../cluster/addresses';
import { KUBERNETES_OPTIONS } from './cluster-kubernetes-options';
import { DEFAULT_MIGRATE_OPTIONS, MigrateOptions } from '../cluster/migrate-options';
import { lazyHandler } from './lazy';
import { helpSections, METRICS_OPTIONS, REDIS_OPTIONS } from './options';

const CONNECTION = ['redis-username', 'redis-tls', 'redis-tls-ca-file', 'redis-connect-timeout'] as const;

const OPTIONS = {
  nodes: {
    env: Env.CLUSTER_NODES,
    type: 'string',
    describe: 'The cluster nodes, host:port separated by commas (required unless --statefulset names them; create reads both)',
  },
  'replicas-per-master': {
    env: Env.CLUSTER_REPLICAS_PER_MASTER,
    type: 'number',
    integer: true,
    min: 0,
    default: DEFAULT_CLUSTER_REPLICAS_PER_MASTER,
    describe: 'Replicas each master gets (create, scale) or must have (check, fix, rebalance)',
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

const CONSISTENCY_OPTIONS = {
  keys: { env: Env.CONSISTENCY_KEYS, type: 'number', integer: true, min: 1, default: CONSISTENCY_DEFAULTS.keys, describe: 'Keys to INCR and read back' },
  'key-prefix': { env: Env.CONSISTENCY_KEY_PREFIX, type: 'string', default: CONSISTENCY_DEFAULTS.keyPrefix, describe: 'Prefix of the keys (<prefix><n>)' },
  rate: { env: Env.CONSISTENCY_RATE, type: 'number', above: 0, default: CONSISTENCY_DEFAULTS.rate, describe: 'Writes per second at most' },
  duration: {
    env: Env.CONSISTENCY_DURATION,
    type: 'number',
    above: 0,
    max: MAX_DURATION_SECONDS,
    describe: 'Seconds to run, then print the summary and exit 1 if a write was lost (0 otherwise); unset: until SIGTERM (exit 0)',
  },
  ...METRICS_OPTIONS,
} satisfies Record<string, EnvOption>;

const EXEC_OPTIONS = {
  ordinals: {
    env: Env.CLUSTER_EXEC_ORDINALS,
    type: 'string',
    describe: 'Indexes into --nodes (from 0), or with --statefulset the pod ordinals, of the nodes to run the command on, separated by commas (default: every node)',
  },
} satisfies Record<string, EnvOption>;

const MIGRATE_OPTIONS = {
  'migrate-keys': {
    env: Env.CLUSTER_MIGRATE_KEYS,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_MIGRATE_OPTIONS.keysPerMigrate,
    describe: 'Keys per MIGRATE command (each blocks its source node while it runs)',
  },
  'migrate-pipeline': {
    env: Env.CLUSTER_MIGRATE_PIPELINE,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_MIGRATE_OPTIONS.migratesInFlight,
    describe: 'MIGRATE commands sent to a source node in one round trip',
  },
  'migrate-slots': {
    env: Env.CLUSTER_MIGRATE_SLOTS,
    type: 'number',
    integer: true,
    min: 1,
    default: DEFAULT_MIGRATE_OPTIONS.slotsPerWave,
    describe: 'Slots of one source node opened, emptied and closed together (one round trip per step for all of them)',
  },
} satisfies Record<string, EnvOption>;

const REBALANCE_OPTIONS = {
  weights: {
    env: Env.CLUSTER_WEIGHTS,
    type: 'string',
    describe: 'Master weights as host:port=weight separated by commas (a master not named weighs 1; 0 drains it)',
  },
  'use-empty-masters': {
    env: Env.CLUSTER_USE_EMPTY_MASTERS,
    type: 'boolean',
    default: true,
    describe: 'Give masters that serve no slots their share too (--no-use-empty-masters leaves them out)',
  },
} satisfies Record<string, EnvOption>;

const SCALE_OPTIONS = {
  seed: {
    env: Env.CLUSTER_SEED,
    type: 'string',
    describe: 'Nodes of the current cluster (host:port,...), needed only when no node of --nodes is a member yet',
  },
  masters: {
    env: Env.CLUSTER_MASTERS,
    type: 'number',
    integer: true,
    min: MIN_CLUSTER_MASTERS,
    describe:
      'Kubernetes mode (--statefulset, instead of --nodes): the masters wanted; the StatefulSet grows or shrinks to masters x (1 + --replicas-per-master) pods, whose members --nodes does not change',
  },
} satisfies Record<string, EnvOption>;

export type ClusterArgs = OptionValues<typeof OPTIONS>;
export type CreateArgs = ClusterArgs & OptionValues<typeof WAIT_OPTIONS>;
export type ConsistencyArgs = ClusterArgs & OptionValues<typeof CONSISTENCY_OPTIONS>;
export type ExecArgs = ClusterArgs & OptionValues<typeof EXEC_OPTIONS> & { readonly command: readonly (string | number)[] };
export type MigrateArgs = CreateArgs & OptionValues<typeof MIGRATE_OPTIONS>;
export type FixArgs = MigrateArgs;
export type RebalanceArgs = MigrateArgs & OptionValues<typeof REBALANCE_OPTIONS>;
export type ScaleArgs = MigrateArgs & OptionValues<typeof SCALE_OPTIONS>;

/** MIGRATE's batching from the flags. */
export function migrateOptions(args: MigrateArgs): MigrateOptions {
  return { ...DEFAULT_MIGRATE_OPTIONS, keysPerMigrate: args['migrate-keys'], migratesInFlight: args['migrate-pipeline'], slotsPerWave: args['migrate-slots'] };
}

/** `--weights host:port=w,...`, by the address as listed; a malformed entry is a usage error. */
export function parseWeights(text: string | undefined): Map<string, number> {
  const weights = new Map<string, number>();
  if (text === undefined || text.trim() === '') return weights;
  for (const entry of text.split(',').map((e) => e.trim())) {
    const at = entry.lastIndexOf('=');
    const weight = at > 0 ? Number(entry.slice(at + 1)) : NaN;
    if (!(weight >= 0) || !Number.isFinite(weight))
      throw new UsageError(`--weights (or env ${Env.CLUSTER_WEIGHTS}) must be host:port=weight entries (weight a number of at least 0), got '${entry}'`);
    const [node] = parseNodeAddresses(entry.slice(0, at), `--weights (or env ${Env.CLUSTER_WEIGHTS})`);
    weights.set(node.address, weight);
  }
  return weights;
}

/** The listed nodes; a missing or malformed list is a usage error. */
export function listedNodes(args: Pick<ClusterArgs, 'nodes'>) {
  if (args.nodes === undefined || args.nodes.trim() === '') throw new UsageError(`--nodes (or env ${Env.CLUSTER_NODES}) must list the cluster's nodes as host:port,host:port,...`);
  return parseNodeAddresses(args.nodes, `--nodes (or env ${Env.CLUSTER_NODES})`);
}

/** create's layout: the nodes split into masters of `replicas-per-master` replicas each, at least three masters. */
export function checkLayout(args: Pick<ClusterArgs, 'nodes' | 'replicas-per-master'>, command = 'cluster create'): void {
  const count = listedNodes(args).length;
  const perMaster = args['replicas-per-master'] + 1;
  if (count % perMaster !== 0 || count / perMaster < MIN_CLUSTER_MASTERS) {
    throw new UsageError(
      `${command} needs a multiple of ${perMaster} nodes (1 master + ${args['replicas-per-master']} replicas), at least ${MIN_CLUSTER_MASTERS * perMaster}; --nodes lists ${count}`,
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
  builder: (yargs) => subcommandOptions(yargs, {}, listedUnlessKubernetes),
  handler: lazyHandler(() => import('./run/cluster-check')),
};

const fix: CommandModule = {
  command: ClusterCommands.FIX,
  describe:
    'Repair what needs no data moved: clear open slots whose importing side holds none of their keys (SETSLOT STABLE), give uncovered slots to the master serving the fewest (ADDSLOTSRANGE); ' +
    'prints {"changed", "actions", "notFixed", "report"}; exit 1 when the report after it is not ok',
  builder: (yargs) => subcommandOptions(yargs, { ...WAIT_OPTIONS, ...MIGRATE_OPTIONS }, listedUnlessKubernetes),
  handler: lazyHandler(() => import('./run/cluster-fix')),
};

const reconcile: CommandModule = {
  command: ClusterCommands.RECONCILE,
  describe:
    'Bring membership and replicas to the listed nodes (with --statefulset: its pods now) where no data moves: MEET listed nodes the cluster does not know (at their listed address), FORGET failed nodes not listed on every node, ' +
    'make masters without slots replicas of the masters short of --replicas-per-master; prints {"changed", "actions", "report"}; exit 1 when the report after it is not ok',
  builder: (yargs) => subcommandOptions(yargs, WAIT_OPTIONS, listedUnlessKubernetes),
  handler: lazyHandler(() => import('./run/cluster-reconcile')),
};

const consistencyCheck: CommandModule = {
  command: ClusterCommands.CONSISTENCY_CHECK,
  describe:
    'INCR many keys through a cluster connection seeded from --nodes and read each back: counts reads, writes, failed reads and writes, lost writes (a read below the last acknowledged value) ' +
    'and not-acknowledged writes (a read above it), and the longest gap between writes; a JSON line a second on stdout, /metrics, and a final {"summary": true, ...} line',
  builder: (yargs) => subcommandOptions(yargs, CONSISTENCY_OPTIONS, listedUnlessKubernetes),
  handler: lazyHandler(() => import('./run/cluster-consistency-check')),
};

const exec: CommandModule = {
  command: `${ClusterCommands.EXEC} <command..>`,
  describe:
    'Run one Redis command on the nodes of --ordinals (indexes of --nodes, or pod ordinals with --statefulset) and print {"<node>": reply, ...}; exit 1 when it failed on any',
  builder: (yargs) =>
    subcommandOptions(yargs, EXEC_OPTIONS, (args) => {
      const execArgs = args as unknown as ExecArgs;
      // In Kubernetes mode the pods are counted when the command runs; the spelling is checked now.
      if (!inKubernetesMode(args)) execOrdinals(execArgs, listedNodes(args).length);
      else if (execArgs.ordinals !== undefined) execOrdinals(execArgs, Infinity);
    }).positional('command', { type: 'string', array: true, describe: 'The command and its arguments' }),
  handler: lazyHandler(() => import('./run/cluster-exec')),
};

/** `--ordinals 0,2`: distinct indexes below `count` (node indexes, or pod ordinals in Kubernetes mode); unset: every index. */
export function execOrdinals(args: Pick<ExecArgs, 'ordinals' | 'statefulset'>, count: number): number[] {
  if (args.ordinals === undefined) return Array.from({ length: count }, (_, i) => i);
  const ordinals = args.ordinals.split(',').map((o) => o.trim());
  const bad = ordinals.find((o) => !/^\d+$/.test(o) || Number(o) >= count);
  if (bad !== undefined || new Set(ordinals.map(Number)).size !== ordinals.length) {
    const what = inKubernetesMode(args) ? 'pod ordinals' : 'node indexes';
    const range = Number.isFinite(count) ? ` from 0 to ${count - 1}` : '';
    throw new UsageError(`--ordinals (or env ${Env.CLUSTER_EXEC_ORDINALS}) must be distinct ${what}${range} separated by commas, got '${args.ordinals}'`);
  }
  return ordinals.map(Number);
}

const rebalance: CommandModule = {
  command: ClusterCommands.REBALANCE,
  describe:
    'Move slots with their keys (SETSLOT IMPORTING / MIGRATING, GETKEYSINSLOT, pipelined MIGRATE ... KEYS, SETSLOT NODE on every node) so every master serves its share by weight, ' +
    'moving only the slots above a share (with --statefulset: among its pods); first finishes any slot a crashed run left open. A rerun on a balanced cluster moves nothing. ' +
    'Prints {"changed", "finished", "moves", "keys", "report"}; exit 1 when the report after it is not ok',
  builder: (yargs) =>
    subcommandOptions(yargs, { ...WAIT_OPTIONS, ...MIGRATE_OPTIONS, ...REBALANCE_OPTIONS }, (args) => {
      listedUnlessKubernetes(args);
      parseWeights((args as unknown as RebalanceArgs).weights);
    }),
  handler: lazyHandler(() => import('./run/cluster-rebalance')),
};

const scale: CommandModule = {
  command: ClusterCommands.SCALE,
  describe:
    'Bring the cluster to exactly the nodes of --nodes, the desired membership (--seed names a current member when none of them is one): ' +
    'listed nodes not yet members join (MEET), as replicas first where --replicas-per-master asks (on other hosts than their master where possible) and the rest as empty masters, ' +
    'then slots are rebalanced onto the masters that stay and the new ones; members not listed are drained (their slots moved away, their listed replicas re-attached), ' +
    'forgotten by every remaining node (CLUSTER FORGET, within its 60 s ban) and reset (CLUSTER RESET) so they do not gossip themselves back. ' +
    'A rerun converges. Prints {"changed", "joined", "removed", "actions", "rebalance", "report"}; exit 1 when the report after it is not ok',
  builder: (yargs) =>
    subcommandOptions(yargs, { ...WAIT_OPTIONS, ...MIGRATE_OPTIONS, ...SCALE_OPTIONS }, (args) => {
      if (inKubernetesMode(args)) {
        if ((args as unknown as ScaleArgs).masters === undefined)
          throw new UsageError(`cluster scale --statefulset needs --masters (or env ${Env.CLUSTER_MASTERS}), the masters wanted`);
        return;
      }
      checkLayout(args, 'cluster scale');
      const seed = (args as unknown as ScaleArgs).seed;
      if (seed !== undefined && seed.trim() !== '') parseNodeAddresses(seed, `--seed (or env ${Env.CLUSTER_SEED})`);
    }),
  handler: lazyHandler(() => import('./run/cluster-scale')),
};

const upgrade: CommandModule = {
  command: ClusterCommands.UPGRADE,
  describe:
    "Kubernetes mode (--statefulset): restart the pods not on the StatefulSet's update revision (any change of the pod template) one at a time, highest ordinal first: " +
    'a master is failed over to its replica first (CLUSTER FAILOVER, which waits for the replica to catch up), then the partition is lowered to that ordinal, ' +
    'and the next starts once the pod is Ready, back in the cluster with its old node id and the check is ok. A rerun continues. Prints {"steps", "report"}; exit 1 when not ok',
  builder: (yargs) =>
    subcommandOptions(yargs, WAIT_OPTIONS, (args) => {
      if (!inKubernetesMode(args)) throw new UsageError(`cluster upgrade works on a StatefulSet: give --statefulset (or env ${Env.CLUSTER_STATEFULSET})`);
    }),
  handler: lazyHandler(() => import('./run/cluster-upgrade')),
};

/** Whether the StatefulSet, not --nodes, names the nodes. */
export function inKubernetesMode(args: Pick<ClusterArgs, 'statefulset'>): boolean {
  return args.statefulset !== undefined && args.statefulset.trim() !== '';
}

/** check, fix, reconcile, consistency-check: the StatefulSet's pods, or a well-formed --nodes. */
function listedUnlessKubernetes(args: Pick<ClusterArgs, 'nodes' | 'statefulset'>): void {
  if (!inKubernetesMode(args)) listedNodes(args);
}

export const clusterCommand: CommandModule = {
  command: Commands.CLUSTER,
  describe: `Redis Cluster operations on nodes listed by address or a StatefulSet's pods: ${Object.values(ClusterCommands).join(', ')}`,
  builder: (yargs) =>
    addEnvOptions(yargs, OPTIONS)
      .command(create)
      .command(check)
      .command(fix)
      .command(reconcile)
      .command(consistencyCheck)
      .command(exec)
      .command(rebalance)
      .command(scale)
      .command(upgrade)
      .demandCommand(1, `name a cluster subcommand: ${Object.values(ClusterCommands).join(', ')}`)
      .example('$0 cluster create --nodes 10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379,10.0.0.4:6379,10.0.0.5:6379,10.0.0.6:6379', '3 masters with 1 replica each')
      .example('$0 cluster check --nodes 10.0.0.1:6379,10.0.0.2:6379', 'the report; exit 1 when not ok')
      .example('$0 cluster scale --nodes 10.0.0.1:6379,...,10.0.0.10:6379', 'grow 3+3 nodes to 5 masters with a replica each (or shrink: list fewer)')
      .example('$0 cluster exec --statefulset cache --ordinals 0,1,2 CLUSTER INFO', 'on the pods cache-0, cache-1 and cache-2')
      .epilogue(
        `Give the password in env ${Env.REDIS_PASSWORD}: it is sent to every node and never printed. ` +
          `Every option can be set by the environment variable named in its description; a flag wins over the variable. ` +
          `Progress goes to stderr, the result to stdout as one JSON object. Exit codes: 0 ok, 1 failed or not ok, 2 usage error.`,
      ),
  handler: () => undefined,
};
