/**
 * The model's error as it runs: forecasts made `horizon` seconds ahead are kept until the actual value of their
 * instant arrives, then scored; the mean absolute error is over the scores of the last hour. Pure, in memory.
 */

/** Horizons the forecaster scores (ForecastMetrics.MODEL_ERROR's `horizon`: `60s`, `300s`). */
export const MODEL_ERROR_HORIZONS = [60, 300] as const;
/** Scores older than this (before the newest actual) no longer count. */
export const MODEL_ERROR_WINDOW_SECONDS = 3600;

export class ModelError {
  /** Per horizon: the forecast made for each future instant. */
  private readonly pending = new Map<number, Map<number, number>>();
  /** Per horizon: absolute errors by the instant they were scored at, oldest first. */
  private readonly scores = new Map<number, { t: number; error: number }[]>();

  /**
   * `step`: seconds between forecast points; `points`: how many the planner makes (index 0 is one step ahead).
   * A horizon that is not a whole number of steps within them is not scored.
   */
  constructor(
    private readonly step: number,
    points: number,
    horizons: readonly number[] = MODEL_ERROR_HORIZONS,
  ) {
    for (const h of horizons) {
      if (h % step === 0 && h / step >= 1 && h / step <= points) {
        this.pending.set(h, new Map());
        this.scores.set(h, []);
      }
    }
  }

  /** The horizons scored. */
  get horizons(): number[] {
    return [...this.pending.keys()];
  }

  /** A forecast made at `t` (its index k is for t + (k + 1) * step). */
  made(t: number, forecast: readonly number[]): void {
    for (const [h, pending] of this.pending) pending.set(t + h, forecast[h / this.step - 1]);
  }

  /** The actual value at `t` arrived (a sample, not a filled-in step): scores the forecasts made for it. */
  actual(t: number, value: number): void {
    for (const [h, pending] of this.pending) {
      const f = pending.get(t);
      const scores = this.scores.get(h) as { t: number; error: number }[];
      if (f !== undefined) scores.push({ t, error: Math.abs(value - f) });
      for (const due of pending.keys()) if (due <= t) pending.delete(due);
      while (scores.length && scores[0].t <= t - MODEL_ERROR_WINDOW_SECONDS) scores.shift();
    }
  }

  /** Mean absolute error per horizon over the last hour; undefined before anything was scored. */
  meanAbsoluteError(horizon: number): number | undefined {
    const scores = this.scores.get(horizon);
    if (!scores?.length) return undefined;
    return scores.reduce((sum, s) => sum + s.error, 0) / scores.length;
  }
}
