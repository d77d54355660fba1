/** The kubectl we build, run against a harness's cluster with a given kubeconfig. */
import { spawn } from 'child_process';

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class Kubectl {
  constructor(
    private readonly binary: string,
    readonly kubeconfig: string,
  ) {}

  /** Runs kubectl with `args` (and `input` on stdin); resolves whatever the exit code. */
  run(args: readonly string[], input?: string): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['--kubeconfig', this.kubeconfig, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      // A command that reads no input (get --raw) may exit before its stdin is closed: EPIPE then means nothing.
      child.stdin.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') reject(error);
      });
      child.stdin.end(input ?? '');
    });
  }

  /** Runs kubectl and returns stdout; throws with stderr when it exits non-zero. */
  async ok(args: readonly string[], input?: string): Promise<string> {
    const result = await this.run(args, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** `kubectl apply --server-side -f -` of objects given as JSON (a JSON document is YAML). */
  apply(objects: readonly object[], fieldManager = 'e2e-harness'): Promise<string> {
    const list = { apiVersion: 'v1', kind: 'List', items: objects };
    return this.ok(['apply', '--server-side', `--field-manager=${fieldManager}`, '-f', '-'], JSON.stringify(list));
  }

  async getJson<T = any>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.ok(['get', ...args, '-o', 'json'])) as T;
  }
}
