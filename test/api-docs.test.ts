/**
 * Every public construct, props field, method and enum member of the library (what constructs/index.ts exports)
 * documented with a sentence of its own, not only `@default`; and docs/api/ exactly what `npm run docs:api`
 * (TypeDoc with its Markdown plugin, sources links off) writes now.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { compareTrees, describeTreeDifference } from './manifests/tree-diff';

const root = path.join(__dirname, '..');

/** `<Export>[.<member>]` of every public declaration whose TSDoc has no summary sentence. */
function undocumented(): string[] {
  const entry = path.join(root, 'constructs', 'index.ts');
  const program = ts.createProgram([entry], {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  });
  const checker = program.getTypeChecker();
  const ours = (d: ts.Declaration) =>
    !path.relative(root, d.getSourceFile().fileName).startsWith('node_modules') && !path.relative(root, d.getSourceFile().fileName).startsWith('imports');
  const summary = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
  const missing: string[] = [];
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!);
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decls = (symbol.declarations ?? []).filter(ours);
    if (decls.length === 0) continue;
    if (!/[A-Za-z]/.test(summary(symbol))) missing.push(exported.name);
    for (const decl of decls) {
      if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl) && !ts.isEnumDeclaration(decl)) continue;
      for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement | ts.EnumMember>) {
        if (ts.isConstructorDeclaration(member) || ts.isIndexSignatureDeclaration(member)) continue;
        const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
        if (modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
        if (member.name && ts.isPrivateIdentifier(member.name)) continue;
        const memberSymbol = (member as { symbol?: ts.Symbol }).symbol;
        if (!memberSymbol) continue;
        if (!/[A-Za-z]/.test(summary(memberSymbol))) missing.push(`${exported.name}.${memberSymbol.name}`);
      }
    }
  }
  return missing.sort();
}

test('every public declaration of the library has a summary sentence (not only @default)', () => {
  expect(undocumented()).toEqual([]);
});

describe('docs/api', () => {
  let tmp: string | undefined;
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('is exactly what `npm run docs:api` writes now', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-api-'));
    const out = path.join(tmp, 'api');
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, [typedoc, '--out', out], { cwd: root, timeout: 110_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    if (result.code !== 0) throw new Error(`typedoc failed (exit ${result.code}):\n${result.output}`);
    const diff = describeTreeDifference(compareTrees(path.join(root, 'docs', 'api'), out), path.join(root, 'docs', 'api'), out, 'docs/api', 'fresh typedoc');
    if (diff) throw new Error(`docs/api is stale; run \`npm run docs:api\` and commit the result.\n${diff}`);
  }, 120_000);
});
