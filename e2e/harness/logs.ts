/** Tests that print every process log of the cluster when they fail. */
import type { ControlPlane } from './control-plane';

type TestBody = () => Promise<unknown>;

/** `test`, but a failure prints the last lines of every log of `plane()` before it is reported. */
export function printLogsOnFailure(base: jest.It, plane: () => ControlPlane | undefined) {
  return (name: string, body: TestBody, timeout?: number): void =>
    base(
      name,
      async () => {
        try {
          await body();
        } catch (error) {
          const current = plane();
          if (current) console.error(`${name}: failed; the cluster's logs (${current.logDir}):\n${current.logs()}`);
          throw error;
        }
      },
      timeout,
    );
}
