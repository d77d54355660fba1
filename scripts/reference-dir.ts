/**
 * The upstream CRD files `npm run import` and `npm run validate:strict` read, and what to tell a
 * user who lacks them. This repository does not carry them: they sit in a reference folder beside
 * the clone (`../shared/reference`), or wherever SHARED_REFERENCE points.
 *
 * Run directly (`ts-node scripts/reference-dir.ts`), it prints the folder when it is complete, else
 * the explanation on stderr with exit status 2 (scripts/import-crds.sh uses it so); with
 * `--fetch-commands <dir>` it prints the shell commands that fetch the files into <dir> (CI does).
 */
import * as fs from 'fs';
import * as path from 'path';

/** Where each subfolder's files come from, with the upstream version the manifests are validated for. */
export const REFERENCE_SOURCES = [
  {
    dir: 'keda',
    what: 'KEDA v2.20.2 CRDs',
    base: 'https://raw.githubusercontent.com/kedacore/keda/v2.20.2/config/crd/bases',
    files: ['keda.sh_scaledjobs.yaml', 'keda.sh_scaledobjects.yaml', 'keda.sh_triggerauthentications.yaml', 'keda.sh_clustertriggerauthentications.yaml'],
  },
  {
    dir: 'prometheus-operator',
    what: 'Prometheus-Operator v0.93.0 CRDs',
    base: 'https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd',
    files: ['monitoring.coreos.com_podmonitors.yaml', 'monitoring.coreos.com_servicemonitors.yaml', 'monitoring.coreos.com_prometheusrules.yaml'],
  },
] as const;

/** `SHARED_REFERENCE` if set, else `<repo>/../shared/reference`. */
export function defaultReferenceDir(): string {
  return process.env.SHARED_REFERENCE ? path.resolve(process.env.SHARED_REFERENCE) : path.resolve(__dirname, '..', '..', 'shared', 'reference');
}

/** The CRD YAML files of one subfolder, or what is wrong with it. */
function yamlFiles(dir: string): string[] | string {
  if (!fs.existsSync(dir)) return `${dir} does not exist`;
  const yamls = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return yamls.length ? yamls.map((f) => path.join(dir, f)) : `${dir} holds no CRD YAML files`;
}

/** Shell commands that fill `dir` with the reference CRDs from upstream (the CI workflow runs them). */
export function fetchCommands(dir: string): string[] {
  return REFERENCE_SOURCES.flatMap((s) => [`mkdir -p ${dir}/${s.dir}`, ...s.files.map((f) => `curl -fsSL -o ${dir}/${s.dir}/${f} ${s.base}/${f}`)]);
}

/** The reference folder lacks what the command needs: the message says what, where from, and how to point at it. */
export class MissingReferenceError extends Error {
  constructor(
    readonly referenceDir: string,
    readonly problems: readonly string[],
  ) {
    const lines = [
      `the upstream CRD files are missing: ${problems.join('; ')}.`,
      `This repository does not carry them; 'npm run import' and 'npm run validate:strict' read them from a reference folder:`,
      `${referenceDir} (set SHARED_REFERENCE to use another), laid out as:`,
      ...REFERENCE_SOURCES.flatMap((s) => [`  ${s.dir}/   ${s.what}, from ${s.base}/`, ...s.files.map((f) => `    ${f}`)]),
      'To fetch them:',
      ...fetchCommands('ref').map((line) => `  ${line}`),
      '  SHARED_REFERENCE=$PWD/ref npm run validate:strict',
      'Everything else (npm test, npm run synth) works without them.',
    ];
    super(lines.join('\n'));
    this.name = 'MissingReferenceError';
  }
}

/** The CRD files under a reference folder (every YAML of `keda/` and `prometheus-operator/`); throws {@link MissingReferenceError}. */
export function referenceCrdFiles(referenceDir: string = defaultReferenceDir()): string[] {
  const found = REFERENCE_SOURCES.map((s) => yamlFiles(path.join(referenceDir, s.dir)));
  const problems = found.filter((f): f is string => typeof f === 'string');
  if (problems.length) throw new MissingReferenceError(referenceDir, problems);
  return found.flat();
}

if (require.main === module && process.argv[2] === '--fetch-commands') {
  console.log(fetchCommands(process.argv[3] ?? defaultReferenceDir()).join('\n'));
} else if (require.main === module) {
  try {
    referenceCrdFiles();
    console.log(defaultReferenceDir());
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
