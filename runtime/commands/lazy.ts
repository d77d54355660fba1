/** Commands load the module that does their work only when they run: `--help` and the other commands never load it. */

/** What a command's run module exports: its yargs handler. */
export interface CommandRun {
  run(argv: unknown): Promise<void>;
}

/** A yargs handler that loads the command's run module first. */
export function lazyHandler(load: () => Promise<CommandRun>): (argv: unknown) => Promise<void> {
  return async (argv) => (await load()).run(argv);
}
