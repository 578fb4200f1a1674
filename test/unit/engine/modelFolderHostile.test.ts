// A hostile model folder (downloaded, or named by a client): FIFOs and devices are refused before
// anything reads them, files have size caps, links must stay inside the folder, and errors never
// quote what a file contains.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFolderError, readModelFolder } from '../../../server/engine/modelFolder.js';
import { testModel } from '../../helpers/testModels.js';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function copyOfModel(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-hostile-'));
  made.push(dir);
  cpSync(await testModel('llama'), dir, { recursive: true });
  return dir;
}

const refused = (dir: string, pattern: RegExp) =>
  assert.throws(
    () => readModelFolder(dir),
    (e: Error) => e instanceof ModelFolderError && pattern.test(e.message),
  );

test('a FIFO is refused without blocking (config.json, and an external-data file in onnx/)', async () => {
  const dir = await copyOfModel();
  rmSync(join(dir, 'config.json'));
  execFileSync('mkfifo', [join(dir, 'config.json')]);
  refused(dir, /config\.json is not a regular file/);
  const dir2 = await copyOfModel();
  execFileSync('mkfifo', [join(dir2, 'onnx', 'model.onnx_data')]);
  refused(dir2, /model\.onnx_data is not a regular file/);
});

test('a link to /dev/zero, or anywhere outside the folder, is refused', async () => {
  const dir = await copyOfModel();
  rmSync(join(dir, 'tokenizer.json'));
  symlinkSync('/dev/zero', join(dir, 'tokenizer.json'));
  refused(dir, /tokenizer\.json is a link that resolves outside the model folder/);
  const dir2 = await copyOfModel();
  const outside = join(mkdtempSync(join(tmpdir(), 'aligner-outside-')), 'model.onnx');
  made.push(outside);
  renameSync(join(dir2, 'onnx', 'model.onnx'), outside);
  symlinkSync(outside, join(dir2, 'onnx', 'model.onnx'));
  refused(dir2, /model\.onnx is a link that resolves outside the model folder/);
});

test('a link that stays inside the folder is followed, and the folder itself may be a link', async () => {
  const dir = await copyOfModel();
  mkdirSync(join(dir, 'shared'));
  renameSync(join(dir, 'tokenizer.json'), join(dir, 'shared', 'tokenizer.json'));
  symlinkSync(join('shared', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const link = join(mkdtempSync(join(tmpdir(), 'aligner-link-')), 'my-model');
  symlinkSync(dir, link);
  const spec = readModelFolder(link);
  assert.equal(spec.dir, link, 'the model keeps the name it was given');
  assert.ok(spec.vocabSize > 0);
});

test('files over their size cap are refused before they are read', async () => {
  const dir = await copyOfModel();
  truncateSync(join(dir, 'tokenizer.json'), 200 * 1024 * 1024); // sparse: costs no disk
  refused(dir, /tokenizer\.json is 200\.0 MiB; more than the 128 MiB/);
  const dir2 = await copyOfModel();
  truncateSync(join(dir2, 'config.json'), 5 * 1024 * 1024);
  refused(dir2, /config\.json is 5\.0 MiB; more than the 4 MiB/);
});

test('errors name the file, never its contents', async () => {
  const dir = await copyOfModel();
  writeFileSync(join(dir, 'config.json'), 'root:SECRET-HASH:19000:0:99999:7:::\n');
  assert.throws(
    () => readModelFolder(dir),
    (e: Error) => /config\.json is not valid JSON/.test(e.message) && !e.message.includes('SECRET'),
  );
  const config = JSON.parse(readFileSync(join(await testModel('llama'), 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'SECRET-'.repeat(100) }));
  assert.throws(
    () => readModelFolder(dir),
    (e: Error) => /is not supported/.test(e.message) && e.message.split('SECRET').length - 1 <= 6,
  );
});
