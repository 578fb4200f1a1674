import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFolderError, readModelFolder } from '../../../server/engine/modelFolder.js';
import { testModel } from '../../helpers/testModels.js';

async function copyOfModel(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-folder-'));
  cpSync(await testModel('llama'), dir, { recursive: true });
  return dir;
}

test('reads the layout: cache shape, EOS ids, template from aligner.json', async () => {
  const spec = readModelFolder(await testModel('gemma'));
  assert.equal(spec.modelType, 'gemma');
  assert.ok(spec.kvHeads >= 1 && spec.headDim > 0 && spec.layers > 0);
  assert.ok(spec.eosTokenIds.length > 0);
  assert.equal(spec.template, 'correction');
});

test('a missing file or a bad field is named in the error', async () => {
  const dir = await copyOfModel();
  try {
    rmSync(join(dir, 'tokenizer.json'));
    assert.throws(
      () => readModelFolder(dir),
      (e: Error) => e instanceof ModelFolderError && /tokenizer\.json is missing/.test(e.message),
    );
    cpSync(join(await testModel('llama'), 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'mamba' }));
    assert.throws(() => readModelFolder(dir), /model_type "mamba" is not supported/);
    writeFileSync(join(dir, 'aligner.json'), '{"template": "nope"}');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    assert.throws(() => readModelFolder(dir), /aligner\.json: template/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
