/**
 * History for a test Prometheus: a known series written as OpenMetrics and turned into TSDB blocks by Debian's
 * `promtool tsdb create-blocks-from openmetrics`, for `startPrometheus({ blocksDir })`. Prometheus loads the blocks at
 * start and serves them to query_range at once; keep the history within its retention (1 day) and before now.
 */
import { execFile } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';

export const PROMTOOL_BINARY = process.env.PROMTOOL_BINARY ?? 'promtool';

export interface HistorySeries {
  /** The metric name (a gauge). */
  readonly name: string;
  readonly labels?: Record<string, string>;
  /** Unix seconds, ascending, and the value at each. */
  readonly timestamps: readonly number[];
  readonly values: readonly number[];
}

/** The OpenMetrics text of `series` (one gauge family per name). */
export function openMetrics(series: readonly HistorySeries[]): string {
  const lines: string[] = [];
  for (const name of new Set(series.map((s) => s.name))) {
    lines.push(`# HELP ${name} Test history.`, `# TYPE ${name} gauge`);
    for (const s of series.filter((x) => x.name === name)) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      s.timestamps.forEach((t, i) => lines.push(`${name}${labels ? `{${labels}}` : ''} ${s.values[i]} ${t}`));
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** A temp folder of TSDB blocks holding `series`; `remove()` deletes it. */
export async function createBlocks(series: readonly HistorySeries[]): Promise<{ dir: string; remove(): void }> {
  const root = mkdtempSync(join(tmpdir(), 'redis-keda-test-blocks-'));
  const input = join(root, 'history.om');
  writeFileSync(input, openMetrics(series));
  const dir = join(root, 'blocks');
  await promisify(execFile)(PROMTOOL_BINARY, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, dir]);
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
