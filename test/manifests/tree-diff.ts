/** Compares two directory trees file by file (same set of files, same bytes) and renders a unified diff. */
import * as fs from 'fs';
import * as path from 'path';

/** Relative paths (with `/`) of every file below `dir`, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export interface TreeComparison {
  readonly onlyInExpected: readonly string[];
  readonly onlyInActual: readonly string[];
  readonly differing: readonly string[];
}

/** Files present on one side only, and files whose bytes differ. */
export function compareTrees(expectedDir: string, actualDir: string): TreeComparison {
  const expected = listFiles(expectedDir);
  const actual = listFiles(actualDir);
  const inActual = new Set(actual);
  const inExpected = new Set(expected);
  const differing = expected.filter((f) => inActual.has(f) && !fs.readFileSync(path.join(expectedDir, f)).equals(fs.readFileSync(path.join(actualDir, f))));
  return {
    onlyInExpected: expected.filter((f) => !inActual.has(f)),
    onlyInActual: actual.filter((f) => !inExpected.has(f)),
    differing,
  };
}

export function isSameTree(c: TreeComparison): boolean {
  return c.onlyInExpected.length === 0 && c.onlyInActual.length === 0 && c.differing.length === 0;
}

type Op = { op: ' ' | '-' | '+'; line: string; a: number; b: number };

/** Line edit script by longest common subsequence; `undefined` when the inputs are too large for it. */
function editScript(a: readonly string[], b: readonly string[]): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return undefined; // 16 MB of table at most
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', line: a[i], a: i++, b: j++ });
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ op: '-', line: a[i], a: i++, b: j });
    else ops.push({ op: '+', line: b[j], a: i, b: j++ });
  }
  return ops;
}

/** A unified diff (`---`/`+++`, `@@` hunks with `context` lines around each change); '' when equal. */
export function unifiedDiff(expected: string, actual: string, expectedName: string, actualName: string, context = 3): string {
  if (expected === actual) return '';
  const a = expected.split('\n');
  const b = actual.split('\n');
  const ops = editScript(a, b);
  const header = `--- ${expectedName}\n+++ ${actualName}\n`;
  if (!ops) {
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    return `${header}(files too large for a full diff) first difference at line ${k + 1}:\n-${a[k] ?? ''}\n+${b[k] ?? ''}\n`;
  }
  const changed = ops.map((o, idx) => (o.op !== ' ' ? idx : -1)).filter((idx) => idx >= 0);
  const hunks: Array<[number, number]> = [];
  for (const idx of changed) {
    const lo = Math.max(0, idx - context);
    const hi = Math.min(ops.length - 1, idx + context);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else hunks.push([lo, hi]);
  }
  let out = header;
  for (const [lo, hi] of hunks) {
    const slice = ops.slice(lo, hi + 1);
    const aCount = slice.filter((o) => o.op !== '+').length;
    const bCount = slice.filter((o) => o.op !== '-').length;
    out += `@@ -${slice[0].a + 1},${aCount} +${slice[0].b + 1},${bCount} @@\n`;
    for (const o of slice) out += `${o.op}${o.line}\n`;
  }
  return out;
}

/** Human summary of a comparison, with the unified diff of the first differing file. '' when the trees are equal. */
export function describeTreeDifference(c: TreeComparison, expectedDir: string, actualDir: string, expectedLabel: string, actualLabel: string): string {
  if (isSameTree(c)) return '';
  const lines: string[] = [];
  const list = (files: readonly string[]) => (files.length > 20 ? [...files.slice(0, 20), `... ${files.length - 20} more`] : files).join(', ');
  if (c.onlyInExpected.length) lines.push(`only in ${expectedLabel}: ${list(c.onlyInExpected)}`);
  if (c.onlyInActual.length) lines.push(`only in ${actualLabel}: ${list(c.onlyInActual)}`);
  if (c.differing.length) {
    lines.push(`differing: ${list(c.differing)}`);
    const f = c.differing[0];
    lines.push(unifiedDiff(fs.readFileSync(path.join(expectedDir, f), 'utf8'), fs.readFileSync(path.join(actualDir, f), 'utf8'), `${expectedLabel}/${f}`, `${actualLabel}/${f}`));
  }
  return lines.join('\n');
}
