/**
 * The forecasting core compiled to plain JavaScript for tools that run without ts-node (eval.js loads a `--policy`
 * plug-in with `require`): every file of runtime/forecast/ transpiled with TypeScript into `.bench/forecast/`
 * (git-ignored). The folder imports nothing outside itself, so transpiling it alone is the build.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SOURCE = path.join(__dirname, '..', '..', 'runtime', 'forecast');

/** Transpiles runtime/forecast/*.ts into `outDir` (default `.bench/forecast`); returns the plug-in's path. */
export function buildForecastPlugin(outDir = path.join(__dirname, '..', '..', '.bench', 'forecast')): string {
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of fs.readdirSync(SOURCE).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(SOURCE, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    fs.writeFileSync(path.join(outDir, file.replace(/\.ts$/, '.js')), outputText);
  }
  return path.join(outDir, 'eval-policy.js');
}

if (require.main === module) console.log(buildForecastPlugin());
