/** The picture of one trace's run: load, our 1-minute forecast, and the replicas of reactive, ours and the oracle. */
import { PlotSeries, renderSvg } from '../../scripts/plot/chart';
import { SCORED_MINUTES, TraceRun } from './simulate';
import { TARGET_PER_POD, Trace } from './traces';

/** The SVG of the scored minutes of `run` (load and forecast in pods: the metric over `targetPerPod`). */
export function traceSvg(trace: Trace, run: TraceRun, command: string): string {
  const n = trace.values.length;
  const from = n - SCORED_MINUTES;
  const points = (value: (m: number) => number): [number, number][] => {
    const out: [number, number][] = [];
    for (let m = from; m < n; m++) out.push([trace.timestamps[m], value(m)]);
    return out;
  };
  // The replicas serving in minute m were decided at the end of minute m - 1.
  const replicas = (name: string, R: Float64Array): PlotSeries => ({ name, unit: 'pods', style: 'step', points: points((m) => R[m - 1]) });
  const series: PlotSeries[] = [
    { name: 'load', unit: 'pods of load', style: 'line', points: points((m) => trace.values[m] / TARGET_PER_POD) },
    { name: 'our forecast, 1 min ahead', unit: 'pods of load', style: 'line', points: points((m) => run.forecast1[m] / TARGET_PER_POD) },
    replicas('reactive HPA replicas', run.targets.reactive),
    replicas('our replicas', run.targets.ours),
    replicas('oracle replicas', run.targets.oracle),
  ];
  return renderSvg({ heading: `Forecast-driven vs reactive scaling: ${trace.name}, last 2 days`, recordedAt: 'bench/forecast.ts', command, series });
}
