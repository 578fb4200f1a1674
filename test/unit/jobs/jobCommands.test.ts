// The command line an export job runs: `aligner export` (the converter) with JSON-line results, and
// without a dtype in the job's config the command's own default, the shipped format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportArgs } from '../../../server/jobs/jobCommands.js';

test('an export job runs `aligner export` on its run, into its own folder, with JSON-line results', () => {
  assert.deepEqual(exportArgs({ run: 'train-1' }, '/runs/train-1/run', { dir: '/runs/export-1' }), [
    'export',
    '--run',
    '/runs/train-1/run',
    '--out',
    '/runs/export-1/model',
    '--progress-json',
  ]);
  assert.deepEqual(
    exportArgs({ run: 'train-1', dtype: 'fp16' }, '/runs/train-1/run', { dir: '/runs/export-1' }).slice(-2),
    ['--dtype', 'fp16'],
  );
});
