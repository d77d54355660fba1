import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadHandler } from '../../../runtime/queue/handler';
import { silentLogger } from '../../../runtime/log';

let dir: string;
const context = { raw: '{"wait":0}', token: 't', delivery: 1, log: silentLogger };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redis-keda-handler-'));
  writeFileSync(join(dir, 'exports-function.js'), 'module.exports = async (event) => `function:${event.id}`;');
  writeFileSync(join(dir, 'default-export.js'), 'exports.default = async (event) => `default:${event.id}`;');
  writeFileSync(join(dir, 'named-handle.js'), 'exports.handle = async (event) => `handle:${event.id}`;');
  writeFileSync(join(dir, 'no-function.js'), 'exports.other = 1;');
  writeFileSync(join(dir, 'broken.js'), 'throw new Error("broken at load");');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([
  ['exports-function.js', 'function:e'],
  ['default-export.js', 'default:e'],
  ['named-handle.js', 'handle:e'],
])('loads %s relative to the working directory', async (file, expected) => {
  const handler = await loadHandler(file, dir);
  expect(await handler({ id: 'e', wait: 0 }, context)).toBe(expected);
});

test('says what to export when the module has no function', async () => {
  await expect(loadHandler('no-function.js', dir)).rejects.toThrow(/exports no function: export one as default, as module.exports, or as 'handle'/);
});

test('reports a module that fails to load, with its path', async () => {
  await expect(loadHandler('broken.js', dir)).rejects.toThrow(`cannot load handler '${join(dir, 'broken.js')}': broken at load`);
  await expect(loadHandler('missing.js', dir)).rejects.toThrow(/cannot load handler .*missing\.js/);
});
