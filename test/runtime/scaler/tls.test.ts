/**
 * The scaler's TLS, as a pod runs it (SCALER_TLS_DIR holding a kubernetes.io/tls Secret's files): certificates made
 * by openssl for this run; GetMetricSpec needs no Redis, so none runs.
 */
import * as grpc from '@grpc/grpc-js';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pki } from '../../../e2e/harness/pki';
import { Env } from '../../../runtime/contract';
import { RunningProcess, startCli } from '../../support/cli';
import { freePort } from '../../support/redis-server';
import { connectScaler, failureOf } from '../../support/scaler-client';

let dir: string;
let pki: Pki;
const ref = { scalerMetadata: { workload: 'api' } };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redis-keda-scaler-tls-'));
  pki = new Pki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Secret's folder: the server's pair, and the CA of its clients when given. */
function secretDir(name: string, withClientCa: boolean): { path: string; ca: Buffer; clientCa: ReturnType<Pki['ca']> } {
  const ca = pki.ca(`${name}-ca`);
  const serving = pki.leaf(`${name}-server`, ca, { commonName: 'scaler', ipAddresses: ['127.0.0.1'] });
  const path = join(dir, name);
  mkdirSync(path);
  copyFileSync(serving.cert, join(path, 'tls.crt'));
  copyFileSync(serving.key, join(path, 'tls.key'));
  if (withClientCa) copyFileSync(ca.cert, join(path, 'ca.crt'));
  return { path, ca: readFileSync(ca.cert), clientCa: ca };
}

async function start(tlsDir: string): Promise<{ process: RunningProcess; address: string }> {
  const process = startCli(['scaler'], {
    env: { [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.SCALER_TLS_DIR]: tlsDir, [Env.REDIS_URL]: `redis://127.0.0.1:${await freePort()}`, [Env.LOG_FORMAT]: 'json' },
  });
  const line = (await process.waitForLog((l) => l.msg === 'scaler listening')) as unknown as { port: number; tls: boolean; clientCertificates: boolean };
  return { process, address: `127.0.0.1:${line.port}` };
}

async function stop(process: RunningProcess): Promise<void> {
  process.child.kill('SIGTERM');
  expect((await process.done).code).toBe(0);
}

test('with ca.crt: a client presenting a certificate that CA signed is served; no certificate, another CA or plaintext is refused', async () => {
  const secret = secretDir('mutual', true);
  const { process, address } = await start(secret.path);
  try {
    expect(process.logs.find((l) => l.msg === 'scaler listening')).toMatchObject({ tls: true, clientCertificates: true });
    const client = pki.leaf('keda-client', secret.clientCa, { commonName: 'keda-operator' });
    const stranger = pki.leaf('stranger', pki.ca('other-ca'), { commonName: 'keda-operator' });
    const good = connectScaler(address, grpc.credentials.createSsl(secret.ca, readFileSync(client.key), readFileSync(client.cert)));
    const foreign = connectScaler(address, grpc.credentials.createSsl(secret.ca, readFileSync(stranger.key), readFileSync(stranger.cert)));
    const anonymous = connectScaler(address, grpc.credentials.createSsl(secret.ca));
    const plaintext = connectScaler(address);
    try {
      expect((await good.getMetricSpec(ref)).metricSpecs).toEqual([{ metricName: 'forecast-api', targetSize: 1, targetSizeFloat: 1 }]);
      for (const refused of [foreign, anonymous, plaintext]) expect((await failureOf(refused.getMetricSpec(ref))).code).toBe('UNAVAILABLE');
    } finally {
      for (const c of [good, foreign, anonymous, plaintext]) c.close();
    }
  } finally {
    await stop(process);
  }
  // The log names the folder, never a key.
  expect((await process.done).stderr).not.toContain('PRIVATE KEY');
});

test('without ca.crt: TLS for any client that trusts the server; plaintext refused', async () => {
  const secret = secretDir('server-only', false);
  const { process, address } = await start(secret.path);
  const tls = connectScaler(address, grpc.credentials.createSsl(secret.ca));
  const plaintext = connectScaler(address);
  try {
    expect(process.logs.find((l) => l.msg === 'scaler listening')).toMatchObject({ tls: true, clientCertificates: false });
    expect((await tls.getMetricSpec(ref)).metricSpecs[0].metricName).toBe('forecast-api');
    expect((await failureOf(plaintext.getMetricSpec(ref))).code).toBe('UNAVAILABLE');
  } finally {
    tls.close();
    plaintext.close();
    await stop(process);
  }
});

test('a TLS folder without the key pair: exit 1 saying which file', async () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const process = startCli(['scaler'], { env: { [Env.SCALER_PORT]: '0', [Env.METRICS_PORT]: '0', [Env.SCALER_TLS_DIR]: empty, [Env.LOG_FORMAT]: 'json' } });
  const result = await process.done;
  expect(result.code).toBe(1);
  expect(result.logs.map((l) => l.msg)).toContain(`cannot read ${join(empty, 'tls.crt')} for the scaler's TLS: ENOENT`);
});
