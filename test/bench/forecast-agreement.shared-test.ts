/**
 * bench:forecast implements eval.js' definitions in its own code: for the same policies, on the same traces, its
 * numbers must be eval.js' numbers. eval.js scores our planner through the shipped plug-in (runtime/forecast/
 * eval-policy.ts, transpiled as bench/support/forecast-build.ts builds it). Needs ../shared (SHARED_TRACES,
 * FORECAST_EVAL override the paths).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTrace } from '../../bench/forecast/simulate';
import { readTrace } from '../../bench/forecast/traces';
import { buildForecastPlugin } from '../../bench/support/forecast-build';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
const TRACES = process.env.SHARED_TRACES ?? path.join(SHARED, 'traces');
const EVAL = process.env.FORECAST_EVAL ?? path.join(SHARED, 'tools', 'forecast-eval', 'eval.js');
/** One trace of the tuning set and one held out: enough to compare every policy, lean enough for CI. */
const NAMES = ['crane-input0', 'crane-input5'];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forecast-agreement-'));
  fs.mkdirSync(path.join(dir, 'train'));
  fs.mkdirSync(path.join(dir, 'none'));
  for (const name of NAMES) fs.symlinkSync(path.join(TRACES, `${name}.csv`), path.join(dir, 'train', `${name}.csv`));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('bench:forecast agrees with eval.js on every shared policy, ours through the shipped plug-in', () => {
  // GIVEN eval.js scoring the plug-in
  const plugin = buildForecastPlugin(path.join(dir, 'plugin'));
  const out = path.join(dir, 'eval.json');
  const env = { ...process.env };
  delete env.FORECAST_OPTIONS;
  execFileSync(process.execPath, [EVAL, '--train', path.join(dir, 'train'), '--heldout', path.join(dir, 'none'), '--policy', plugin, '--out', out, '--quiet'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const reference = JSON.parse(fs.readFileSync(out, 'utf8')) as { traces: { name: string; policies: Record<string, any> }[] };
  const pairs: [string, string][] = [
    ['oracle', 'oracle'],
    ['reactive', 'reactive'],
    ['persistence', 'persistence'],
    ['kedastral-baseline', 'kedastral-baseline'],
    ['ours', 'redis-keda'],
    ['reactive+ours', 'reactive+redis-keda'],
  ];
  for (const name of NAMES) {
    // WHEN bench:forecast runs the same trace
    const ours = runTrace(readTrace(path.join(TRACES, `${name}.csv`), 'training')).results;
    const theirs = reference.traces.find((t) => t.name === name)!.policies;
    // THEN the provisioning figures are equal, and the forecast errors equal to eval.js' 6 significant digits
    for (const [mine, ref] of pairs) {
      expect({ trace: name, policy: mine, under: ours[mine as keyof typeof ours].under, podMinutes: ours[mine as keyof typeof ours].podMinutes }).toEqual({
        trace: name,
        policy: mine,
        under: theirs[ref].under,
        podMinutes: theirs[ref].podMinutes,
      });
    }
    for (const policy of ['persistence', 'kedastral-baseline'] as const) {
      expect(ours[policy].mae1! / theirs[policy].mae1).toBeCloseTo(1, 5);
      expect(ours[policy].mae5! / theirs[policy].mae5).toBeCloseTo(1, 5);
    }
  }
});
