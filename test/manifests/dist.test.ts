/**
 * Every document of dist/ (or of DIST_DIR) checked as it will be applied:
 * - layout: chart folders only, each with a kustomization.yaml listing exactly its YAML files, one resource per file;
 * - upstream schemas from npm (kubernetes-models, @kubernetes-models/keda, @kubernetes-models/prometheus-operator),
 *   plus unknown fields of core objects and the ObjectMeta rules the schemas leave out; a kind without a schema fails;
 * - Pod Security Standards "restricted" (and an explicit non-zero runAsUser) for every pod template;
 * - our rules: requests set, images pinned, no secret-looking env var with a literal value, KEDA targets without
 *   replicas; every object named and every reference resolved (references.ts);
 * - freshness: `cdk8s synth` into a temp dir writes the same tree, byte for byte.
 * Strict CRD validation of KEDA/Prometheus-Operator objects needs ../shared and runs as `npm run validate:strict`.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CoreFieldChecker, coreModelModule } from './core-fields';
import { chartRuleViolations, containerRuleViolations, objectMetaViolations, podTemplatesOf } from './house-rules';
import { describeDoc, displayPath, distDir, LoadedDoc, loadDist, REPO_ROOT } from './load-dist';
import { restrictedViolations } from './pod-security';
import { referenceViolations } from './references';
import { describeTreeDifference, compareTrees } from './tree-diff';
import { upstreamErrors } from './upstream-models';

const DIST = distDir();
const tree = loadDist(DIST);
const docs = tree.charts.flatMap((c) => c.docs);

/** `test.each` rows; a single failing placeholder row when there is nothing to test, so an empty dist fails loudly. */
function rows<T>(items: readonly T[], label: (t: T) => string, what: string): Array<[string, T | undefined]> {
  return items.length > 0 ? items.map((t) => [label(t), t] as [string, T]) : [[`(no ${what} in ${displayPath(DIST)})`, undefined]];
}

function present<T>(t: T | undefined, what: string): T {
  if (t === undefined) throw new Error(`expected at least one ${what} in ${displayPath(DIST)}; run \`npm run synth\``);
  return t;
}

const docRows = rows(docs, describeDoc, 'documents');

describe(`layout of ${displayPath(DIST)}`, () => {
  test('has chart folders and nothing else at the top level', () => {
    expect(tree.problems).toEqual([]);
    expect(tree.charts.map((c) => c.name).sort()).toEqual(['celery-worker', 'event-driven', 'multi-app-redis', 'redis-cluster', 'redis-keda', 'worker-fleet']);
  });

  test.each(rows(tree.charts, (c) => c.name, 'chart folders'))('%s: kustomization.yaml lists exactly its YAML files, one resource per file', (_, chart) => {
    const c = present(chart, 'chart folder');
    expect(c.problems).toEqual([]);
    expect(c.docs.length).toBe(c.yamlFiles.length);
  });
});

describe('upstream schemas', () => {
  let coreFields: CoreFieldChecker;
  beforeAll(() => {
    coreFields = CoreFieldChecker.forDocuments(docs.map((d) => d.doc));
  });

  test.each(docRows)('%s', (_, d) => {
    const { doc } = present(d, 'document');
    const problems = [...upstreamErrors(doc), ...objectMetaViolations(doc)];
    if (coreModelModule(doc)) problems.push(...coreFields.unknownFields(doc).map((p) => `${p}: unknown field`));
    expect(problems).toEqual([]);
  });
});

const workloads = docs.flatMap((d) => podTemplatesOf(d.doc).map((t) => ({ d, ...t })));
const workloadRows = rows(workloads, (w) => `${describeDoc(w.d)} (${w.path})`, 'pod templates');

describe('Pod Security Standards: restricted', () => {
  test.each(workloadRows)('%s', (_, w) => {
    expect(restrictedViolations(present(w, 'pod template').podSpec)).toEqual([]);
  });
});

describe('our rules', () => {
  test.each(workloadRows)('containers of %s: requests, pinned image, secrets from Secrets', (_, w) => {
    expect(containerRuleViolations(present(w, 'pod template').podSpec)).toEqual([]);
  });

  test.each(rows(tree.charts, (c) => c.name, 'chart folders'))('%s: KEDA targets have no replicas, replica ranges hold', (_, chart) => {
    expect(chartRuleViolations(present(chart, 'chart folder').docs.map((d: LoadedDoc) => d.doc))).toEqual([]);
  });

  test.each(rows(tree.charts, (c) => c.name, 'chart folders'))('%s: every object named, every reference resolves (Secrets: only redis-auth expected)', (_, chart) => {
    expect(
      referenceViolations(
        present(chart, 'chart folder').docs.map((d: LoadedDoc) => d.doc),
        { externalSecrets: ['redis-auth'] },
      ),
    ).toEqual([]);
  });
});

describe('freshness', () => {
  let tmp: string | undefined;
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test(`${displayPath(DIST)} is exactly what \`cdk8s synth\` writes now`, async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-redis-keda-synth-'));
    const out = path.join(tmp, 'dist');
    const cli = path.join(REPO_ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
    if (!fs.existsSync(cli)) throw new Error(`${cli} not found: run npm ci`);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [cli, 'synth', '--output', out, '--check-upgrade', 'false'],
        {
          cwd: REPO_ROOT,
          timeout: 110_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    if (result.code !== 0) throw new Error(`cdk8s synth failed (exit ${result.code}):\n${result.stderr || result.stdout}`);
    const diff = describeTreeDifference(compareTrees(DIST, out), DIST, out, displayPath(DIST), 'fresh synth');
    if (diff) throw new Error(`${displayPath(DIST)} is stale; run \`npm run synth\` and commit the result.\n${diff}`);
  }, 120_000);
});
