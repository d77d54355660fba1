import { join } from 'path';
import { REPO_ROOT, runCli, spawnProcess } from '../support/cli';
import { transpiledCli } from '../support/runtime-build';
import { freePort } from '../support/redis-server';

describe('--help', () => {
  test.concurrent.each([
    [[], ['publish', 'consume', 'queue', '--log-level', 'LOG_LEVEL']],
    [['publish'], ['--count', 'PUBLISH_COUNT', '--forever', 'PUBLISH_FOREVER', '--batch', 'PUBLISH_BATCH', '--interval', 'PUBLISH_INTERVAL']],
    [['publish'], ['--wait-min', 'WAIT_MIN', '--wait-max', 'WAIT_MAX', '--list', 'LIST_NAME', '--metrics-port', 'METRICS_PORT']],
    [['consume'], ['--once', 'CONSUME_ONCE', '--concurrency', 'CONSUME_CONCURRENCY', '--lease', 'LEASE_SECONDS', '--handler', 'HANDLER', '--sleep-scale', 'SLEEP_SCALE']],
    [['consume'], ['--ready-file', 'READY_FILE', '/run/redis-keda/claimed', '--list', 'LIST_NAME', '--metrics-port', 'METRICS_PORT']],
    [['consume'], ['--redis ', 'REDIS_URL', '--redis-host', 'REDIS_HOST', '--redis-port', 'REDIS_PORT', '--redis-username', 'REDIS_USERNAME', 'REDIS_PASSWORD']],
    [['consume'], ['--redis-db', 'REDIS_DB', '--redis-tls ', 'REDIS_TLS', '--redis-tls-ca-file', 'REDIS_TLS_CA_FILE', 'REDIS_CONNECT_TIMEOUT']],
    [
      ['consume'],
      ['--grace', 'GRACE_SECONDS', '--max-attempts', 'MAX_ATTEMPTS', '--backoff ', 'BACKOFF_SECONDS', '--backoff-max', 'BACKOFF_MAX_SECONDS', '--max-deliveries', 'MAX_DELIVERIES'],
    ],
    [['consume'], ['/readyz', 'as long as it takes', '--redis-connect-timeout']],
    [['queue'], ['reap', 'stats', 'peek-dead', 'redrive', 'purge', '--list', 'LIST_NAME', 'REDIS_URL']],
    [
      ['queue', 'reap'],
      ['lease ran out', 'due retries', '--list', 'LIST_NAME', '--redis ', 'REDIS_URL'],
    ],
    [
      ['queue', 'peek-dead'],
      ['--count', 'newest'],
    ],
    [
      ['queue', 'redrive'],
      ['--yes', '--count', 'exactly as published'],
    ],
    [
      ['queue', 'purge'],
      ['--yes', '--dead', '--all'],
    ],
    [
      ['queue', 'stats'],
      ['ready', 'inflight', 'delayed', 'dead', '--list', 'LIST_NAME'],
    ],
  ])('redis-keda %j --help names its options and their env vars', async (command, expected) => {
    const result = await runCli([...command, '--help']);
    expect(result.code).toBe(0);
    for (const text of expected) expect(result.stdout).toContain(text);
  });

  test.concurrent.each([
    [['publish'], '--count', '--redis-host', '--log-level'],
    [['consume'], '--lease', '--max-attempts', '--redis-host'],
    [['queue', 'peek-dead'], '--count', '--redis-host', '--log-format'],
    [['celery-worker'], '--visibility-timeout', '--redis-host', '--help'],
    [['celery-send'], '--time-limit', '--redis-host', '--version'],
  ])('%j --help lists its own options first, then the connection, then the general options', async (command, own, connection, general) => {
    const { stdout } = await runCli([...command, '--help']);
    const at = (text: string) => stdout.search(new RegExp(`^\\s+(-h, )?${text} `, 'm'));
    // Listed (-1 would be missing); its offset in the help text depends on the usage lines above it.
    expect(at(own)).toBeGreaterThan(0);
    expect(at(own)).toBeLessThan(at(connection));
    expect(at(connection)).toBeLessThan(at(general));
    expect(stdout.indexOf('Options:')).toBeLessThan(stdout.indexOf('Redis connection:'));
    expect(stdout.indexOf('Redis connection:')).toBeLessThan(stdout.indexOf('General options:'));
  });

  test.concurrent('publish --help shows each default', async () => {
    const { stdout } = await runCli(['publish', '--help']);
    expect(stdout).toMatch(/--batch .*\[env: PUBLISH_BATCH\]\s+\[number\] \[default: 10\]/);
    expect(stdout).toMatch(/--list .*\n.*\[env: LIST_NAME\]\s+\[string\] \[default: "events"\]/);
  });

  test.concurrent('shows a default taken from the environment, but never a REDIS_URL (it may hold a password)', async () => {
    const { stdout } = await runCli(['queue', 'stats', '--help'], { env: { REDIS_URL: 'redis://:topsecret@redis:6379', LIST_NAME: 'jobs' } });
    expect(stdout).not.toContain('topsecret');
    expect(stdout).toContain('[default: set by REDIS_URL]');
    expect(stdout).toContain('[default: "jobs" from LIST_NAME]');
  });
});

describe('exit codes', () => {
  test.concurrent.each([
    [[], {}, /name a command/],
    [['publish'], {}, /give --count \(env PUBLISH_COUNT\) or --forever/],
    [['publish', '--count', '3', '--forever'], {}, /not both/],
    [['publish', '--count', '3', '--wait-min', '5', '--wait-max', '2'], {}, /--wait-min \(5\) must not be greater than --wait-max \(2\)/],
    [['publish'], { PUBLISH_COUNT: 'many' }, /--count \(or env PUBLISH_COUNT\) must be a number, got 'many'/],
    [['consume', '--lease', '0'], {}, /--lease \(or env LEASE_SECONDS\) must be greater than 0/],
    [['consume'], { MAX_ATTEMPTS: '0' }, /--max-attempts \(or env MAX_ATTEMPTS\) must be at least 1, got 0/],
    [['consume', '--backoff', '5', '--backoff-max', '1'], {}, /--backoff-max \(1\) must not be less than --backoff \(5\)/],
    [['consume', '--grace', '-1'], {}, /--grace \(or env GRACE_SECONDS\) must be at least 0/],
    [['queue', 'peek-dead', '--count', '0'], {}, /--count must be an integer of at least 1/],
    [['consume'], { CONSUME_ONCE: 'perhaps' }, /--once \(or env CONSUME_ONCE\) must be true or false/],
    [['consume', '--no-such-option'], {}, /Unknown argument/],
    [['queue'], {}, /name a queue subcommand/],
    [['queue', 'vacuum'], {}, /^usage error: unknown command 'queue vacuum'$/],
    [['pubish'], {}, /^usage error: unknown command 'pubish'; did you mean publish\?$/],
    [['publish', '--count', 'abc'], {}, /--count \(or env PUBLISH_COUNT\) must be a number, got 'abc'/],
    [['publish', '--count=1x'], {}, /--count \(or env PUBLISH_COUNT\) must be a number, got '1x'/],
    [['queue', 'peek-dead', '--count', 'abc'], {}, /--count must be an integer of at least 1, got 'abc'/],
  ])('%j with env %j is a usage error: exit 2', async (args, env, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.logs).toEqual([expect.objectContaining({ level: 'error', msg: expect.stringMatching(message) })]);
  });

  test.concurrent('a password on the command line: a warning saying to use the environment, and the password in no line', async () => {
    const port = await freePort();
    const result = await runCli(['queue', 'stats', '--redis', `redis://:S3/cr3t@127.0.0.1:${port}/0`, '--redis-connect-timeout', '0.3']);
    expect(result.code).toBe(1);
    expect(result.logs[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/password was given on the command line .*set env REDIS_PASSWORD/) });
    expect(result.stderr).not.toMatch(/S3|cr3t/);
  });

  test.concurrent('a password in REDIS_URL: no warning', async () => {
    const port = await freePort();
    const result = await runCli(['queue', 'stats', '--redis-connect-timeout', '0.3'], { env: { REDIS_URL: `redis://u:Se@cret@127.0.0.1:${port}/0` } });
    expect(result.code).toBe(1);
    expect(result.logs.filter((l) => l.level === 'warn' && /command line/.test(l.msg))).toEqual([]);
    expect(result.stderr).not.toMatch(/Se@|cret/);
  });

  test.concurrent.each([
    ['throw', 'uncaught error: thrown from a timer'],
    ['reject', 'unhandled rejection: a promise nobody awaited'],
  ])('an error no promise chain catches (%s): exit 1 with a JSON error line saying so, the stack in a field', async (crash, msg) => {
    const port = await freePort();
    const handler = join(REPO_ROOT, 'test', 'runtime', 'fixtures', 'crash-handler.js');
    const result = await runCli(['consume', '--handler', handler, '--metrics-port', '0'], { env: { CRASH: crash, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) } });
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 1, signal: null });
    expect(result.logs.at(-1)).toEqual({ time: expect.any(String), level: 'error', msg, stack: expect.stringContaining('crash-handler.js') });
    // Nothing but log lines on stderr (Node's own crash report would not parse)
    expect(result.stderr.trim().split('\n').length).toBe(result.logs.length);
  });

  test.concurrent('Redis unreachable after the connect timeout: exit 1 with the reason', async () => {
    const port = await freePort();
    const result = await runCli(['consume', '--once'], { env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_CONNECT_TIMEOUT: '0.5' } });
    expect(result.code).toBe(1);
    expect(result.logs.at(-1)).toMatchObject({ level: 'error', msg: expect.stringContaining(`Redis at redis://127.0.0.1:${port}/0 not reachable within 0.5s`) });
  });
});

describe('errors for people', () => {
  test.concurrent('on a terminal (a pty from script(1)), a usage error is one plain sentence, not JSON', async () => {
    const command = `'${process.execPath}' '${transpiledCli()}' publish --count abc`;
    const result = await spawnProcess('script', ['-qec', command, '/dev/null']).done;
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("error: usage error: --count (or env PUBLISH_COUNT) must be a number, got 'abc' (help: redis-keda publish --help)\r\n");
  });

  test.concurrent('on a terminal, a fatal error is a sentence too', async () => {
    const port = await freePort();
    const command = `'${process.execPath}' '${transpiledCli()}' queue stats --redis-port ${port} --redis-host 127.0.0.1 --redis-connect-timeout 0.3`;
    const result = await spawnProcess('script', ['-qec', command, '/dev/null']).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(
        `^warn: redis connection error \\(target: redis://127\\.0\\.0\\.1:${port}/0, error: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\r\nerror: Redis at redis://127\\.0\\.0\\.1:${port}/0 not reachable within 0\\.3s: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\r\n$`,
      ),
    );
  });

  test.concurrent.each([
    [['--log-format', 'text'], {}],
    [[], { LOG_FORMAT: 'text' }],
  ])('in a pipe, %j %j asks for sentences', async (flags, env) => {
    const result = await runCli(['pubish', ...flags], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: usage error: unknown command 'pubish'; did you mean publish? (help: redis-keda <command> --help)\n");
  });

  test.concurrent('--log-format json on a terminal keeps JSON lines', async () => {
    const command = `'${process.execPath}' '${transpiledCli()}' --log-format json pubish`;
    const result = await spawnProcess('script', ['-qec', command, '/dev/null']).done;
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ level: 'error', msg: 'usage error: unknown command; did you mean publish?' });
  });
});
