import * as fs from 'fs';
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { resolveRuntimeImage } from '../../constructs';
import { version } from '../../package.json';
import { DEFAULT_RUNTIME_IMAGE, RUNTIME_IMAGE_ENV, RUNTIME_IMAGE_REPOSITORY, VERSION } from '../../runtime/contract';
import { renderVersionModule, VERSION_MODULE } from '../../scripts/write-version';

describe('runtime image', () => {
  const saved = process.env[RUNTIME_IMAGE_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[RUNTIME_IMAGE_ENV];
    else process.env[RUNTIME_IMAGE_ENV] = saved;
  });

  test('the default is the published repository tagged with the package version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(VERSION).toBe(require('../../package.json').version);
    expect(DEFAULT_RUNTIME_IMAGE).toBe(`${RUNTIME_IMAGE_REPOSITORY}:${VERSION}`);
    delete process.env[RUNTIME_IMAGE_ENV];
    expect(resolveRuntimeImage(new Construct(new Chart(Testing.app(), 'c'), 'x'), 'image')).toBe(DEFAULT_RUNTIME_IMAGE);
  });

  test('prop beats context beats environment', () => {
    process.env[RUNTIME_IMAGE_ENV] = 'env/img:1';
    const chart = new Chart(Testing.app(), 'c');
    expect(resolveRuntimeImage(chart, 'image')).toBe('env/img:1');
    chart.node.setContext('redis-keda:image', 'ctx/img:2');
    expect(resolveRuntimeImage(chart, 'image')).toBe('ctx/img:2');
    expect(resolveRuntimeImage(chart, 'image', 'prop/img@sha256:abc')).toBe('prop/img@sha256:abc');
  });

  test('an override without a tag is rejected, naming where it came from', () => {
    process.env[RUNTIME_IMAGE_ENV] = 'env/img';
    expect(() => resolveRuntimeImage(new Chart(Testing.app(), 'c'), 'image')).toThrow(/'REDIS_KEDA_IMAGE' \("env\/img"\) must name a pinned tag/);
    expect(() => resolveRuntimeImage(new Chart(Testing.app(), 'd'), 'image', 'localhost:5000/img')).toThrow(/'image' \("localhost:5000\/img"\)/);
    const chart = new Chart(Testing.app(), 'e');
    chart.node.setContext('redis-keda:image', 'ctx/img');
    expect(() => resolveRuntimeImage(chart, 'image')).toThrow(/'context redis-keda:image' \("ctx\/img"\) must name a pinned tag/);
  });
});

test('runtime/contract/version.ts is what scripts/write-version.ts generates from package.json', () => {
  expect(fs.readFileSync(VERSION_MODULE, 'utf8')).toBe(renderVersionModule(version));
});
