/**
 * Every file of examples/ synthesized from source ('cdk8s-redis-keda' mapped to constructs/ by jest and tsconfig),
 * so a broken example fails `npm test` without packing; the output passes every check the dist test applies.
 * scripts/pack-check.ts does the same from the packed package in a fresh cdk8s app (the authoritative check).
 * The README's library snippets are these files, word for word.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkOutput } from './manifests/check-output';

const root = path.join(__dirname, '..');
const examples = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .sort();
/** The Secrets the examples say they expect in the cluster. */
export const EXAMPLE_SECRETS = ['redis-auth', 'redis-ca'];

/** Objects each example writes, by chart (its RestrictedNamespace included). */
const OBJECTS_PER_CHART: Record<string, Record<string, number>> = {
  'bring-your-own-deployment.ts': { own: 7 },
  'celery-external-tls.ts': { celery: 6 },
  'job-per-event.ts': { jobs: 8 },
  'predictive-scaling.ts': { forecast: 17 },
  'several-charts.ts': { consumers: 4, queue: 5 },
  'worker-fleet.ts': { fleet: 10 },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('there are examples', () => {
  expect(examples).toEqual(['bring-your-own-deployment.ts', 'celery-external-tls.ts', 'job-per-event.ts', 'predictive-scaling.ts', 'several-charts.ts', 'worker-fleet.ts']);
});

test.each(examples)('examples/%s synthesizes to named, resolved, valid objects', (file) => {
  const outdir = path.join(tmp, path.basename(file, '.ts'));
  const saved = { outdir: process.env.CDK8S_OUTDIR, image: process.env.REDIS_KEDA_IMAGE };
  process.env.CDK8S_OUTDIR = outdir;
  delete process.env.REDIS_KEDA_IMAGE;
  try {
    // A fresh module registry per example: each builds its own app at load time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    jest.isolateModules(() => require(path.join(root, 'examples', file)));
  } finally {
    if (saved.outdir === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = saved.outdir;
    if (saved.image !== undefined) process.env.REDIS_KEDA_IMAGE = saved.image;
  }
  const result = checkOutput(outdir, { externalSecrets: EXAMPLE_SECRETS });
  expect(result.problems).toEqual([]);
  expect(result.objects).toEqual(OBJECTS_PER_CHART[file]);
});

test("the README's marked snippets are the example files", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const marked = [...readme.matchAll(/<!-- example: (examples\/[\w.-]+) -->\n```ts\n([\s\S]*?)```/g)];
  expect(marked.map(([, file]) => file)).toEqual(['examples/job-per-event.ts']);
  for (const [, file, body] of marked) expect({ file, body }).toEqual({ file, body: fs.readFileSync(path.join(root, file), 'utf8') });
});
