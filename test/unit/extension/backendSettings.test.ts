// The bundled server's upstream and remote Aligner settings: validation, and the serve flags they
// become, with the keys only in the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backendLaunch,
  readBackendSettings,
  REMOTE_ALIGNER_KEY_ENV,
  UPSTREAM_KEY_ENV,
} from '../../../extension/backendSettings.js';

const from = (values: Record<string, unknown>) => readBackendSettings((key) => values[key]);

test('nothing set: no flags, no environment', () => {
  const { settings, problems } = from({});
  assert.deepEqual(problems, []);
  assert.deepEqual(backendLaunch(settings, { upstream: 'k' }), { args: [], env: {} });
});

test('upstream and remote Aligner become serve flags; keys travel only as environment variables', () => {
  const { settings, problems } = from({
    'upstream.url': ' http://127.0.0.1:11434/v1 ',
    'upstream.model': 'llama3.2',
    'remoteAligner.url': 'https://gpu.example/v1',
    'remoteAligner.model': 'aligner-7b-v1.0',
    'remoteAligner.template': 'v1.0',
  });
  assert.deepEqual(problems, []);
  const launch = backendLaunch(settings, { upstream: 'sk-up', remoteAligner: 'sk-remote' });
  assert.deepEqual(launch.args, [
    '--upstream',
    'http://127.0.0.1:11434/v1',
    '--upstream-model',
    'llama3.2',
    '--upstream-key-env',
    UPSTREAM_KEY_ENV,
    '--remote-aligner',
    'https://gpu.example/v1',
    '--remote-aligner-model',
    'aligner-7b-v1.0',
    '--remote-aligner-template',
    'v1.0',
    '--remote-aligner-key-env',
    REMOTE_ALIGNER_KEY_ENV,
  ]);
  assert.deepEqual(launch.env, { [UPSTREAM_KEY_ENV]: 'sk-up', [REMOTE_ALIGNER_KEY_ENV]: 'sk-remote' });
  assert.ok(!launch.args.some((a) => a.includes('sk-')), 'keys never in the arguments');
});

test('bad values are ignored with a message', () => {
  const { settings, problems } = from({
    'upstream.url': 'ftp://x',
    'remoteAligner.url': 'http://user:pw@host/v1',
    'remoteAligner.template': 'nope',
  });
  assert.equal(settings.upstreamUrl, '');
  assert.equal(settings.remoteAlignerUrl, '');
  assert.equal(problems.length, 3);
  const noModel = from({ 'upstream.url': 'http://h/v1' });
  assert.equal(noModel.settings.upstreamUrl, '');
  assert.match(noModel.problems[0]!, /needs aligner.upstream.model/);
});
