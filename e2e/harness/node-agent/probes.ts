/**
 * A container's readiness probe run as the kubelet runs it: exec (the command on the host, paths
 * rewritten, the container's env), httpGet (200-399 within timeoutSeconds) or tcpSocket on the
 * pod's address and remapped port, every periodSeconds after initialDelaySeconds; Ready after successThreshold
 * successes in a row, not Ready after failureThreshold failures in a row.
 */
import { spawn } from 'child_process';
import { request } from 'http';
import { request as httpsRequest } from 'https';
import { createConnection } from 'net';

export interface ProbeTarget {
  /** The exec command, already rewritten and mapped to a host program. */
  readonly exec?: { readonly command: string; readonly args: readonly string[]; readonly env: Record<string, string>; readonly cwd: string };
  readonly http?: { readonly host: string; readonly port: number; readonly path: string; readonly scheme: string; readonly headers: Record<string, string> };
  readonly tcp?: { readonly host: string; readonly port: number };
}

export interface ProbeTiming {
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

export function probeTiming(probe: any): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** Runs the probe once: true on success. */
export function probeOnce(target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (target.exec) return execProbe(target.exec, timeoutMs);
  if (target.http) return httpProbe(target.http, timeoutMs);
  if (target.tcp) return tcpProbe(target.tcp.host, target.tcp.port, timeoutMs);
  return Promise.resolve(true);
}

function execProbe(exec: NonNullable<ProbeTarget['exec']>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(exec.command, exec.args, { cwd: exec.cwd, env: exec.env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

function httpProbe(http: NonNullable<ProbeTarget['http']>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const tls = http.scheme.toUpperCase() === 'HTTPS';
    const req = (tls ? httpsRequest : request)(
      {
        host: http.host,
        port: http.port,
        path: http.path,
        method: 'GET',
        timeout: timeoutMs,
        headers: { 'user-agent': 'kube-probe/1.35', ...http.headers },
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs a probe on its schedule until stop(), reporting each change of readiness. */
export class Prober {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  ready = false;

  constructor(
    private readonly target: ProbeTarget,
    private readonly timing: ProbeTiming,
    private readonly onChange: (ready: boolean) => void,
  ) {}

  start(): void {
    this.timer = setTimeout(() => void this.tick(), this.timing.initialDelayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const ok = await probeOnce(this.target, this.timing.timeoutMs);
    if (this.stopped) return;
    if (ok) {
      this.failures = 0;
      if (++this.successes >= this.timing.successThreshold && !this.ready) this.set(true);
    } else {
      this.successes = 0;
      if (++this.failures >= this.timing.failureThreshold && this.ready) this.set(false);
    }
    this.timer = setTimeout(() => void this.tick(), this.timing.periodMs);
  }

  private set(ready: boolean): void {
    this.ready = ready;
    this.onChange(ready);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
