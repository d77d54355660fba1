/**
 * A Lua script run by SHA (EVALSHA), loaded on first NOSCRIPT. Multi-step changes that must be
 * atomic live in scripts like these, never in separate round trips.
 */
import { createHash } from 'crypto';
import type { RedisClient } from './connection';

export interface LuaScriptOptions {
  /**
   * Run even when Redis is at `maxmemory` (`#!lua flags=allow-oom`). Only for scripts that move or
   * free what is stored: at the limit Redis refuses every script that may write unless it carries
   * this flag, so without it a full queue could never be drained. Scripts that add new work must not
   * carry it: their refusal is what makes a full queue push back on its producers.
   * @default false
   */
  readonly allowOom?: boolean;
}

/** For the scripts that take, move or free stored work: they must run at `maxmemory`, or a full queue never drains. */
export const DRAINS: LuaScriptOptions = { allowOom: true };

/** Redis before 7.0 knows no shebang and fails to compile the line. */
const NO_SHEBANG = /Error compiling script.*near '#'/;

export class LuaScript {
  readonly sha: string;
  /** The script as sent: with its shebang line when it declares flags. */
  readonly lua: string;
  /** The same script without the shebang, for Redis 6.2 (which has no script flags and no OOM refusal of scripts). */
  private readonly legacy?: { sha: string; lua: string };
  private useLegacy = false;

  constructor(
    /** For errors and logs. */
    readonly name: string,
    body: string,
    options: LuaScriptOptions = {},
  ) {
    this.lua = options.allowOom ? `#!lua flags=allow-oom\n${body}` : body;
    this.sha = sha1(this.lua);
    if (options.allowOom) this.legacy = { sha: sha1(body), lua: body };
  }

  /** Runs the script; bulk replies come back as strings (UTF-8 decoded). */
  run(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.call(
      keys,
      args,
      (...a) => redis.evalsha(...a),
      (...a) => redis.eval(...a),
    );
  }

  /** Runs the script; bulk replies come back as Buffers, byte for byte (for values that need not be UTF-8). */
  runBuffer(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.call(
      keys,
      args,
      (...a) => redis.callBuffer('evalsha', ...a),
      (...a) => redis.callBuffer('eval', ...a),
    );
  }

  private async call(keys: readonly string[], args: readonly Arg[], evalsha: Eval, evalScript: Eval): Promise<unknown> {
    try {
      return await this.send(keys, args, evalsha, evalScript);
    } catch (error) {
      if (!this.legacy || this.useLegacy || !(error instanceof Error) || !NO_SHEBANG.test(error.message)) throw withName(this.name, error);
      this.useLegacy = true;
    }
    try {
      return await this.send(keys, args, evalsha, evalScript);
    } catch (error) {
      throw withName(this.name, error);
    }
  }

  private async send(keys: readonly string[], args: readonly Arg[], evalsha: Eval, evalScript: Eval): Promise<unknown> {
    const { sha, lua } = this.useLegacy && this.legacy ? this.legacy : this;
    try {
      return await evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    }
    // EVAL caches the script, so the next run hits EVALSHA.
    return await evalScript(lua, keys.length, ...keys, ...args);
  }
}

/** A script argument; a Buffer goes to Redis byte for byte. */
type Arg = string | number | Buffer;
type Eval = (script: string, numKeys: number, ...args: Arg[]) => Promise<unknown>;

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function withName(name: string, error: unknown): Error {
  if (error instanceof Error) {
    error.message = `${name}: ${error.message}`;
    return error;
  }
  return new Error(`${name}: ${String(error)}`);
}
