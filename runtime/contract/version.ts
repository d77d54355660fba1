// Generated from package.json by scripts/write-version.ts (npm version, prepack): do not edit.

/** The package version; the default runtime image is tagged with it. */
export const VERSION = '0.1.0';
