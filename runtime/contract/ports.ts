/** Where the programs listen and what they serve: Redis and exporter ports, the health and metrics endpoints, the Job-mode readiness file. */

/** Default Redis port. */
export const REDIS_PORT = 6379;

/** Port of the redis_exporter sidecar. */
export const REDIS_EXPORTER_PORT = 9121;

/** Port on which long-running commands serve `/healthz` and `/metrics`. */
export const METRICS_PORT = 9090;
/** Liveness: the process works (200), or is stopping (503). */
export const HEALTH_PATH = '/healthz';
/** Readiness: Redis is reachable (200), or not (503). */
export const READY_PATH = '/readyz';
export const METRICS_PATH = '/metrics';

/** The emptyDir mount of a Job-mode consumer, and the marker file in it. */
export const CLAIM_DIR = '/run/redis-keda';
export const CLAIM_FILE = `${CLAIM_DIR}/claimed`;

/** Where the Publisher mounts its rate ConfigMap (a directory: the kubelet swaps `..data` in it), and the file in it. */
export const RATE_DIR = '/etc/redis-keda/rate';
export const RATE_FILE_NAME = 'rate';
export const RATE_FILE = `${RATE_DIR}/${RATE_FILE_NAME}`;

/** Port on which `demo-app` answers the example's HTTP requests (the Kedastral example's 8080). */
export const DEMO_APP_PORT = 8080;
/** The paths `demo-app` answers, and the one `loadgen` requests by default. */
export const DemoAppPaths = {
  TASK: '/api/task',
  HEAVY: '/api/heavy',
  ROOT: '/',
} as const;
