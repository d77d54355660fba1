/** Connection timeouts, apart from connection.ts so that command options (`--help`) can name them without loading ioredis. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
