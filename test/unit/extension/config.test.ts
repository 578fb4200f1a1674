import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_SETTINGS,
  KEYS,
  correctionOptions,
  normaliseServerUrl,
  validateSettings,
} from '../../../extension/config.js';
import { BACKEND_KEYS } from '../../../extension/backendSettings.js';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

test('no settings: the defaults, no problems', () => {
  const r = validateSettings(from({}));
  assert.deepEqual(r.settings, DEFAULT_SETTINGS);
  assert.deepEqual(r.problems, []);
});

test("each default is package.json's: the manifest and DEFAULT_SETTINGS never disagree", () => {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
  };
  const properties = manifest.contributes.configuration.properties;
  const { generation, ...plain } = DEFAULT_SETTINGS;
  const ours: Record<keyof typeof KEYS, unknown> = { ...plain, ...generation };
  for (const [field, key] of Object.entries(KEYS))
    assert.deepEqual(properties[`aligner.${key}`]?.default, ours[field as keyof typeof KEYS], `aligner.${key}`);
  // The backend settings (user settings only) all default to empty.
  for (const key of Object.values(BACKEND_KEYS)) assert.equal(properties[`aligner.${key}`]?.default, '', key);
  const known = new Set([...Object.values(KEYS), ...Object.values(BACKEND_KEYS)].map((k) => `aligner.${k}`));
  assert.deepEqual(
    Object.keys(properties).filter((k) => !known.has(k)),
    [],
    'every setting in package.json is read by the extension',
  );
});

test('valid values are taken', () => {
  const r = validateSettings(
    from({
      'diff.granularity': 'line',
      'generation.temperature': 0.7,
      'generation.topK': 40,
      template: 'v1.0',
      executionProvider: 'cuda',
      'server.port': 8765,
    }),
  );
  assert.deepEqual(r.problems, []);
  assert.equal(r.settings.diffGranularity, 'line');
  assert.equal(r.settings.generation.temperature, 0.7);
  assert.equal(r.settings.generation.topK, 40);
  assert.equal(r.settings.template, 'v1.0');
  assert.equal(r.settings.executionProvider, 'cuda');
  assert.equal(r.settings.serverPort, 8765);
});

test('bad values fall back to defaults with a message naming the setting, the value and why', () => {
  const r = validateSettings(
    from({
      'generation.temperature': 12,
      'generation.topP': 0,
      'generation.topK': 1.5,
      'generation.maxNewTokens': 'lots',
      'generation.repetitionPenalty': 9,
      'diff.granularity': 'char',
      template: 'chatml',
      executionProvider: 'tpu',
      'server.port': 70000,
    }),
  );
  assert.deepEqual(r.settings, DEFAULT_SETTINGS);
  assert.equal(r.problems.length, 9);
  const temp = r.problems.find((p) => p.includes('aligner.generation.temperature'));
  assert.match(temp!, /= 12 is invalid \(.*10.*\); using 0\./);
  assert.match(
    r.problems.find((p) => p.includes('diff.granularity'))!,
    /expected one of "word", "line"/,
  );
  assert.match(
    r.problems.find((p) => p.includes('server.port'))!,
    /0 to 65535/,
  );
});

test('external mode without a URL falls back to the bundled server, with a message', () => {
  const r = validateSettings(from({ 'server.mode': 'external' }));
  assert.equal(r.settings.serverMode, 'bundled');
  assert.match(r.problems[0]!, /"aligner.server.url" is empty/);
});

test('server URLs: http becomes ws, the path defaults to /rpc, credentials and odd schemes are refused', () => {
  assert.deepEqual(normaliseServerUrl('http://127.0.0.1:8765'), { ok: true, value: 'ws://127.0.0.1:8765/rpc' });
  assert.deepEqual(normaliseServerUrl('wss://example.test/custom'), { ok: true, value: 'wss://example.test/custom' });
  assert.equal(normaliseServerUrl('ftp://x').ok, false);
  assert.equal(normaliseServerUrl('not a url').ok, false);
  assert.equal(normaliseServerUrl('ws://user:secret@host:1/rpc').ok, false);
  const r = validateSettings(from({ 'server.mode': 'external', 'server.url': 'ftp://x' }));
  assert.equal(r.problems.length, 2);
  assert.equal(r.settings.serverMode, 'bundled');
});

test('requests carry only the template and generation settings the user set, never our defaults', () => {
  // VS Code returns package.json defaults for settings nobody set; `isSet` tells them apart.
  const defaults = { template: 'correction', 'generation.maxNewTokens': 1024, 'generation.temperature': 0 };
  const none = validateSettings(from(defaults), () => false);
  assert.deepEqual(correctionOptions(none.settings), {}, "the model's aligner.json decides");
  const some = validateSettings(
    from({ ...defaults, 'generation.temperature': 0.3 }),
    (k) => k === 'generation.temperature',
  );
  assert.deepEqual(correctionOptions(some.settings), { generation: { temperature: 0.3 } });
  const template = validateSettings(from({ ...defaults, template: 'v1.0' }), (k) => k === 'template');
  assert.deepEqual(correctionOptions(template.settings), { template: 'v1.0' });
  // A value set but invalid falls back to the default and is not sent either.
  const bad = validateSettings(from({ 'generation.topP': 7 }), () => true);
  assert.deepEqual(correctionOptions(bad.settings), {});
});
