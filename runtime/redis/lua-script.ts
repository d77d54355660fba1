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

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw withName(this.name, error);
    }
    try {
      // EVAL caches the script, so the next run hits EVALSHA.
      return await redis.eval(this.lua, keys.length, ...keys, ...args);
    } catch (error) {
      throw withName(this.name, error);
    }
  }
}

function withName(name: string, error: unknown): Error {
  if (error instanceof Error) {
    error.message = `${name}: ${error.message}`;
    return error;
  }
  return new Error(`${name}: ${String(error)}`);
}
