// The webview -> host messages are validated on the host: every legal message passes, anything else
// (unknown type, extra fields, a job id that could be a path, a silly limit) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_EXAMPLE_ROWS, WebviewMessageSchema } from '../../../webview/messages.js';

const ok = (m: unknown) => WebviewMessageSchema.safeParse(m).success;

test('every message the dashboard sends validates', () => {
  const id = 'train-20261127-090947-43c231';
  for (const m of [
    { type: 'ready' },
    { type: 'refresh' },
    { type: 'getDetail', jobId: id },
    { type: 'getRows', jobId: id, limit: 10 },
    { type: 'cancel', jobId: id },
    { type: 'resume', jobId: id },
    { type: 'export', jobId: id },
    { type: 'useModel', jobId: id },
    { type: 'evaluate', jobId: id },
  ])
    assert.ok(ok(m), JSON.stringify(m));
});

test('malformed or hostile messages are refused', () => {
  for (const m of [
    null,
    'ready',
    {},
    { type: 'deleteEverything' },
    { type: 'ready', extra: 1 },
    { type: 'getDetail' },
    { type: 'getDetail', jobId: '../../etc/passwd' },
    { type: 'getDetail', jobId: 'a/b' },
    { type: 'getDetail', jobId: '' },
    { type: 'getRows', jobId: 'eval-1', limit: 0 },
    { type: 'getRows', jobId: 'eval-1', limit: MAX_EXAMPLE_ROWS + 1 },
    { type: 'getRows', jobId: 'eval-1', limit: 2.5 },
    { type: 'getRows', jobId: 'eval-1', limit: 5, path: '/etc/passwd' },
    { type: 'cancel', jobId: 42 },
  ])
    assert.ok(!ok(m), JSON.stringify(m));
});
