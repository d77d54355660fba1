/** Decoding kombu messages: protocol 2 and 1, times, and every way a message can be unusable. */
import { decodeMessage, parseTime, unsafeInteger } from '../../../runtime/celery/message';
import { buildTaskMessage } from '../../../runtime/celery/producer';
import { envelope } from './helpers';

describe('protocol 2', () => {
  test('reads name, id, args, kwargs, retries, eta, expires, ignore_result and priority from apply_async’s envelope', () => {
    const eta = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const message = buildTaskMessage({ task: 'tasks.add', args: [1, 'two'], kwargs: { c: [3] }, eta, expires: eta + 1000, priority: 6, ignoreResult: true });
    expect(decodeMessage(message.raw)).toEqual({
      ok: true,
      task: {
        id: message.id,
        name: 'tasks.add',
        args: [1, 'two'],
        kwargs: { c: [3] },
        retries: 0,
        eta,
        expires: eta + 1000,
        ignoreResult: true,
        protocol: 2,
        group: undefined,
        parentId: undefined,
        priority: 6,
        rootId: message.id,
        embed: undefined,
        timeLimit: undefined,
      },
    });
  });

  test('reads the time limits [hard, soft] and a canvas when there is one', () => {
    const message = buildTaskMessage({ task: 't', timeLimit: { hard: 10, soft: 5 }, embed: { chain: [{ task: 'next' }] } });
    expect(decodeMessage(message.raw)).toMatchObject({ ok: true, task: { timeLimit: { hard: 10, soft: 5 }, embed: { chain: [{ task: 'next' }], callbacks: null } } });
    expect(decodeMessage(buildTaskMessage({ task: 't', timeLimit: { soft: 2 } }).raw)).toMatchObject({ ok: true, task: { timeLimit: { hard: undefined, soft: 2 } } });
  });

  test('a message without body_encoding carries its body as plain JSON text', () => {
    const raw = JSON.stringify({ body: JSON.stringify([[1], {}, {}]), 'content-type': 'application/json', headers: { task: 't', id: 'i', retries: 2 }, properties: {} });
    expect(decodeMessage(raw)).toMatchObject({ ok: true, task: { name: 't', id: 'i', args: [1], retries: 2 } });
  });
});

describe('protocol 1 (no headers.task)', () => {
  test('takes task, id, args, kwargs, retries, eta and expires from the body; naive times are UTC', () => {
    const raw = envelope({ task: 'tasks.add', id: 'p1', args: [1, 2], kwargs: { x: 1 }, retries: 3, eta: '2030-01-02T03:04:05.123456', expires: null, utc: true });
    expect(decodeMessage(raw)).toMatchObject({
      ok: true,
      task: { id: 'p1', name: 'tasks.add', args: [1, 2], kwargs: { x: 1 }, retries: 3, eta: Date.UTC(2030, 0, 2, 3, 4, 5, 123), expires: undefined, protocol: 1 },
    });
  });

  test('args and kwargs may be left out', () => {
    expect(decodeMessage(envelope({ task: 'tasks.noop', id: 'n' }))).toMatchObject({ ok: true, task: { args: [], kwargs: {} } });
  });
});

describe('unusable messages come back with the reason, the id when there is one, and never throw', () => {
  test.each([
    ['not JSON', 'garbage', /not JSON/, undefined, 'decode'],
    ['a JSON array', '[1]', /not a JSON object/, undefined, 'decode'],
    ['pickle', envelope('x', { task: 't', id: 'pk' }, {}, 'application/x-python-serialize'), /content-type 'application\/x-python-serialize' is not supported/, 'pk', 'content'],
    [
      'an unknown body encoding',
      JSON.stringify({ body: 'x', 'content-type': 'application/json', headers: { task: 't', id: 'z' }, properties: { body_encoding: 'zlib' } }),
      /body_encoding 'zlib'/,
      'z',
      'content',
    ],
    [
      'bad base64',
      JSON.stringify({ body: '@@@', 'content-type': 'application/json', headers: { task: 't', id: 'b' }, properties: { body_encoding: 'base64' } }),
      /not valid base64/,
      'b',
      'decode',
    ],
    ['a body that is not JSON', envelope('{{{', { task: 't', id: 'j' }), /body is not JSON/, 'j', 'decode'],
    ['protocol 2 without an id', envelope([[], {}, {}], { task: 't' }), /no task id/, undefined, 'decode'],
    ['args not an array', envelope([{}, {}, {}], { task: 't', id: 'a' }), /args must be a JSON array/, 'a', 'decode'],
    ['kwargs not an object', envelope([[], [], {}], { task: 't', id: 'k' }), /kwargs must be a JSON object/, 'k', 'decode'],
    ['a bad eta', envelope([[], {}, {}], { task: 't', id: 'e', eta: 'soon' }), /eta 'soon'/, 'e', 'decode'],
    ['protocol 1 without a name', envelope({ id: 'x1', args: [] }), /no 'task' name/, 'x1', 'decode'],
    ['protocol 1 without an id', envelope({ task: 'tasks.add' }), /no task 'id'/, undefined, 'decode'],
  ])('%s', (_what, raw, error, taskId, kind) => {
    const result = decodeMessage(raw);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(error), kind });
    expect(result.ok ? undefined : result.taskId).toBe(taskId);
  });
});

test('parseTime reads Celery’s ISO times with any offset, and seconds since the epoch', () => {
  expect(parseTime('2030-01-02T03:04:05.123456+00:00')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 123));
  expect(parseTime('2030-01-02T05:04:05+02:00')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  expect(parseTime('2030-01-02T03:04:05Z')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  expect(parseTime(1_900_000_000)).toBe(1_900_000_000_000);
  expect(parseTime(null)).toBeUndefined();
  expect(parseTime('next tuesday')).toBeNull();
});

describe('integers a JS number would round', () => {
  test('the first integer literal beyond 2**53 - 1 is named, in args, kwargs or the canvas, signed or not', () => {
    expect(unsafeInteger('[[1, 9007199254740991], {}, null]')).toBeUndefined();
    expect(unsafeInteger('[[1, 9007199254740993], {}, null]')).toBe('9007199254740993');
    expect(unsafeInteger('[[], {"id": -12345678901234567890}, null]')).toBe('-12345678901234567890');
  });

  test('digits inside strings and floats are not integers', () => {
    expect(unsafeInteger('[["9007199254740993", "a \\" 12345678901234567890"], {}, null]')).toBeUndefined();
    expect(unsafeInteger('[[1.2345678901234567e+19, 12345678901234567.5], {}, null]')).toBeUndefined();
  });

  test('a decoded task carries the literal, so the worker does not run it on rounded numbers', () => {
    const message = buildTaskMessage({ task: 'tasks.echo', args: [1], kwargs: {} });
    const raw = message.raw.replace(/"body": "[^"]*"/, `"body": "${Buffer.from('[[12345678901234567890], {}, {}]').toString('base64')}"`);
    const decoded = decodeMessage(raw);
    expect(decoded).toMatchObject({ ok: true, task: { unsafeInteger: '12345678901234567890' } });
  });
});
