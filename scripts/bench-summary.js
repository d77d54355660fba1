// Medians of the figures of bench-compare.sh's runs: every `ratio` and every key with `rss` in
// its name, by benchmark and side, and new/old. Usage: node scripts/bench-summary.js <dir>
const { readdirSync, readFileSync } = require('fs');
const { join } = require('path');
const dir = process.argv[2];
const figures = {};
function walk(value, path, into) {
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const p = path ? `${path}.${key}` : key;
    if (typeof v === 'number' && (key === 'ratio' || /rss/i.test(key))) (into[p] ??= []).push(v);
    else walk(v, p, into);
  }
}
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  const [bench, side] = file.split('-');
  let json;
  try {
    json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  } catch {
    continue;
  }
  walk(json, '', ((figures[bench] ??= {})[side] ??= {}));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
for (const [bench, sides] of Object.entries(figures)) {
  for (const key of Object.keys(sides.new ?? sides.old ?? {})) {
    const old = sides.old?.[key] ?? [];
    const now = sides.new?.[key] ?? [];
    const o = old.length ? median(old) : null;
    const n = now.length ? median(now) : null;
    summary[`${bench}.${key}`] = { old: o, new: n, new_over_old: o && n !== null ? Math.round((n / o) * 1000) / 1000 : null, runs: { old: old, new: now } };
  }
}
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
