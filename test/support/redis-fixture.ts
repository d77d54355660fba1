/**
 * The frame of most runtime test files: a redis-server of their own and a client of it, started
 * before the file's tests and stopped after them. Jest only (beforeAll / afterAll): bench/ uses
 * ./redis-server directly.
 */
import Redis from 'ioredis';
import { RedisServer, RedisServerOptions, startRedis } from './redis-server';

/** Starts the server and client before the file's tests and hands them to `use`; stops both after. */
export function withRedis(use: (server: RedisServer, redis: Redis) => void, options: RedisServerOptions = {}): void {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis(options);
    redis = new Redis(server.url, { protocol: 2 });
    use(server, redis);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });
}
