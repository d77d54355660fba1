/**
 * Certificates and keys of a harness run, made with openssl (EC P-256: quick to generate, accepted
 * by every component). Each CA signs only its own kind of certificate: the cluster CA the API
 * server's serving certificate and the components' client certificates, the front-proxy CA the
 * aggregator's client certificate, the KEDA CA the certificates KEDA's programs serve and present.
 */
import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export interface CertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface LeafOptions {
  /** Subject CN (the user name, for a client certificate). */
  readonly commonName: string;
  /** Subject O values (the groups, for a client certificate). @default [] */
  readonly organizations?: readonly string[];
  /** DNS names and IP addresses: makes a serving certificate. @default - none (client only) */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Usable as a client certificate too (KEDA's programs present their serving certificate to each other). @default - only when no names are given */
  readonly client?: boolean;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

export class Pki {
  constructor(private readonly dir: string) {}

  ca(name: string): CertificateAuthority {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    ecKey(key);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-out',
      cert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { cert, key };
  }

  leaf(name: string, ca: CertificateAuthority, options: LeafOptions): KeyPair {
    const key = join(this.dir, `${name}.key`);
    const cert = join(this.dir, `${name}.crt`);
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    ecKey(key);
    const subject = [...(options.organizations ?? []).map((o) => `/O=${o}`), `/CN=${options.commonName}`].join('');
    openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
    const names = [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
    const serving = names.length > 0;
    const usages = [...(serving ? ['serverAuth'] : []), ...(!serving || options.client ? ['clientAuth'] : [])];
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${usages.join(',')}`,
        ...(serving ? [`subjectAltName=${names.join(',')}`] : []),
      ].join('\n') + '\n',
    );
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
    return { cert, key };
  }

  /** The service-account token signing key and its public half. */
  serviceAccountKeys(): { privateKey: string; publicKey: string } {
    const privateKey = join(this.dir, 'sa.key');
    const publicKey = join(this.dir, 'sa.pub');
    ecKey(privateKey);
    openssl(['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
    return { privateKey, publicKey };
  }
}

export function pem(path: string): string {
  return readFileSync(path, 'utf8');
}

export function base64Pem(path: string): string {
  return readFileSync(path).toString('base64');
}
