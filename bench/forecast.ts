/**
 * `npm run bench:forecast [-- --traces DIR] [--svg DIR]`: walk-forward evaluation of the forecasting core
 * (runtime/forecast) against reactive scaling, one step a minute, with the definitions of the header of
 * ../shared/tools/forecast-eval/eval.js implemented in bench/forecast/ (timing, scaling, scoring window, policies,
 * metrics). Policies side by side: the oracle, reactive HPA, persistence + 1.2 headroom, Kedastral's baseline,
 * ours (createCapacityPlanner with its defaults) and reactive+ours (the max per minute, as KEDA takes the highest
 * trigger). Per trace and medians per group: under-provisioned minutes over reactive's, pod-minutes over the
 * oracle's, our forecast's MAE at 1 and 5 minutes (in pods).
 *
 * Traces: crane-input0..3 (the tuning set, group "training") and crane-input4..7 ("held-out") from
 * SHARED_TRACES (default ../shared/traces); `--traces DIR` adds every CSV of DIR as a group named after DIR.
 * FORECAST_OPTIONS (JSON) overrides planner options, for tuning (reported in the output).
 * An SVG per trace goes to `--svg DIR` (default .bench/forecast-svg, git-ignored). JSON on stdout, progress on stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import { traceSvg } from './forecast/plot';
import { median, POLICIES, runTrace } from './forecast/simulate';
import { csvFiles, readTrace, Trace } from './forecast/traces';
import { progress, round } from './support/report';

/** The goal of issue 15, judged on traces the planner was not tuned on. */
export const GOAL = { underVsReactive: 0.08, podMinutesVsOracle: 1.08 };

function args(argv: string[]): { traces: string[]; svg: string } {
  const out = { traces: [] as string[], svg: path.join(__dirname, '..', '.bench', 'forecast-svg') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--traces' && argv[i + 1]) out.traces.push(path.resolve(argv[++i]));
    else if (argv[i] === '--svg' && argv[i + 1]) out.svg = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}: expected --traces DIR or --svg DIR`);
  }
  return out;
}

function main(): void {
  const opts = args(process.argv.slice(2));
  // Tuning only: planner options over the defaults, as the eval plug-in takes them.
  const overrides = process.env.FORECAST_OPTIONS ? JSON.parse(process.env.FORECAST_OPTIONS) : {};
  const shared = process.env.SHARED_TRACES ? path.resolve(process.env.SHARED_TRACES) : path.join(__dirname, '..', '..', 'shared', 'traces');
  const sources: { file: string; group: string }[] = [
    ...csvFiles(shared, /^crane-input[0-3]\.csv$/).map((file) => ({ file, group: 'training' })),
    ...csvFiles(shared, /^crane-input[4-7]\.csv$/).map((file) => ({ file, group: 'held-out' })),
    ...opts.traces.flatMap((dir) => csvFiles(dir).map((file) => ({ file, group: path.basename(dir) }))),
  ];
  if (!sources.length) throw new Error(`no traces: ${shared} holds no crane-input*.csv and no --traces DIR was given`);
  fs.mkdirSync(opts.svg, { recursive: true });
  const command = `npm run bench:forecast${process.argv.slice(2).length ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  const rows = sources.map(({ file, group }) => {
    const trace: Trace = readTrace(file, group);
    const started = Date.now();
    const run = runTrace(trace, overrides);
    const svg = path.join(opts.svg, `${trace.name}.svg`);
    fs.writeFileSync(svg, traceSvg(trace, run, command));
    progress(`${group} ${trace.name}: ${((Date.now() - started) / 1000).toFixed(1)} s, ${svg}`);
    const policies = Object.fromEntries(
      POLICIES.map((p) => {
        const r = run.results[p];
        return [
          p,
          {
            under: r.under,
            podMinutes: r.podMinutes,
            underVsReactive: r.underVsReactive === null ? null : round(r.underVsReactive, 4),
            podMinutesVsOracle: round(r.podMinutesVsOracle, 4),
            ...(r.mae1 === undefined ? {} : { mae1: round(r.mae1, 4), mae5: round(r.mae5!, 4) }),
          },
        ];
      }),
    );
    return { name: trace.name, group, file, minutes: trace.values.length, filledMinutes: trace.filledMinutes, policies };
  });
  const groups = [...new Set(rows.map((r) => r.group))];
  const summary = Object.fromEntries(
    groups.map((group) => {
      const g = rows.filter((r) => r.group === group);
      const med = (p: string, key: string) => {
        const m = median(g.map((r) => (r.policies[p] as Record<string, number | null>)[key]));
        return m === null ? null : round(m, 4);
      };
      const perPolicy = Object.fromEntries(
        POLICIES.map((p) => [p, { underVsReactive: med(p, 'underVsReactive'), podMinutesVsOracle: med(p, 'podMinutesVsOracle'), mae1: med(p, 'mae1'), mae5: med(p, 'mae5') }]),
      );
      const ours = perPolicy.ours;
      const persistence = perPolicy.persistence;
      const goal = {
        underVsReactive: ours.underVsReactive !== null && ours.underVsReactive <= GOAL.underVsReactive,
        podMinutesVsOracle: ours.podMinutesVsOracle !== null && ours.podMinutesVsOracle <= GOAL.podMinutesVsOracle,
        betterThanPersistenceOnBoth: ours.underVsReactive! < persistence.underVsReactive! && ours.podMinutesVsOracle! < persistence.podMinutesVsOracle!,
      };
      return [group, { traces: g.length, policies: perPolicy, goal }];
    }),
  );
  const out = { benchmark: 'forecast', plannerOverrides: overrides, goal: { ...GOAL, betterThanPersistenceOnBoth: true }, svgDir: opts.svg, summary, traces: rows };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main();
