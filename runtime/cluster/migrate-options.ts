/** How slots and keys are batched when they move (no imports: the command modules read the defaults without loading ioredis). */
export interface MigrateOptions {
  /** Keys per MIGRATE command. */
  readonly keysPerMigrate: number;
  /** MIGRATE commands sent together (one pipeline) to a source. */
  readonly migratesInFlight: number;
  /** Slots of one source handled per round trip. */
  readonly slotsPerWave: number;
  /** MIGRATE's own timeout for the target's reply, ms. */
  readonly migrateTimeoutMs: number;
}

export const DEFAULT_MIGRATE_OPTIONS: MigrateOptions = { keysPerMigrate: 200, migratesInFlight: 16, slotsPerWave: 512, migrateTimeoutMs: 10_000 };
