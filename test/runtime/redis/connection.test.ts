import { connectRedis, closeRedis, parseRedisUrl, resolveRedisOptions } from '../../../runtime/redis/connection';
import { freePort, startRedis } from '../../support/redis-server';

describe('resolveRedisOptions', () => {
  test('a URL wins over host and port, and carries credentials, db and TLS', () => {
    const options = resolveRedisOptions({ url: 'rediss://app:p%40ss@redis.example:6380/2', host: 'ignored', port: 1, password: 'env-password' });
    expect(options).toMatchObject({ host: 'redis.example', port: 6380, username: 'app', password: 'p@ss', db: 2, tls: {} });
  });

  test('host options without a URL, explicit timeouts and capped reconnects', () => {
    const options = resolveRedisOptions({ host: 'redis', port: 7000, password: 'pw', db: 1, connectTimeoutMs: 3000 });
    expect(options).toMatchObject({ host: 'redis', port: 7000, password: 'pw', db: 1, connectTimeout: 3000, commandTimeout: 5000 });
    expect(options.tls).toBeUndefined();
    const delays = [1, 2, 3, 10, 100].map((attempt) => (options.retryStrategy as (n: number) => number)(attempt));
    expect(delays).toEqual([100, 200, 400, 3000, 3000]);
  });

  test('defaults to localhost:6379 db 0', () => {
    expect(resolveRedisOptions({})).toMatchObject({ host: 'localhost', port: 6379, db: 0 });
  });

  test.each([
    ['http://redis:6379', /must start with redis:\/\/ or rediss:\/\//],
    ['redis://redis:6379/x', /database 'x'/],
    ['not a url', /not a valid URL/],
  ])('rejects %s', (url, error) => {
    expect(() => parseRedisUrl(url)).toThrow(error);
  });

  test.each([
    ['redis://:S3/cr3t@host:6379', 'S3', 'cr3t'],
    ['redis://u:Se@cret@host:6379/x', 'Se@', 'cret'],
    ['http://u:pw@host:6379', ':pw', 'pw@'],
    ['REDIS://u:pw@host:6379/x', ':pw', 'pw@'],
  ])('the error for %s shows no part of its password', (url, part1, part2) => {
    let message = '';
    try {
      parseRedisUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('***@');
    expect(message).not.toContain(part1);
    expect(message).not.toContain(part2);
  });
});

describe('connectRedis', () => {
  test('connects to a live server', async () => {
    const server = await startRedis();
    try {
      const redis = await connectRedis({ url: server.url });
      expect(await redis.ping()).toBe('PONG');
      await closeRedis(redis);
      expect(redis.status).toBe('end');
    } finally {
      await server.stop();
    }
  });

  test('gives up after the connect deadline when nothing listens', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(connectRedis({ host: '127.0.0.1', port, connectTimeoutMs: 700 })).rejects.toThrow(
      `Redis at redis://127.0.0.1:${port}/0 not reachable within 0.7s: connect ECONNREFUSED`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
