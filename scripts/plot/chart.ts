/**
 * Drawing of a recorded load run as an SVG of small multiples: one panel per series, stacked on one shared time axis.
 * Pure functions (no IO, no clock, no randomness), so the same run always gives byte-identical SVG.
 */

/** One time series as recorded: `[unixSeconds, value]` pairs, time ascending; a non-finite value (NaN, ±Inf) is a gap. */
export interface PlotSeries {
  readonly name: string;
  readonly unit: string;
  /** `step` holds each sample until the next one (counts such as replicas); `line` joins samples. @default - `step` when every value is an integer, else `line` */
  readonly style?: 'step' | 'line';
  readonly points: readonly (readonly [number, number])[];
}

/** What the plot shows: where the data came from and the series, drawn in this order top to bottom. */
export interface PlotInput {
  /** The page heading. @default 'A load run as Prometheus recorded it' */
  readonly heading?: string;
  readonly recordedAt: string;
  readonly command: string;
  readonly series: readonly PlotSeries[];
}

/** Evenly spaced round values (steps of 1, 2 or 5 times a power of ten) covering `[lo, hi]`, at most about `target` intervals. */
export interface Ticks {
  readonly values: number[];
  readonly step: number;
}

/** Decimal places that print every multiple of `step` (a power of ten times 1, 2 or 5) exactly. */
function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Round ticks covering `[lo, hi]`: the first is at or below `lo`, the last at or above `hi`. An empty range becomes `[lo, lo + 1]`. */
export function niceTicks(lo: number, hi: number, target: number): Ticks {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  const decimals = decimalsOf(step);
  // Integer multiples, rounded to the step's decimals: 3 * 0.1 prints 0.3, not 0.30000000000000004.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let k = first; k <= last; k++) values.push(Number((k * step).toFixed(decimals)) || 0);
  return { values, step: Number(step.toFixed(decimals)) };
}

/** A linear map from `[d0, d1]` to `[r0, r1]`. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

const SUFFIXES = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

/** A tick label: `1.5k`, `20`, `0.005`; as many decimals as the tick step needs, trailing zeros dropped; `compact` false: no suffix. */
export function formatTick(value: number, step: number, compact = true): string {
  if (value === 0) return '0';
  const largest = Math.max(Math.abs(value), step);
  const [factor, suffix] = (compact && SUFFIXES.find(([f]) => largest >= f)) || [1, ''];
  const text = (value / factor).toFixed(decimalsOf(step / factor));
  return (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text) + suffix;
}

/** A readout such as a panel's maximum: three significant digits, compact suffix (`1.23k`, `0.0042`, `12`). */
export function formatValue(value: number): string {
  if (value === 0) return '0';
  const [factor, suffix] = SUFFIXES.find(([f]) => Math.abs(value) >= f) ?? [1, ''];
  return String(Number((value / factor).toPrecision(3))) + suffix;
}

/** A coordinate with one decimal, never `-0`. */
export function coord(v: number): string {
  const r = Math.round(v * 10) / 10;
  return String(r === 0 ? 0 : r);
}

/**
 * The sampling interval of a series: the smallest positive time between two consecutive samples (Prometheus range
 * queries sample on a fixed grid, so a missing sample leaves a larger difference). Per series, so series recorded with
 * different steps each keep their lines. `Infinity` with fewer than two samples.
 */
export function samplingInterval(points: readonly (readonly [number, number])[]): number {
  let interval = Infinity;
  for (let i = 1; i < points.length; i++) interval = Math.min(interval, points[i][0] - points[i - 1][0] || Infinity);
  return interval;
}

/** The unbroken runs of a series: a non-finite value, or more than 1.5 sampling intervals without a sample, ends a run. */
export function unbrokenRuns(points: readonly (readonly [number, number])[], interval: number): [number, number][][] {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  let lastTime = -Infinity;
  for (const [t, v] of points) {
    if (run.length && t - lastTime > 1.5 * interval) run = [];
    if (!Number.isFinite(v)) run = [];
    else {
      if (!run.length) runs.push(run);
      run.push([t, v]);
    }
    lastTime = t;
  }
  return runs;
}

/** SVG path data of runs already in pixels; a run of one sample is a zero-length segment (a dot, with round caps). */
export function pathData(runs: readonly (readonly (readonly [number, number])[])[], style: 'step' | 'line'): string {
  return runs
    .map((run) => {
      const [[x0, y0], ...rest] = run;
      if (!rest.length) return `M${coord(x0)},${coord(y0)}h0`;
      return `M${coord(x0)},${coord(y0)}` + rest.map(([x, y]) => (style === 'step' ? `H${coord(x)}V${coord(y)}` : `L${coord(x)},${coord(y)}`)).join('');
    })
    .join('');
}

/** Text for element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The layout, in pixels: README width, panels tall enough for four or five ticks. */
export const LAYOUT = { width: 900, left: 64, right: 20, top: 84, panelHeight: 120, panelGap: 40, bottom: 44 } as const;

/** Okabe-Ito colours: distinct for colour-blind readers, dark enough on the white background. */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];

const INK = '#1f2328';
const MUTED = '#59636e';
const GRID = '#d8dee4';

/** `style` of a series, or its default: step for integer-valued series (counts), line otherwise. */
export function styleOf(series: PlotSeries): 'step' | 'line' {
  return series.style ?? (series.points.every(([, v]) => !Number.isFinite(v) || Number.isInteger(v)) ? 'step' : 'line');
}

/** The whole picture. Time is seconds since the earliest sample of any series. */
export function renderSvg(input: PlotInput): string {
  const { width, left, right, top, panelHeight, panelGap, bottom } = LAYOUT;
  const plotRight = width - right;
  const height = top + input.series.length * (panelHeight + panelGap) - panelGap + bottom;
  const times = input.series.flatMap((s) => s.points.map(([t]) => t));
  const start = times.reduce((a, b) => Math.min(a, b));
  const xTicks = niceTicks(0, times.reduce((a, b) => Math.max(a, b)) - start, 10);
  const x = linearScale(xTicks.values[0], xTicks.values[xTicks.values.length - 1], left, plotRight);
  // The visible heading stays short (each panel names its series); the accessible title lists them all.
  const pageHeading = input.heading ?? 'A load run as Prometheus recorded it';
  const title = 'Load run: ' + input.series.map((s) => s.name).join(', ');
  const command = input.command.length > 140 ? input.command.slice(0, 139) + '…' : input.command;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="title">`,
    `<title id="title">${escapeXml(title)}, recorded ${escapeXml(input.recordedAt)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<g font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="${INK}">`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">${escapeXml(pageHeading)}</text>`,
    `<text x="${left}" y="44" font-size="11" fill="${MUTED}">recorded ${escapeXml(input.recordedAt)}: ${escapeXml(command)}</text>`,
  ];

  input.series.forEach((series, index) => {
    const panelTop = top + index * (panelHeight + panelGap);
    const panelBottom = panelTop + panelHeight;
    const finite = series.points.map(([, v]) => v).filter(Number.isFinite);
    // Zero in view: rate, depth, latency and replicas read against it.
    const yTicks = niceTicks(
      finite.reduce((a, b) => Math.min(a, b), 0),
      finite.reduce((a, b) => Math.max(a, b), 0),
      4,
    );
    const y = linearScale(yTicks.values[0], yTicks.values[yTicks.values.length - 1], panelBottom, panelTop);
    const colour = COLOURS[index % COLOURS.length];
    const heading = `${series.name} (${series.unit})`;
    const readout = finite.length ? `max ${formatValue(finite.reduce((a, b) => Math.max(a, b)))}` : 'no data';

    out.push(`<g>`);
    out.push(`<text x="${left}" y="${panelTop - 10}" font-weight="600" fill="${colour}">${escapeXml(heading)}</text>`);
    out.push(`<text x="${plotRight}" y="${panelTop - 10}" text-anchor="end" fill="${MUTED}">${escapeXml(readout)}</text>`);
    const grid = [...yTicks.values.map((v) => `M${left},${coord(y(v))}H${plotRight}`), ...xTicks.values.map((v) => `M${coord(x(v))},${panelTop}V${panelBottom}`)].join('');
    out.push(`<path d="${grid}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
    for (const v of yTicks.values) {
      out.push(`<text x="${left - 6}" y="${coord(y(v) + 4)}" text-anchor="end" fill="${MUTED}">${formatTick(v, yTicks.step)}</text>`);
    }
    const runs = unbrokenRuns(series.points, samplingInterval(series.points)).map((run) => run.map(([t, v]): [number, number] => [x(t - start), y(v)]));
    if (runs.length) {
      out.push(`<path d="${pathData(runs, styleOf(series))}" stroke="${colour}" stroke-width="2" fill="none" stroke-linejoin="round" stroke-linecap="round"/>`);
    }
    out.push(`<path d="M${left},${panelBottom}H${plotRight}" stroke="${MUTED}" stroke-width="1"/>`);
    out.push(`</g>`);
  });

  const axisY = top + input.series.length * (panelHeight + panelGap) - panelGap;
  for (const v of xTicks.values) {
    out.push(`<text x="${coord(x(v))}" y="${axisY + 16}" text-anchor="middle" fill="${MUTED}">${formatTick(v, xTicks.step, false)}</text>`);
  }
  out.push(`<text x="${coord((left + plotRight) / 2)}" y="${axisY + 36}" text-anchor="middle">time since start (s)</text>`);
  out.push(`</g>`, `</svg>`, '');
  return out.join('\n');
}
