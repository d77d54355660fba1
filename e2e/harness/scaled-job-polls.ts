/**
 * KEDA's decisions on one ScaledJob, poll by poll, read from the keda-operator's log (console
 * encoder, started with `--zap-log-level=debug` so the metric value of each poll is logged; see
 * `KedaOptions.operatorArgs`). Per poll KEDA logs, in this order, for the ScaledJob by name:
 * "Scaler Metric value" (the queue length it read), "Checking if ScaleJob Scalers are active",
 * "Scaling Jobs" twice (running, then pending Jobs), then either "No change in activity" (no
 * trigger active: nothing is created) or "At least one scaler is active" followed by "No need to
 * create jobs ..." or "Creating jobs" ... "Created jobs" (the number it created).
 */

/** One poll of a ScaledJob as KEDA logged it. */
export interface ScaledJobPoll {
  /** When KEDA logged the queue length (the poll's start), as the operator writes time. */
  readonly at: string;
  /** The queue length KEDA read (LLEN of the list), summed over its metric. */
  readonly queueLength: number;
  /** Whether any trigger was active. */
  readonly active: boolean;
  /** Jobs of the ScaledJob not finished. */
  readonly running: number;
  /** Of those, the ones KEDA counts as pending. */
  readonly pending: number;
  /** Jobs it created in this poll. */
  readonly created: number;
  /** When it logged "Created jobs", if it created any. */
  readonly createdAt?: string;
}

interface LogLine {
  readonly at: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** A console-encoder line: `<time>\t<LEVEL>\t[<logger>\t]<message>\t{<fields as JSON>}`; undefined for other lines (stack traces). */
function parseLine(line: string): LogLine | undefined {
  const parts = line.split('\t');
  const last = parts[parts.length - 1];
  if (parts.length < 4 || !last.startsWith('{')) return undefined;
  try {
    return { at: parts[0], msg: parts[parts.length - 2], fields: JSON.parse(last) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

type Draft = { -readonly [K in keyof ScaledJobPoll]?: ScaledJobPoll[K] } & { done?: boolean };

/**
 * The polls of ScaledJob `name` (names must be unique across namespaces: KEDA's metric line names
 * no namespace) whose decision is completely logged, oldest first. `metricName` is the trigger's
 * metric (`s0-redis-<list>`).
 */
export function scaledJobPolls(log: string, name: string, metricName: string): ScaledJobPoll[] {
  const polls: Draft[] = [];
  const current = (): Draft | undefined => polls[polls.length - 1];
  for (const raw of log.split('\n')) {
    const line = parseLine(raw);
    if (!line || line.fields['scaledJob.Name'] !== name) continue;
    const { msg, fields } = line;
    const poll = current();
    if (msg === 'Scaler Metric value' && metricName in fields) {
      polls.push({ at: line.at, queueLength: Number(fields[metricName]) });
    } else if (!poll || poll.done) {
      continue; // a line of a poll whose start was not logged (the log began mid-poll)
    } else if (msg === 'Checking if ScaleJob Scalers are active') {
      poll.active = fields.isActive === true;
    } else if (msg === 'Scaling Jobs' && 'Number of running Jobs' in fields) {
      poll.running = Number(fields['Number of running Jobs']);
    } else if (msg === 'Scaling Jobs' && 'Number of pending Jobs' in fields) {
      poll.pending = Number(fields['Number of pending Jobs']);
    } else if (msg === 'No change in activity' || msg.startsWith('No need to create jobs')) {
      Object.assign(poll, { created: 0, done: true });
    } else if (msg === 'Created jobs') {
      Object.assign(poll, { created: Number(fields['Number of jobs']), createdAt: line.at, done: true });
    }
  }
  return polls.filter((p) => p.done).map(({ done: _done, ...poll }) => poll as ScaledJobPoll);
}

/**
 * What NOTES.md says KEDA's `accurate` strategy creates in one poll (issue 12's formula):
 * maxScale = ceil(min(Q / T, max)); new = maxScale + R - P > max ? max - R : maxScale - P; none
 * when no trigger is active (Q <= activationListLength) and never fewer than none.
 */
export function accurateJobsToCreate(poll: Pick<ScaledJobPoll, 'queueLength' | 'running' | 'pending'>, target: number, maxReplicas: number, activation = 0): number {
  if (poll.queueLength <= activation) return 0;
  const maxScale = Math.ceil(Math.min(poll.queueLength / target, maxReplicas));
  const wanted = maxScale + poll.running - poll.pending > maxReplicas ? maxReplicas - poll.running : maxScale - poll.pending;
  return Math.max(0, wanted);
}
