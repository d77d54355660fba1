/**
 * BullMQ, the reference queue. It cannot be a devDependency (the registry mirror lacks
 * msgpackr-extract's non-linux optional binaries, so the lock file would fail `npm ci`), so the
 * benchmark installs it on first use into the git-ignored `.bench/bullmq` and requires it from
 * there. Only the few members the benchmarks use are typed here.
 */
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { createRequire } from 'module';
import { join } from 'path';
import { REPO_ROOT } from './child';
import { progress } from './report';

/** The major version installed; the exact version is reported. */
export const BULLMQ_SPEC = 'bullmq@5';
export const BULLMQ_DIR = join(REPO_ROOT, '.bench', 'bullmq');

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly maxRetriesPerRequest: null;
}

export interface BullJob<T = unknown> {
  readonly id?: string;
  readonly data: T;
  /** ms since the epoch, set by the producer at add time. */
  readonly timestamp: number;
}

export interface BulkJob<T> {
  readonly name: string;
  readonly data: T;
  readonly opts?: { readonly removeOnComplete?: boolean; readonly removeOnFail?: boolean };
}

export interface BullQueue<T = unknown> {
  addBulk(jobs: readonly BulkJob<T>[]): Promise<unknown[]>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

export interface BullWorker {
  on(event: 'completed', listener: (job: BullJob) => void): this;
  on(event: 'failed', listener: (job: BullJob | undefined, error: Error) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  waitUntilReady(): Promise<unknown>;
  run(): Promise<void>;
  close(force?: boolean): Promise<void>;
}

export interface WorkerOptions {
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  readonly concurrency: number;
  readonly autorun?: boolean;
}

export interface BullMQ {
  readonly version: string;
  readonly Queue: new <T>(name: string, options: { connection: ConnectionOptions; prefix: string }) => BullQueue<T>;
  readonly Worker: new <T>(name: string, processor: (job: BullJob<T>) => Promise<unknown>, options: WorkerOptions) => BullWorker;
}

/** Installs BullMQ into .bench/bullmq unless it is there, then loads it. */
export function loadBullMQ(): BullMQ {
  const packageJson = join(BULLMQ_DIR, 'node_modules', 'bullmq', 'package.json');
  if (!existsSync(packageJson)) {
    progress(`installing ${BULLMQ_SPEC} into ${BULLMQ_DIR} (not saved, no lock file)`);
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', BULLMQ_DIR, BULLMQ_SPEC], {
      cwd: REPO_ROOT,
      stdio: ['ignore', process.stderr, process.stderr],
    });
  }
  const load = createRequire(packageJson);
  const bullmq = load('bullmq') as Omit<BullMQ, 'version'>;
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { version, Queue: bullmq.Queue, Worker: bullmq.Worker };
}
