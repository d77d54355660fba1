/**
 * scripts/plot-load-run.ts: the README's picture of a recorded load run. Exact ticks, labels and path coordinates for
 * known inputs, gaps that break the line, byte-identical output, well-formed XML (read back by Python's expat), and
 * errors that name the file and the field.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatTick, formatValue, LAYOUT, niceTicks, pathData, PlotInput, renderSvg, samplingInterval, styleOf, unbrokenRuns } from '../../scripts/plot/chart';
import { parseLoadRun } from '../../scripts/plot-load-run';
import { REPO_ROOT } from '../support/cli';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-plot-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A run shaped like the recorded one: Prometheus sample strings, a NaN, a missing sample, integer replicas. */
const RUN = {
  recordedAt: '2026-12-01T19:00:00Z',
  command: 'e2e record <load & scale>',
  series: [
    {
      name: 'publish rate',
      unit: 'ev/s',
      points: [
        [1000, '0'],
        [1005, '20.5'],
        [1010, '50'],
        [1015, '10'],
        [1020, '0'],
      ],
    },
    {
      name: 'queue depth',
      unit: 'events',
      points: [
        [1000, '0'],
        [1005, '40'],
        [1010, '130'],
        [1015, '20'],
        [1020, '0'],
      ],
    },
    {
      name: 'latency p99',
      unit: 's',
      points: [
        [1000, 'NaN'],
        [1005, '0.0045'],
        [1010, '0.0123'],
        [1015, '0.006'],
        [1020, 'NaN'],
      ],
    },
    {
      name: 'replicas',
      unit: 'pods',
      points: [
        [1000, 0],
        [1005, 1],
        [1015, 4],
        [1020, 2],
      ],
    },
  ],
};

function writeRun(name: string, run: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof run === 'string' ? run : JSON.stringify(run));
  return file;
}

function plot(...args: string[]) {
  return spawnSync('npx', ['ts-node', '--transpile-only', 'scripts/plot-load-run.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('nice ticks', () => {
  test.each([
    [0, 100, 4, [0, 50, 100], 50],
    [0, 60.3, 4, [0, 20, 40, 60, 80], 20],
    [0, 130, 4, [0, 50, 100, 150], 50],
    [0, 0.0123, 4, [0, 0.005, 0.01, 0.015], 0.005],
    [0, 0.3, 3, [0, 0.1, 0.2, 0.3], 0.1],
    [-3, 7, 5, [-4, -2, 0, 2, 4, 6, 8], 2],
    [0, 1500, 4, [0, 500, 1000, 1500], 500],
    [0, 600, 10, [0, 100, 200, 300, 400, 500, 600], 100],
    [0, 0, 4, [0, 0.5, 1], 0.5],
  ])('[%p, %p] in about %p intervals: %p', (lo, hi, target, values, step) => {
    expect(niceTicks(lo, hi, target)).toEqual({ values, step });
  });
});

test('tick labels and readouts are compact and exact', () => {
  expect([0, 500, 1000, 1500].map((v) => formatTick(v, 500))).toEqual(['0', '500', '1k', '1.5k']);
  expect([0, 0.005, 0.01, 0.015].map((v) => formatTick(v, 0.005))).toEqual(['0', '0.005', '0.01', '0.015']);
  expect([-4, 2000000].map((v) => formatTick(v, 2))).toEqual(['-4', '2M']);
  expect(formatTick(2500000, 500000)).toBe('2.5M');
  expect(formatTick(1000, 500, false)).toBe('1000');
  expect([60.3, 1234, 0.004237, 12, 130].map(formatValue)).toEqual(['60.3', '1.23k', '0.00424', '12', '130']);
});

test('a missing sample, NaN or Inf breaks the line; a lone sample is a dot', () => {
  const points: [number, number][] = [
    [0, 1],
    [5, 2],
    [10, NaN],
    [15, 3],
    [30, 4],
    [35, 5],
    [40, Infinity],
    [45, 6],
  ];
  expect(samplingInterval(points)).toBe(5);
  expect(samplingInterval([[0, 1]])).toBe(Infinity);
  const runs = unbrokenRuns(points, 5);
  expect(runs).toEqual([
    [
      [0, 1],
      [5, 2],
    ],
    [[15, 3]],
    [
      [30, 4],
      [35, 5],
    ],
    [[45, 6]],
  ]);
  expect(pathData(runs, 'line')).toBe('M0,1L5,2M15,3h0M30,4L35,5M45,6h0');
  expect(pathData(runs, 'step')).toBe('M0,1H5V2M15,3h0M30,4H35V5M45,6h0');
});

test('each series keeps its own sampling interval: one recorded every 15 s is not broken by another every 5 s', () => {
  const every = (step: number, n: number) => Array.from({ length: n }, (_, i): [number, number] => [1000 + step * i, i % 2]);
  const svg = renderSvg({
    recordedAt: '2026-12-01T19:00:00Z',
    command: 'c',
    series: [
      { name: 'fast', unit: 'u', points: every(5, 13) },
      { name: 'slow', unit: 'u', points: every(15, 5) },
    ],
  });
  const subpaths = (colour: string) => [...svg.matchAll(new RegExp(`<path d="([^"]*)" stroke="${colour}"`, 'g'))].map((m) => m[1].split('M').length - 1);
  expect(subpaths('#0072b2')).toEqual([1]);
  expect(subpaths('#d55e00')).toEqual([1]);
});

test('the panels map a known series to exact coordinates: integers as steps, fractions as lines', () => {
  const series = (name: string, values: number[]) => ({ name, unit: 'u', points: values.map((v, i): [number, number] => [1000 + 10 * i, v]) });
  const input: PlotInput = { recordedAt: '2026-12-01T19:00:00Z', command: 'c', series: [series('count', [0, 5, 10]), series('rate', [0, 2.5, 7.5])] };
  expect(input.series.map(styleOf)).toEqual(['step', 'line']);
  const svg = renderSvg(input);
  // x: ticks 0..20 s over [64, 880]; first panel y: ticks 0, 5, 10 over [204, 84]; second panel 160 px lower.
  expect(LAYOUT).toMatchObject({ width: 900, left: 64, right: 20, top: 84, panelHeight: 120, panelGap: 40 });
  expect(svg).toContain('<path d="M64,204H472V144H880V84" stroke="#0072b2"');
  expect(svg).toContain('<path d="M64,364L472,326.5L880,251.5" stroke="#d55e00"');
  expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="408" viewBox="0 0 900 408"');
  expect(svg).toContain('<rect width="900" height="408" fill="#ffffff"/>');
  const yLabels = [...svg.matchAll(/<text x="58" y="[\d.]+" text-anchor="end" fill="#59636e">([^<]*)<\/text>/g)].map((m) => m[1]);
  expect(yLabels).toEqual(['0', '5', '10', '0', '2', '4', '6', '8']);
  const xLabels = [...svg.matchAll(/<text x="[\d.]+" y="380" text-anchor="middle" fill="#59636e">([^<]*)<\/text>/g)].map((m) => m[1]);
  expect(xLabels).toEqual(['0', '2', '4', '6', '8', '10', '12', '14', '16', '18', '20']);
  expect(svg).toContain('>count (u)</text>');
  expect(svg).toContain('>max 7.5</text>');
  expect(svg).toContain('>time since start (s)</text>');

  // A series with samples but no value (NaN throughout) keeps its panel: axis 0..1, no line, 'no data'.
  const empty = renderSvg({ ...input, series: [input.series[0], { name: 'p99', unit: 's', points: [[1000, NaN]] }] });
  expect(empty).toContain('>no data</text>');
  expect(empty).not.toContain('stroke="#d55e00"');
  expect([...empty.matchAll(/<text x="58" y="[\d.]+" text-anchor="end" fill="#59636e">([^<]*)<\/text>/g)].map((m) => m[1])).toEqual(['0', '5', '10', '0', '0.5', '1']);
});

test('the script writes the same bytes on every run, the same as renderSvg of the parsed file, as well-formed XML', () => {
  const input = writeRun('run.json', RUN);
  const [a, b] = ['a.svg', 'b.svg'].map((name) => {
    const out = path.join(dir, name);
    const run = plot(input, out);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return fs.readFileSync(out, 'utf8');
  });
  expect(a).toBe(b);
  expect(a).toBe(renderSvg(parseLoadRun(JSON.stringify(RUN), input)));
  // The text is escaped, the latency gaps (NaN at both ends) leave one run, replicas' missing sample at 1010 two.
  expect(a).toContain('e2e record &lt;load &amp; scale&gt;');
  expect([...a.matchAll(/<path d="([^"]*)" stroke="#009e73"/g)].map((m) => m[1].split('M').length - 1)).toEqual([1]);
  expect([...a.matchAll(/<path d="([^"]*)" stroke="#cc79a7"/g)].map((m) => m[1].split('M').length - 1)).toEqual([2]);

  // Python's expat parser: any ill-formed XML is an error. /usr/bin/python3 is the one .ci/run installs packages for.
  const check = spawnSync('/usr/bin/python3', ['-c', 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.stdin).getroot(); print(r.tag, len(list(r.iter())))'], {
    input: a,
    encoding: 'utf8',
  });
  if (check.error) throw new Error(`/usr/bin/python3 is needed to check the SVG is well-formed XML: ${check.error.message}`);
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
  expect(check.stdout.split(' ')[0]).toBe('{http://www.w3.org/2000/svg}svg');
});

describe('bad input names the file and the field', () => {
  const F = 'docs/load-run.json';
  const withSeries = (series: unknown) => JSON.stringify({ ...RUN, series });
  test.each([
    ['not JSON', '{"series": [', `${F}: the file is not JSON: `],
    ['an array', '[]', `${F}: the file must hold a JSON object { recordedAt, command, series }`],
    ['no series', JSON.stringify({ recordedAt: RUN.recordedAt, command: 'c' }), `${F}: series must be a non-empty array of { name, unit, points }; got missing`],
    ['empty series', withSeries([]), `${F}: series must be a non-empty array of { name, unit, points }; got []`],
    ['a bad date', JSON.stringify({ ...RUN, recordedAt: 'yesterday' }), `${F}: recordedAt must be an ISO date-time string; got "yesterday"`],
    ['no command', JSON.stringify({ ...RUN, command: undefined }), `${F}: command must be a string; got missing`],
    ['a series without name', withSeries([{ unit: 's', points: [] }]), `${F}: series[0].name must be a non-empty string; got missing`],
    ['a series without unit', withSeries([{ name: 'rate', points: [] }]), `${F}: series[0] ("rate").unit must be a string; got missing`],
    ['points not an array', withSeries([{ name: 'rate', unit: 'ev/s', points: {} }]), `${F}: series[0] ("rate").points must be an array of [unixSeconds, value]; got {}`],
    [
      'a non-numeric value',
      withSeries([
        RUN.series[0],
        {
          name: 'queue depth',
          unit: 'events',
          points: [
            [1000, '1'],
            [1005, '2'],
            [1010, 'abc'],
          ],
        },
      ]),
      `${F}: series[1] ("queue depth").points[2][1] must be a number, a Prometheus sample string such as "1.5" or "NaN", or null; got "abc"`,
    ],
    [
      'a string time',
      withSeries([{ name: 'rate', unit: 'ev/s', points: [['1000', '1']] }]),
      `${F}: series[0] ("rate").points[0][0] must be a time in unix seconds (a number); got "1000"`,
    ],
    [
      'time going back',
      withSeries([
        {
          name: 'rate',
          unit: 'ev/s',
          points: [
            [1005, '1'],
            [1000, '1'],
          ],
        },
      ]),
      `${F}: series[0] ("rate").points[1][0] (1000) must be later than the time before it (1005)`,
    ],
    ['a triple', withSeries([{ name: 'rate', unit: 'ev/s', points: [[1000, 1, 2]] }]), `${F}: series[0] ("rate").points[0] must be a pair [unixSeconds, value]; got [1000,1,2]`],
    ['a bad style', withSeries([{ name: 'rate', unit: 'ev/s', style: 'bars', points: [] }]), `${F}: series[0] ("rate").style must be "step" or "line"; got "bars"`],
    ['no points at all', withSeries([{ name: 'rate', unit: 'ev/s', points: [] }]), `${F}: series hold no points: nothing to plot`],
  ])('%s', (_what, text, message) => {
    expect(() => parseLoadRun(text, F)).toThrow(message);
  });

  test('Prometheus sample strings, null and numbers are all read', () => {
    const run = parseLoadRun(
      withSeries([
        {
          name: 'v',
          unit: '',
          points: [
            [1, '1.5e3'],
            [2, '+Inf'],
            [3, '-Inf'],
            [4, 'NaN'],
            [5, null],
            [6, -2],
          ],
        },
      ]),
      F,
    );
    expect(run.series[0].points).toEqual([
      [1, 1500],
      [2, Infinity],
      [3, -Infinity],
      [4, NaN],
      [5, NaN],
      [6, -2],
    ]);
  });

  test('the script exits 2 with the message on stderr and writes no SVG', () => {
    const input = writeRun('bad.json', withSeries([{ name: 'queue depth', unit: 'events', points: [[1000, 'abc']] }]));
    const out = path.join(dir, 'bad.svg');
    const run = plot(input, out);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      `error: ${input}: series[0] ("queue depth").points[0][1] must be a number, a Prometheus sample string such as "1.5" or "NaN", or null; got "abc"`,
    );
    expect(fs.existsSync(out)).toBe(false);
    const usage = plot(input);
    expect(usage.status).toBe(2);
    expect(usage.stderr.trim()).toBe('usage: ts-node scripts/plot-load-run.ts <recorded-run.json> <out.svg>');
  });
});

test("docs/load-run.svg is what the script draws from docs/load-run.json (the README's picture matches its recording)", () => {
  const json = path.join(REPO_ROOT, 'docs', 'load-run.json');
  const input = parseLoadRun(fs.readFileSync(json, 'utf8'), 'docs/load-run.json');
  expect(input.series.map((s) => s.name)).toEqual(expect.arrayContaining(['target rate', 'latency p99', 'replicas']));
  expect(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'load-run.svg'), 'utf8')).toBe(renderSvg(input));
});
