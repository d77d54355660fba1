/** Tests that are the steps of one scenario on a cluster, each building on the state the one before left. */
import type { ControlPlane } from './control-plane';

type StepBody = () => Promise<unknown>;

/**
 * Returns `step(name, body, timeout?)`, which registers a test. Once a step fails, its logs are
 * printed (as printLogsOnFailure does) and every later step fails at once, naming the step that
 * failed, instead of waiting out its deadlines on a state it cannot have.
 */
export function scenarioSteps(plane: () => ControlPlane | undefined) {
  let failed: string | undefined;
  return (name: string, body: StepBody, timeout?: number): void =>
    test(
      name,
      async () => {
        if (failed !== undefined) throw new Error(`not run: the earlier step "${failed}" failed`);
        try {
          await body();
        } catch (error) {
          failed = name;
          const current = plane();
          // The error first: a CI log cut after a few lines still says what failed.
          const why = error instanceof Error ? error.message : String(error);
          if (current) console.error(`${name}: failed: ${why}\nthe cluster's logs (${current.logDir}):\n${current.logs()}`);
          throw error;
        }
      },
      timeout,
    );
}
