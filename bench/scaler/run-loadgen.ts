/**
 * bench:scaler's side of its Go load generator (bench/scaler/loadgen/main.go, whose header defines the report):
 * built by {@link buildLoadgen}, run once per measurement with the requests on stdin and one JSON line back.
 */
import { spawn } from 'child_process';
import { join } from 'path';
import { clockTicks } from '../support/child';
import { buildGoProgram, GoProgram } from '../support/go-program';
import { BenchmarkBroken } from '../support/report';

export const LOADGEN_MODULE = join(__dirname, 'loadgen');

/** One GetMetricsRequest as KEDA sends it; `expect`: the metricValueFloat a right answer has (null: not checked). */
export interface LoadgenRequest {
  readonly name: string;
  readonly namespace: string;
  readonly scalerMetadata: Readonly<Record<string, string>>;
  readonly metricName: string;
  readonly expect: number | null;
}

export interface LoadgenOptions {
  readonly mode: 'open' | 'closed';
  readonly seconds: number;
  /** open: calls per second. */
  readonly rate?: number;
  /** closed: seconds of load before the measured ones. */
  readonly warmupSeconds?: number;
  /** closed: calls in flight (default one per request). */
  readonly concurrency?: number;
  /** The server's process, whose CPU over the measured run is reported. */
  readonly watchPid?: number;
  readonly deadlineMs?: number;
}

/** The report line (numbers, `failed` by code, `carried`, `firstWrong`). */
export type LoadgenReport = Record<string, unknown> & { readonly failed: Record<string, number>; readonly wrong: number; readonly firstWrong?: string };

export function buildLoadgen(): Promise<GoProgram> {
  return buildGoProgram(LOADGEN_MODULE, 'scaler-loadgen');
}

export async function runLoadgen(binary: string, address: string, requests: readonly LoadgenRequest[], options: LoadgenOptions): Promise<LoadgenReport> {
  const args = [`-address=${address}`, `-mode=${options.mode}`, `-seconds=${options.seconds}`, `-clock-ticks=${clockTicks()}`];
  if (options.rate !== undefined) args.push(`-rate=${options.rate}`);
  if (options.warmupSeconds !== undefined) args.push(`-warmup=${options.warmupSeconds}`);
  if (options.concurrency !== undefined) args.push(`-concurrency=${options.concurrency}`);
  if (options.watchPid !== undefined) args.push(`-watch-pid=${options.watchPid}`);
  if (options.deadlineMs !== undefined) args.push(`-deadline=${options.deadlineMs}ms`);
  const child = spawn(binary, args, { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  child.stdin.end(JSON.stringify({ requests }));
  const code = await exited;
  if (code !== 0) throw new BenchmarkBroken(`the load generator (${args.join(' ')}) exited with ${code}: ${Buffer.concat(stderr).toString().trim()}`);
  const text = Buffer.concat(stdout).toString().trim();
  try {
    return JSON.parse(text) as LoadgenReport;
  } catch {
    throw new BenchmarkBroken(`the load generator printed no JSON line: ${JSON.stringify(text)}`);
  }
}
