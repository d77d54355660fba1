import { createEvent, createEventJson, parseEvent, SEED_ID_PREFIX } from '../../../runtime/queue/event';

describe('parseEvent', () => {
  test('accepts a published event and keeps its fields', () => {
    const result = parseEvent('{"id":"a-1","enqueuedAt":1700000000000,"wait":12,"extra":"kept"}', 'token-1');
    expect(result).toEqual({ ok: true, event: { id: 'a-1', enqueuedAt: 1700000000000, wait: 12, extra: 'kept' } });
  });

  test('derives seed-<token> for a bare seed event', () => {
    expect(parseEvent('{"wait": 17}', 'tok')).toEqual({ ok: true, event: { id: `${SEED_ID_PREFIX}tok`, wait: 17 } });
    expect(parseEvent('{"wait": 0}', 'other')).toEqual({ ok: true, event: { id: 'seed-other', wait: 0 } });
  });

  test.each([
    ['not json', /^not JSON/],
    ['', /^not JSON/],
    ['[]', /not a JSON object: got an array/],
    ['null', /not a JSON object: got null/],
    ['17', /not a JSON object: got 17/],
    ['"wait"', /not a JSON object: got the string "wait"/],
    ['{"nowait": 1}', /"wait" is missing/],
    ['{"wait": -1}', /"wait" must be >= 0, got -1/],
    ['{"wait": "x"}', /"wait" must be a finite number, got the string "x"/],
    ['{"wait": 1e999}', /"wait" must be a finite number, got Infinity/],
    ['{"wait": null}', /"wait" must be a finite number, got null/],
    ['{"wait": 1, "id": 7}', /"id" must be a non-empty string, got 7/],
    ['{"wait": 1, "id": ""}', /"id" must be a non-empty string/],
    ['{"wait": 1, "enqueuedAt": "yesterday"}', /"enqueuedAt" must be a number/],
  ])('rejects %j', (raw, error) => {
    const result = parseEvent(raw, 'tok');
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(error);
  });

  test('reports every problem at once', () => {
    const result = parseEvent('{"wait": -2, "id": 3}', 'tok');
    expect(result.ok ? '' : result.error).toBe('"wait" must be >= 0, got -2; "id" must be a non-empty string, got 3');
  });
});

describe('createEvent', () => {
  test('makes parseable events with an integer wait in [min, max]', () => {
    const waits = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const event = createEvent(10, 12, 1234);
      expect(event.enqueuedAt).toBe(1234);
      expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
      waits.add(event.wait);
      expect(parseEvent(JSON.stringify(event), 'tok')).toEqual({ ok: true, event });
    }
    expect([...waits].sort()).toEqual([10, 11, 12]);
  });

  test('createEventJson writes what JSON.stringify(createEvent(...)) would', () => {
    for (let i = 0; i < 50; i++) {
      const json = createEventJson(3, 4, 1234);
      const event = JSON.parse(json) as { id: string; wait: number };
      expect(json).toBe(JSON.stringify({ id: event.id, enqueuedAt: 1234, wait: event.wait }));
      expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
      expect([3, 4]).toContain(event.wait);
    }
  });
});
