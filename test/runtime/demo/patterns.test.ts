/** The example's load patterns and trace replay: pure functions, exact values at known instants. */
import { LOAD_PATTERNS } from '../../../runtime/contract';
import { patternSchedule, traceSchedule } from '../../../runtime/demo/load-generator';
import { LOAD_PATTERN_FUNCTIONS } from '../../../runtime/demo/patterns';
import { parseTrace } from '../../../runtime/demo/trace';

const at = (hhmm: string) => new Date(`2026-12-02T${hhmm}Z`);
const values = (name: keyof typeof LOAD_PATTERN_FUNCTIONS, times: string[]) => times.map((t) => LOAD_PATTERN_FUNCTIONS[name](at(t)));

describe('load patterns', () => {
  test('every pattern name of the contract has a function', () => {
    expect(Object.keys(LOAD_PATTERN_FUNCTIONS).sort()).toEqual([...LOAD_PATTERNS].sort());
  });

  test('hourly-spike: 200 for 5 minutes at :00 and :30, 120 for the next 5, 30 otherwise', () => {
    expect(values('hourly-spike', ['00:00:00', '00:04:59', '00:05:00', '00:09:59', '00:10:00', '00:29:59', '00:30:00', '13:35:00', '13:40:00'])).toEqual([
      200, 200, 120, 120, 30, 30, 200, 120, 30,
    ]);
  });

  test('business-hours: 20 off hours; 100 + 50 sin((h - 9) pi / 8) by the hour from 09:00 to 16:59', () => {
    expect(values('business-hours', ['08:59:59', '09:00:00', '10:30:00', '11:00:00', '12:00:00', '13:00:00', '16:59:00', '17:00:00', '23:00:00'])).toEqual([
      20, 100, 119, 135, 146, 150, 119, 20, 20,
    ]);
  });

  test('sine-wave: 80 + 60 sin(minute of day pi / 120), truncated (a 4-hour cycle by its formula)', () => {
    // 04:00 is 2 pi: sin gives -2.4e-16 and the truncation 79, as the original's int() does.
    expect(values('sine-wave', ['00:00:00', '00:30:00', '01:00:00', '02:00:00', '03:00:00', '04:00:00', '05:00:00'])).toEqual([80, 122, 140, 80, 20, 79, 140]);
  });

  test('double-peak: 40 + 120 exp(-(minutes from 09:00 or 15:00)^2 / 1800), the nearer peak', () => {
    expect(values('double-peak', ['00:00:00', '09:00:00', '09:30:00', '08:30:00', '12:00:00', '14:30:00', '15:00:00', '15:10:00'])).toEqual([40, 160, 112, 112, 40, 112, 160, 153]);
  });

  test('a schedule runs the pattern clock time-scale times as fast from its start and multiplies the rate', () => {
    const t0Ms = Date.parse('2030-01-01T00:00:00Z');
    const schedule = patternSchedule(LOAD_PATTERN_FUNCTIONS['hourly-spike'], { startMs: at('00:00:00').getTime(), t0Ms, timeScale: 60, rateScale: 0.5 });
    // Wall second 0 is pattern 00:00 (200), second 5 is 00:05 (120), second 10 is 00:10 (30), second 30 is 00:30 (200).
    expect([0, 4_999, 5_000, 10_000, 30_000].map((s) => schedule(t0Ms + s))).toEqual([100, 100, 60, 15, 100]);
  });
});

describe('trace replay', () => {
  const csv = 'ts,value\n1000,5\n1060,7.5\n1120,0\n';

  test('holds each row until the next, the last for one step, then repeats', () => {
    const trace = parseTrace(csv);
    expect(trace.period).toBe(180);
    expect([0, 59.9, 60, 119, 120, 179, 180, 250, -1].map((s) => trace.valueAt(s))).toEqual([5, 5, 7.5, 7.5, 0, 0, 5, 7.5, 0]);
  });

  test('a schedule replays time-scale seconds of the trace per wall second from the start offset', () => {
    const t0Ms = 1_000_000;
    const schedule = traceSchedule(parseTrace(csv), { startOffset: 60, t0Ms, timeScale: 60, rateScale: 2 });
    expect([0, 999, 1000, 2000].map((ms) => schedule(t0Ms + ms))).toEqual([15, 15, 0, 10]);
  });

  test('rejects a malformed row naming its line, and rows out of order', () => {
    expect(() => parseTrace('ts,value\n1000,5\n1060,x\n', 'load.csv')).toThrow('load.csv line 3: expected "ts,value" (unix seconds, a rate of at least 0), got "1060,x"');
    expect(() => parseTrace('1000,5\n1000,6\n', 'load.csv')).toThrow("load.csv line 2: ts 1000 is not after the previous row's");
    expect(() => parseTrace('ts,value\n', 'load.csv')).toThrow('load.csv: no rows');
    expect(() => parseTrace('1000,-1\n', 'load.csv')).toThrow('load.csv line 1');
  });

  test('reads the shared traces format (a header, one-minute rows)', () => {
    const trace = parseTrace('ts,value\n1628640000,39.722330\n1628640060,39.821460\n');
    expect(trace.timestamps).toEqual([1628640000, 1628640060]);
    expect(trace.valueAt(60)).toBe(39.82146);
  });
});
