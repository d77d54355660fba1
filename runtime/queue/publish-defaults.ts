/** The publisher's defaults, apart from publisher.ts so that `publish --help` shows them without loading the publisher. */
export const PUBLISH_DEFAULTS = { batch: 10, intervalSeconds: 10, waitMin: 10, waitMax: 20 } as const;
