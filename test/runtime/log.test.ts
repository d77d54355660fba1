import { createLogger, defaultLogFormat, redactUrls } from '../../runtime/log';

describe('redactUrls', () => {
  test.each([
    ['redis://user:secret@host:1/0', 'redis://user:***@host:1/0'],
    ['redis://host:1', 'redis://host:1'],
    ['redis://:S3/cr3t@redis:6379/0', 'redis://:***@redis:6379/0'],
    ['redis://u:Se@cret@redis:6379', 'redis://u:***@redis:6379'],
    ['http://u:pw@redis:6379', 'http://u:***@redis:6379'],
    ['REDIS://:pw@redis:6379', 'REDIS://:***@redis:6379'],
    ['Rediss://token@redis:6380', 'Rediss://***@redis:6380'],
    ['two: redis://:one@a:1 and rediss://u:two@b:2', 'two: redis://:***@a:1 and rediss://u:***@b:2'],
  ])('%s', (text, expected) => {
    expect(redactUrls(text)).toBe(expected);
  });

  test('inside a JSON line, an escaped quote in the password stays inside the value', () => {
    const line = JSON.stringify({ msg: 'x', url: 'redis://:pa"ss@host:1' });
    expect(redactUrls(line)).toBe('{"msg":"x","url":"redis://:***@host:1"}');
  });
});

describe('every log line is redacted, in both formats', () => {
  test.each(['json', 'text'] as const)('%s', (format) => {
    const lines: string[] = [];
    const log = createLogger({ format, write: (line) => lines.push(line), fields: { target: 'REDIS://:Base@pw@h:1' } });
    log.error('cannot parse redis://u:S3/cr3t@host:6379', { error: new Error('bad http://a:b@c') });
    expect(lines).toHaveLength(1);
    for (const secret of ['Base', 'S3', 'cr3t', ':b@']) expect(lines[0]).not.toContain(secret);
    if (format === 'json') {
      expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', msg: 'cannot parse redis://u:***@host:6379', target: 'REDIS://:***@h:1', error: 'bad http://a:***@c' });
    } else {
      expect(lines[0]).toBe('error: cannot parse redis://u:***@host:6379 (target: REDIS://:***@h:1, error: "bad http://a:***@c")');
    }
  });
});

describe('defaultLogFormat', () => {
  test.each([
    [undefined, true, 'text'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['text', false, 'text'],
    ['yaml', true, 'text'],
    ['', false, 'json'],
  ])('given %j, stderr a terminal: %j -> %s', (given, tty, expected) => {
    expect(defaultLogFormat(given, tty)).toBe(expected);
  });
});
