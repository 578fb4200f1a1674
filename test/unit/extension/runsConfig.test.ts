// Train and eval configs from the wizards' choices: the paper's defaults, presets' own lr/batch,
// number parsing, and the protocol's schema guarding what is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PAPER,
  autoSaveEvery,
  defaultHyperparameters,
  defaultRunName,
  describeTrain,
  parseNumber,
  trainParams,
  RULES,
  type TrainChoices,
} from '../../../extension/runs/trainConfig.js';
import { checkEndpoint, checkKeyEnv, evalParams } from '../../../extension/runs/evalConfig.js';

test('defaults: the paper for fine-tuning, the preset lr and batch from scratch', () => {
  assert.deepEqual(defaultHyperparameters({ kind: 'base', path: '/m/qwen' }), {
    lr: 2e-5,
    epochs: 3,
    warmupIdentity: 0.2,
    batchSize: 4,
  });
  assert.deepEqual(defaultHyperparameters({ kind: 'preset', preset: 'tiny' }), {
    lr: 1e-3,
    epochs: 3,
    warmupIdentity: 0.2,
    batchSize: 8,
  });
  assert.equal(PAPER.warmupIdentity, 0.2);
});

test('a train request: max steps replaces epochs and sets checkpoints about five times a run', () => {
  const c: TrainChoices = {
    name: 'tiny-test',
    data: ['/w/qac.jsonl'],
    val: '/w/val.jsonl',
    model: { kind: 'preset', preset: 'tiny' },
    hyper: { ...defaultHyperparameters({ kind: 'preset', preset: 'tiny' }), maxSteps: 30, batchSize: 4 },
  };
  assert.deepEqual(trainParams(c), {
    kind: 'train',
    name: 'tiny-test',
    config: {
      data: ['/w/qac.jsonl'],
      val: '/w/val.jsonl',
      preset: 'tiny',
      lr: 1e-3,
      maxSteps: 30,
      saveEvery: 6,
      warmupIdentity: 0.2,
      batchSize: 4,
    },
  });
  const lines = describeTrain(c);
  assert.ok(lines.includes('Length: 30 steps (checkpoint and validation every 6)'));
  assert.ok(lines.includes('Batch size: 4'));
  assert.ok(lines.includes('Learning rate: 0.001 (default)'));
  const ft = trainParams({
    ...c,
    val: undefined,
    model: { kind: 'base', path: '/m/qwen' },
    hyper: defaultHyperparameters({ kind: 'base', path: '/m' }),
  });
  assert.deepEqual(ft.config, {
    data: ['/w/qac.jsonl'],
    base: '/m/qwen',
    lr: 2e-5,
    epochs: 3,
    warmupIdentity: 0.2,
    batchSize: 4,
  });
  assert.equal(autoSaveEvery(undefined), undefined);
  assert.equal(autoSaveEvery(3), 1);
  assert.equal(autoSaveEvery(100_000), 500);
  assert.throws(
    () => trainParams({ ...c, hyper: { ...c.hyper, batchSize: 0 } }),
    'the schema refuses what the server would',
  );
});

test('numbers as typed in an input box', () => {
  assert.deepEqual(parseNumber('2e-5', RULES.lr), { ok: true, value: 2e-5 });
  assert.deepEqual(parseNumber(' 0.2 ', RULES.warmupIdentity), { ok: true, value: 0.2 });
  assert.equal(parseNumber('0', RULES.lr).ok, false);
  assert.equal(parseNumber('1.5', RULES.warmupIdentity).ok, false);
  assert.equal(parseNumber('3.5', RULES.maxSteps).ok, false);
  assert.equal(parseNumber('abc', RULES.batchSize).ok, false);
  assert.equal(parseNumber('-1', RULES.batchSize).ok, false);
  assert.equal(defaultRunName({ kind: 'preset', preset: 'tiny' }, new Date(2026, 10, 27, 9, 5)), 'tiny-20261127-0905');
  assert.equal(
    defaultRunName({ kind: 'base', path: '/models/qwen2-0.5b/' }, new Date(2026, 0, 2, 3, 4)),
    'qwen2-0.5b-20260102-0304',
  );
});

test('an eval request; the LLM judge needs an endpoint, its key stays a variable name', () => {
  assert.deepEqual(
    evalParams({ model: 'export-1', data: ['/d/a.jsonl'], judges: ['reference', 'harmlessness'], limit: 50 }),
    {
      kind: 'eval',
      config: { model: 'export-1', data: ['/d/a.jsonl'], judges: ['reference', 'harmlessness'], limit: 50 },
    },
  );
  assert.deepEqual(
    evalParams({
      name: 'e',
      model: '/m',
      data: ['/d'],
      judges: ['llm'],
      llm: { endpoint: 'https://api.example/v1', model: 'gpt-4o', keyEnv: 'OPENAI_API_KEY' },
    }).config,
    {
      model: '/m',
      data: ['/d'],
      judges: ['llm'],
      judgeEndpoint: 'https://api.example/v1',
      judgeModel: 'gpt-4o',
      judgeKeyEnv: 'OPENAI_API_KEY',
    },
  );
  assert.throws(() => evalParams({ model: '/m', data: ['/d'], judges: ['llm'] }), /endpoint/);
  assert.equal(checkEndpoint('https://api.openai.com/v1'), undefined);
  assert.ok(checkEndpoint('ftp://x'));
  assert.ok(checkEndpoint('not a url'));
  assert.equal(checkKeyEnv(''), undefined);
  assert.equal(checkKeyEnv('OPENAI_API_KEY'), undefined);
  assert.ok(checkKeyEnv('sk-123'), 'a key pasted by mistake is refused');
});
