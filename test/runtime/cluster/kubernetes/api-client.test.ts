/** Reading credentials: kubeconfig files (YAML and JSON) and a pod's service account folder. The calls themselves run on the live API in e2e/. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inClusterAccess, kubeconfigAccess } from '../../../../runtime/cluster/kubernetes/api-client';
import { podOrdinal } from '../../../../runtime/cluster/kubernetes/stateful-set-nodes';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-keda-kubeconfig-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('kubeconfigAccess', () => {
  test('YAML: the current context, inline CA and client certificate, its namespace', () => {
    const file = path.join(dir, 'config');
    fs.writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: b',
        'clusters:',
        '- name: one',
        '  cluster: { server: "https://10.0.0.1:6443", certificate-authority-data: ' + b64('CA-PEM') + ' }',
        'users:',
        '- name: me',
        '  user: { client-certificate-data: ' + b64('CERT') + ', client-key-data: ' + b64('KEY') + ' }',
        'contexts:',
        '- name: a',
        '  context: { cluster: none, user: none }',
        '- name: b',
        '  context: { cluster: one, user: me, namespace: shop }',
      ].join('\n'),
    );
    const access = kubeconfigAccess(file);
    expect({ ...access, token: access.token?.() }).toEqual({ server: 'https://10.0.0.1:6443', ca: 'CA-PEM', cert: 'CERT', key: 'KEY', token: undefined, namespace: 'shop' });
  });

  test('JSON: files relative to the kubeconfig, a token file read at every request, a named context', () => {
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'CA-FILE');
    fs.writeFileSync(path.join(dir, 'token'), 'first\n');
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        'current-context': 'other',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1234', 'certificate-authority': 'ca.crt' } }],
        users: [{ name: 'u', user: { tokenFile: 'token' } }],
        contexts: [{ name: 'ops', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const access = kubeconfigAccess(file, 'ops');
    expect([access.server, access.ca, access.namespace, access.token?.()]).toEqual(['https://127.0.0.1:1234', 'CA-FILE', undefined, 'first']);
    fs.writeFileSync(path.join(dir, 'token'), 'rotated');
    expect(access.token?.()).toBe('rotated');
  });

  test.each([
    ['an exec plugin', { users: [{ name: 'u', user: { exec: { command: 'aws' } } }] }, "user 'u' uses an exec or auth-provider plugin, which redis-keda does not run"],
    ['a missing context', { 'current-context': 'nope' }, "has no context named 'nope'"],
    ['no current context', { 'current-context': undefined }, 'names no current-context'],
  ])('refuses %s', (_what, change, message) => {
    const file = path.join(dir, 'config.json');
    const base = {
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    };
    fs.writeFileSync(file, JSON.stringify({ ...base, ...change }));
    expect(() => kubeconfigAccess(file)).toThrow(`kubeconfig ${file}${message.startsWith('user') ? ': ' : ' '}${message}`);
  });
});

describe('inClusterAccess', () => {
  test('the service account folder and KUBERNETES_SERVICE_HOST/PORT (IPv6 in brackets); the token read again at every request', () => {
    fs.writeFileSync(path.join(dir, 'token'), 'sa-token\n');
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'SA-CA');
    fs.writeFileSync(path.join(dir, 'namespace'), 'shop');
    const access = inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect([access.server, access.ca, access.namespace, access.token?.()]).toEqual(['https://[fd00::1]:443', 'SA-CA', 'shop', 'sa-token']);
    fs.writeFileSync(path.join(dir, 'token'), 'next');
    expect(access.token?.()).toBe('next');
  });

  test('outside a pod: says to give --kubeconfig', () => {
    expect(() => inClusterAccess({}, dir)).toThrow('not in a pod: KUBERNETES_SERVICE_HOST is not set (give --kubeconfig)');
  });
});

test('podOrdinal: the ordinal of <statefulset>-<n>, nothing for other names', () => {
  expect([podOrdinal('rc', 'rc-0'), podOrdinal('rc', 'rc-12'), podOrdinal('rc', 'rc-ops-0'), podOrdinal('r.c', 'rxc-1'), podOrdinal('rc', 'other-1')]).toEqual([
    0,
    12,
    undefined,
    undefined,
    undefined,
  ]);
});
