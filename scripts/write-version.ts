/**
 * Writes runtime/contract/version.ts from package.json's `version`, the one place the version is set.
 * The result is committed; `npm version` and `prepack` regenerate it and a test keeps it fresh, so the sources,
 * lib/ and the image read the same value without reading package.json at run time (whose path differs between
 * the sources and lib/).
 */
import * as fs from 'fs';
import * as path from 'path';

export const VERSION_MODULE = path.join(__dirname, '..', 'runtime', 'contract', 'version.ts');

/** The module's text for a version. */
export function renderVersionModule(version: string): string {
  return [
    '// Generated from package.json by scripts/write-version.ts (npm version, prepack): do not edit.',
    '',
    '/** The package version; the default runtime image is tagged with it. */',
    `export const VERSION = '${version}';`,
    '',
  ].join('\n');
}

if (require.main === module) {
  const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  const text = renderVersionModule(version);
  if (!fs.existsSync(VERSION_MODULE) || fs.readFileSync(VERSION_MODULE, 'utf8') !== text) fs.writeFileSync(VERSION_MODULE, text);
}
