/** KEDA's decisions, read back from the operator's log (console encoder, one line per message). */

/** One poll of a ScaledJob: what KEDA counted and how many Jobs it created. */
export interface ScaledJobPoll {
  /** The log line's time (whole seconds). */
  readonly time: string;
  readonly running: number;
  readonly pending: number;
  /** The accurate strategy's effective maximum, when KEDA got to creating. */
  effectiveMax?: number;
  created: number;
}

const LINE = /^(\S+)\t\S+\t\S+\t(Scaling Jobs|Creating jobs|Created jobs|No need to create jobs - all requested jobs already exist)\t(\{.*\})$/;

/** The polls of ScaledJob `namespace/name`, in order, from the operator's whole log. */
export function scaledJobPolls(operatorLog: string, namespace: string, name: string): ScaledJobPoll[] {
  const polls: ScaledJobPoll[] = [];
  let current: { time: string; running?: number; pending?: number; effectiveMax?: number; created: number } | undefined;
  const close = () => {
    if (current?.running !== undefined && current.pending !== undefined) polls.push({ ...current, running: current.running, pending: current.pending });
    current = undefined;
  };
  for (const line of operatorLog.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const fields = JSON.parse(match[3]) as Record<string, unknown>;
    if (fields['scaledJob.Name'] !== name || fields['scaledJob.Namespace'] !== namespace) continue;
    const [, time, message] = match;
    if (message === 'Scaling Jobs' && 'Number of running Jobs' in fields) {
      close();
      current = { time, running: Number(fields['Number of running Jobs']), created: 0 };
    } else if (current && message === 'Scaling Jobs' && 'Number of pending Jobs' in fields) {
      current.pending = Number(fields['Number of pending Jobs']);
    } else if (current && message === 'Creating jobs' && 'Effective number of max jobs' in fields) {
      current.effectiveMax = Number(fields['Effective number of max jobs']);
    } else if (current && message === 'Created jobs') {
      current.created = Number(fields['Number of jobs']);
    } else if (current && message.startsWith('No need')) {
      current.effectiveMax = Number(fields.jobs);
    }
  }
  close();
  return polls;
}

/**
 * NOTES.md's accurate strategy: effective = (maxScale + R - P > max) ? max - R : maxScale - P with
 * maxScale = ceil(min(Q / T, max)); KEDA creates min(ceil(Q), effective) Jobs, none when that is not positive.
 */
export function accurateNewJobs(queueLength: number, perJob: number, max: number, running: number, pending: number): number {
  const maxScale = Math.ceil(Math.min(queueLength / perJob, max));
  const effective = maxScale + running - pending > max ? max - running : maxScale - pending;
  return Math.max(0, Math.min(effective, Math.ceil(queueLength)));
}
