/** The runtime image the constructs reference, and the user it runs as. */

import { VERSION } from './version';

/** Where the runtime image is published by default. */
export const RUNTIME_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-redis-keda/redis-keda';

/** The runtime image the constructs reference unless told otherwise. */
export const DEFAULT_RUNTIME_IMAGE = `${RUNTIME_IMAGE_REPOSITORY}:${VERSION}`;

/** cdk8s context key that overrides the runtime image for a whole app (`cdk8s synth` / `App({ context })`). */
export const RUNTIME_IMAGE_CONTEXT_KEY = 'redis-keda:image';

/** Environment variable that overrides the runtime image for a whole app at synth. */
export const RUNTIME_IMAGE_ENV = 'REDIS_KEDA_IMAGE';

/** The numeric non-root user and group the runtime image runs as (the node image's `node` user). */
export const RUNTIME_UID = 1000;
export const RUNTIME_GID = 1000;
