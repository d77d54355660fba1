/**
 * A Lua script run by SHA (EVALSHA), loaded on first NOSCRIPT. Multi-step changes that must be
 * atomic live in scripts like these, never in separate round trips.
 */
import { createHash } from 'crypto';
import type Redis from 'ioredis';

export class LuaScript {
  readonly sha: string;

  constructor(
    /** For errors and logs. */
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; bulk replies come back as strings (UTF-8 decoded). */
  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.call(keys, args, (...a) => redis.evalsha(...a), (...a) => redis.eval(...a));
  }

  /** Runs the script; bulk replies come back as Buffers, byte for byte (for values that need not be UTF-8). */
  runBuffer(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.call(keys, args, (...a) => redis.callBuffer('evalsha', ...a), (...a) => redis.callBuffer('eval', ...a));
  }

  private async call(keys: readonly string[], args: readonly Arg[], evalsha: Eval, evalScript: Eval): Promise<unknown> {
    try {
      return await evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw withName(this.name, error);
    }
    try {
      // EVAL caches the script, so the next run hits EVALSHA.
      return await evalScript(this.lua, keys.length, ...keys, ...args);
    } catch (error) {
      throw withName(this.name, error);
    }
  }
}

/** A script argument; a Buffer goes to Redis byte for byte. */
type Arg = string | number | Buffer;
type Eval = (script: string, numKeys: number, ...args: Arg[]) => Promise<unknown>;

function withName(name: string, error: unknown): Error {
  if (error instanceof Error) {
    error.message = `${name}: ${error.message}`;
    return error;
  }
  return new Error(`${name}: ${String(error)}`);
}
