/** The gRPC server's credentials: plaintext, or TLS from a kubernetes.io/tls Secret's files (ca.crt: client certificates required). */
import { ServerCredentials } from '@grpc/grpc-js';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

export interface ServerTls {
  readonly credentials: ServerCredentials;
  /** What a log line may say: the mode and the files, never their content. */
  readonly description: { readonly tls: boolean; readonly clientCertificates?: boolean; readonly dir?: string };
}

export const TLS_FILES = { CERT: 'tls.crt', KEY: 'tls.key', CA: 'ca.crt' } as const;

export function serverTls(dir: string | undefined): ServerTls {
  if (dir === undefined) return { credentials: ServerCredentials.createInsecure(), description: { tls: false } };
  const read = (name: string) => {
    const file = join(dir, name);
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`cannot read ${file} for the scaler's TLS: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  const cert = read(TLS_FILES.CERT);
  const key = read(TLS_FILES.KEY);
  const caFile = join(dir, TLS_FILES.CA);
  const ca = existsSync(caFile) ? read(TLS_FILES.CA) : null;
  return {
    credentials: ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null),
    description: { tls: true, clientCertificates: ca !== null, dir },
  };
}
