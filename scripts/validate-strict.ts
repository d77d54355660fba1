/**
 * `npm run validate:strict [dist-dir]`: validates every KEDA and Prometheus-Operator document in dist/ against the
 * CRDs in ../shared/reference (override with SHARED_REFERENCE) as strictly as `kubectl apply --validate=strict`:
 * unknown fields are errors. See strict-crd-schema.ts for the rules. Core Kubernetes objects are not checked here
 * (the jest suite in test/manifests validates them against kubernetes-models).
 *
 * Before touching dist/ it runs a self-check: known-good documents must pass and known-bad ones (unknown fields at
 * several depths, wrong types, bad names) must fail, so a validator that accepts everything cannot go unnoticed.
 *
 * Output: one line per document, `ok  <file> <Kind>/<name>` or `FAIL <file> <Kind>/<name>` followed by one indented
 * line per error (`  .json.path: message`); warnings (deprecated fields) as `  warning: ...`; then `N passed, M failed`.
 * Exit status: 0 when all passed, 1 when a document failed, dist/ has no chart folders or no KEDA document, or the
 * layout is broken; 2 when the self-check or loading the CRDs failed.
 * Dist folder: first argument, else DIST_DIR, else <repo>/dist.
 */
import * as path from 'path';
import { describeDoc, distDir, displayPath, loadDist } from '../test/manifests/load-dist';
import { defaultReferenceDir, MissingReferenceError } from './reference-dir';
import { StrictCrdValidator, runSelfCheck, SELF_CHECK_CASES } from './strict-crd-schema';

function main(): number {
  const referenceDir = defaultReferenceDir();
  let validator: StrictCrdValidator;
  try {
    validator = StrictCrdValidator.fromReference(referenceDir);
  } catch (e) {
    console.error(e instanceof MissingReferenceError ? `validate:strict: ${e.message}` : `cannot load CRDs from ${referenceDir}: ${(e as Error).message}`);
    return 2;
  }
  console.log(`CRDs from ${displayPath(referenceDir)}: ${validator.kinds().join(', ')}`);
  for (const r of validator.uncheckedRules) {
    console.log(`note: CEL rule not evaluated: ${r.crd} ${r.version} ${r.path}: ${r.message ?? r.rule}`);
  }
  if (validator.permissiveFormats.length > 0) console.log(`note: formats accepted without a check: ${validator.permissiveFormats.join(', ')}`);

  const selfCheckFailures = runSelfCheck(validator);
  if (selfCheckFailures.length > 0) {
    console.error('SELF-CHECK FAILED: the strict validator does not tell good from bad documents:');
    for (const f of selfCheckFailures) console.error(`  ${f}`);
    return 2;
  }
  console.log(`self-check: ${SELF_CHECK_CASES.length} known-good/known-bad documents judged correctly`);

  const dir = process.argv[2] ? path.resolve(process.argv[2]) : distDir();
  const tree = loadDist(dir);
  let passed = 0;
  let failed = 0;
  let keda = 0;
  let notHere = 0;
  for (const p of [...tree.problems, ...tree.charts.flatMap((c) => c.problems)]) {
    console.log(`FAIL layout: ${p}`);
    failed++;
  }
  for (const chart of tree.charts) {
    for (const d of chart.docs) {
      const r = validator.validate(d.doc);
      if (!r.handled) {
        notHere++;
        continue;
      }
      if (typeof d.doc.apiVersion === 'string' && d.doc.apiVersion.startsWith('keda.sh/')) keda++;
      if (r.errors.length === 0) {
        passed++;
        console.log(`ok  ${describeDoc(d)}`);
      } else {
        failed++;
        console.log(`FAIL ${describeDoc(d)}`);
        for (const e of r.errors) console.log(`  ${e.path}: ${e.message}`);
      }
      for (const w of r.warnings) console.log(`  warning: ${w.path}: ${w.message}`);
    }
  }
  if (tree.charts.length > 0 && keda === 0) {
    console.log(`FAIL ${displayPath(dir)} holds no keda.sh document: nothing for the strict check to check`);
    failed++;
  }
  console.log(`${notHere} document(s) of other API groups not checked here (core objects: see npm test)`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main();
