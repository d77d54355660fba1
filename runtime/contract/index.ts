/**
 * The vocabulary shared by the constructs (which decide names) and the runtime programs (which read them), one
 * file per concern: the image, environment variables, ports and paths, the command line, queue keys and event
 * formats, Celery's keys, metric names, and the defaults both halves apply.
 *
 * Dependency-free on purpose: `constructs/` imports this folder and nothing else of `runtime/`, so a user's cdk8s
 * app never pulls in ioredis. No file here imports anything outside the folder (test/architecture.test.ts);
 * version.ts is generated from package.json (scripts/write-version.ts).
 */
export * from './version';
export * from './image';
export * from './env';
export * from './ports';
export * from './commands';
export * from './defaults';
export * from './queue';
export * from './celery';
export * from './metrics';
export * from './forecast';
export * from './load';
