/**
 * `npm run bench`: runs every benchmark, each in its own process (`ts-node --transpile-only
 * bench/<name>.ts`), and prints `{"benchmarks": [<each one's JSON>]}` on stdout; progress goes to
 * stderr. Exits 1 if any benchmark broke (a missed goal is a result, not a failure).
 */
import { spawn } from 'child_process';
import { join } from 'path';

/** Every benchmark, by file name in bench/. */
export const BENCHMARKS = ['queue', 'celery', 'cluster', 'forecast', 'scaler'] as const;

function run(name: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, `${name}.ts`)], {
      cwd: join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout }));
  });
}

function brokenReason(stdout: string): string | undefined {
  try {
    const { broken } = JSON.parse(stdout) as { broken?: unknown };
    return typeof broken === 'string' ? broken : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const results: unknown[] = [];
  const broken: string[] = [];
  for (const name of BENCHMARKS) {
    process.stderr.write(`== bench/${name}.ts\n`);
    const { code, stdout } = await run(name);
    try {
      // A benchmark that broke may say why in its JSON ({ broken }), e.g. bench:scaler without Go.
      if (code !== 0) throw new Error(brokenReason(stdout) ?? `exit code ${code}`);
      results.push(JSON.parse(stdout));
    } catch (error) {
      broken.push(name);
      results.push({ benchmark: name, broken: error instanceof Error ? error.message : String(error) });
    }
  }
  process.stdout.write(JSON.stringify({ benchmarks: results }, null, 2) + '\n');
  if (broken.length > 0) process.stderr.write(`broken: ${broken.join(', ')}\n`);
  return broken.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
