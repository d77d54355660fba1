/**
 * Every check the dist test applies, over any synth output in the GitOps layout (one folder per chart with
 * its kustomization.yaml), as one list of problems: layout, upstream schemas (plus unknown core fields and
 * ObjectMeta rules), Pod Security "restricted", our container and chart rules, names and references.
 * Used by the examples test (from source) and by scripts/pack-check.ts (from the packed package).
 */
import { CoreFieldChecker, coreModelModule } from './core-fields';
import { chartRuleViolations, containerRuleViolations, objectMetaViolations, podTemplatesOf } from './house-rules';
import { describeDoc, loadDist } from './load-dist';
import { restrictedViolations } from './pod-security';
import { ReferenceOptions, referenceViolations } from './references';
import { upstreamErrors } from './upstream-models';

export interface OutputCheck {
  /** Chart folder names, sorted. */
  readonly charts: string[];
  /** Objects per chart folder. */
  readonly objects: Record<string, number>;
  /** Every problem found, each naming the file and object; empty when the output passes. */
  readonly problems: string[];
}

/** Loads `dir` and applies every check; references resolve across all charts of the output. */
export function checkOutput(dir: string, options: ReferenceOptions = {}): OutputCheck {
  const tree = loadDist(dir);
  const problems = [...tree.problems, ...tree.charts.flatMap((c) => c.problems)];
  const docs = tree.charts.flatMap((c) => c.docs);
  const coreFields = CoreFieldChecker.forDocuments(docs.map((d) => d.doc));
  for (const d of docs) {
    const where = describeDoc(d);
    const found = [...upstreamErrors(d.doc), ...objectMetaViolations(d.doc)];
    if (coreModelModule(d.doc)) found.push(...coreFields.unknownFields(d.doc).map((p) => `${p}: unknown field`));
    for (const t of podTemplatesOf(d.doc)) {
      found.push(...restrictedViolations(t.podSpec).map((p) => `${t.path}: Pod Security restricted: ${p}`));
      found.push(...containerRuleViolations(t.podSpec).map((p) => `${t.path}: ${p}`));
    }
    problems.push(...found.map((p) => `${where}: ${p}`));
  }
  for (const c of tree.charts) problems.push(...chartRuleViolations(c.docs.map((d) => d.doc)).map((p) => `${c.name}: ${p}`));
  problems.push(
    ...referenceViolations(
      docs.map((d) => d.doc),
      options,
    ),
  );
  return {
    charts: tree.charts.map((c) => c.name),
    objects: Object.fromEntries(tree.charts.map((c) => [c.name, c.docs.length])),
    problems,
  };
}
