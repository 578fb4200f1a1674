// The parent watch behind "the server dies with its launcher": it reads and removes the parent pid
// from the environment (so the server's own job children do not inherit it) and fires once the
// parent is no longer ours. The real kill -9 is in test/integration/cli/serveFaults.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PARENT_PID_ENV, watchParent, watchParentFromEnv } from '../../../server/cli/parentWatch.js';

test('the variable is consumed; our real parent keeps the watch quiet', async () => {
  const env: NodeJS.ProcessEnv = { [PARENT_PID_ENV]: String(process.ppid) };
  let gone = 0;
  const stop = watchParentFromEnv(env, () => gone++, 10);
  assert.equal(env[PARENT_PID_ENV], undefined);
  await new Promise((r) => setTimeout(r, 50));
  stop();
  assert.equal(gone, 0);
});

test('a parent that is not ours (it died and we were re-parented) fires once, at once', async () => {
  let gone = 0;
  const stop = watchParent(process.ppid + 100_000, () => gone++, 10);
  await new Promise((r) => setTimeout(r, 50));
  stop();
  assert.equal(gone, 1);
});

test('no variable, or a nonsense one: no watch', () => {
  let gone = 0;
  watchParentFromEnv({}, () => gone++)();
  watchParentFromEnv({ [PARENT_PID_ENV]: 'x' }, () => gone++)();
  watchParentFromEnv({ [PARENT_PID_ENV]: '1' }, () => gone++)();
  assert.equal(gone, 0);
});
