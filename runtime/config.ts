/**
 * Every CLI option falls back to an environment variable (the name a construct sets, from
 * `contract/env.ts`), then to a built-in default. Options are declared once as {@link EnvOption}
 * specs; {@link addEnvOptions} turns them into yargs options whose help names the variable, and
 * validates the value wherever it came from, so a bad `PUBLISH_COUNT=abc` is a usage error
 * (exit 2) just like a bad `--count abc`.
 */
import type { Argv } from 'yargs';

export type EnvOptionType = 'string' | 'number' | 'boolean';

export interface EnvOption {
  /** Environment variable read when the flag is not given. */
  readonly env: string;
  readonly describe: string;
  readonly type: EnvOptionType;
  /** Used when neither the flag nor the variable is set. @default - none: the option is unset */
  readonly default?: string | number | boolean;
  /** What `--help` shows as the default when it is computed rather than literal. */
  readonly defaultDescription?: string;
  /** Numbers only. */
  readonly integer?: boolean;
  /** Numbers only: the smallest valid value (inclusive). */
  readonly min?: number;
  /** Numbers only: the largest valid value (inclusive). */
  readonly max?: number;
  /** Numbers only: values must be strictly greater than this. */
  readonly above?: number;
  readonly choices?: readonly string[];
  /** Help section heading. */
  readonly group?: string;
  /** `--help` must not print the value (it may hold a password, like REDIS_URL). */
  readonly sensitive?: boolean;
}

/** The help section of a command's own options (yargs' default heading). */
export const OWN_OPTIONS = 'Options:';
/** The help section of the options every command shares (logging, --help, --version), listed last. */
export const GENERAL_OPTIONS = 'General options:';

type ValueOf<O extends EnvOption> = O['type'] extends 'number' ? number : O['type'] extends 'boolean' ? boolean : string;

/** The parsed values of a set of specs, keyed by flag name (`argv['wait-min']`). */
export type OptionValues<T extends Record<string, EnvOption>> = {
  readonly [K in keyof T]: T[K] extends { default: string | number | boolean } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

/**
 * The largest number of seconds a duration option takes (about 31 years): beyond it no lease,
 * timeout or interval means anything, and times computed from it leave what a Date holds.
 */
export const MAX_DURATION_SECONDS = 1e9;

/** A usage problem found after yargs parsed the command line; exits 2 like yargs' own. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The command line as typed. yargs hands a number option over already converted (`abc` becomes
 * NaN), so a message about a bad number looks up what was typed here.
 */
let typedArgs: readonly string[] = process.argv.slice(2);

/** Sets the command line {@link typedValue} reads (the CLI passes what it parses). */
export function rememberCommandLine(args: readonly string[]): void {
  typedArgs = args;
}

/** The value typed for `--name` (`--name v` or `--name=v`; the last one wins), or undefined. */
export function typedValue(name: string, args: readonly string[] = typedArgs): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') break;
    if (args[i] === `--${name}` && i + 1 < args.length) value = args[++i];
    else if (args[i].startsWith(`--${name}=`)) value = args[i].slice(name.length + 3);
  }
  return value;
}

/** What was typed for an option whose parsed value is `value`, for a message: the text typed when the parse lost it (NaN). */
export function asTyped(name: string, value: unknown): string {
  if (typeof value === 'number' && Number.isNaN(value)) return typedValue(name) ?? String(value);
  return String(value);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** The value of an environment variable as an option's type; '' counts as unset. Invalid values are kept raw for the check to report. */
export function envValue(type: EnvOptionType, name: string, env: NodeJS.ProcessEnv = process.env): string | number | boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  switch (type) {
    case 'number': {
      const n = Number(raw.trim());
      return Number.isNaN(n) ? raw : n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      return TRUE.has(v) ? true : FALSE.has(v) ? false : raw;
    }
    default:
      return raw;
  }
}

/** Adds the specs as yargs options (default: env, then spec default) and a check of their values. */
export function addEnvOptions<T>(yargs: Argv<T>, specs: Record<string, EnvOption>, env: NodeJS.ProcessEnv = process.env): Argv<T> {
  let y = yargs;
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = envValue(spec.type, spec.env, env);
    y = y.option(name, {
      type: spec.type,
      describe: `${spec.describe} [env: ${spec.env}]`,
      default: fromEnv ?? spec.default,
      defaultDescription: fromEnv === undefined ? spec.defaultDescription : describeEnvDefault(spec, fromEnv),
      choices: spec.choices as string[] | undefined,
      // An explicit group for the command's own options: yargs lists the groups in the order they were
      // first named, so these come before the shared connection options and the general ones.
      group: spec.group ?? OWN_OPTIONS,
      // A boolean given as a bare flag must not swallow the next word.
      ...(spec.type === 'boolean' ? {} : { requiresArg: true }),
    });
  }
  return y.check((argv) => {
    const problems = Object.entries(specs)
      .map(([name, spec]) => checkValue(name, spec, argv[name]))
      .filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new UsageError(problems.join('; '));
    return true;
  });
}

function describeEnvDefault(spec: EnvOption, value: string | number | boolean): string {
  return spec.sensitive ? `set by ${spec.env}` : `${JSON.stringify(value)} from ${spec.env}`;
}

function checkValue(name: string, spec: EnvOption, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const where = `--${name} (or env ${spec.env})`;
  if (Array.isArray(value)) return `${where} was given more than once`;
  if (spec.type === 'boolean') {
    return typeof value === 'boolean' ? undefined : `${where} must be true or false, got '${String(value)}'`;
  }
  if (spec.type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${where} must be a number, got '${asTyped(name, value)}'`;
    if (spec.integer && !Number.isInteger(value)) return `${where} must be an integer, got ${value}`;
    if (spec.min !== undefined && value < spec.min) return `${where} must be at least ${spec.min}, got ${value}`;
    if (spec.max !== undefined && value > spec.max) return `${where} must be at most ${spec.max}, got ${value}`;
    if (spec.above !== undefined && value <= spec.above) return `${where} must be greater than ${spec.above}, got ${value}`;
    return undefined;
  }
  if (typeof value !== 'string') return `${where} must be a string`;
  if (spec.choices && !spec.choices.includes(value)) return `${where} must be one of ${spec.choices.join(', ')}, got '${value}'`;
  return undefined;
}
