import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HUGE_PAGES_TUNABLE, hugePagesActive, hugePagesEnv } from '../../../server/platform/processEnv.js';

test('huge pages: the tunable is added on Linux, merged with tunables already set', () => {
  assert.deepEqual(hugePagesEnv({}, 'linux'), { GLIBC_TUNABLES: HUGE_PAGES_TUNABLE });
  assert.deepEqual(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux'), {
    GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`,
  });
});

test('huge pages: nothing on other platforms, when switched off, or when the user chose a value', () => {
  assert.deepEqual(hugePagesEnv({}, 'darwin'), {});
  assert.deepEqual(hugePagesEnv({}, 'win32'), {});
  assert.deepEqual(hugePagesEnv({ ALIGNER_HUGE_PAGES: '0' }, 'linux'), {});
  assert.deepEqual(hugePagesEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux'), {});
  assert.equal(hugePagesActive({ GLIBC_TUNABLES: `a=1:${HUGE_PAGES_TUNABLE}` }), true);
  assert.equal(hugePagesActive({}), false);
});

// A script that relaunches itself, then reports the tunables it runs with and exits with 7.
function runRelauncher(env: NodeJS.ProcessEnv) {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-hugepages-'));
  const helper = fileURLToPath(new URL('../../../server/engine/hugePages.ts', import.meta.url));
  const script = join(dir, 'relauncher.mts');
  writeFileSync(
    script,
    `import { relaunchWithHugePages } from ${JSON.stringify(helper)};\n` +
      `const code = await relaunchWithHugePages();\n` +
      `if (code !== null) process.exit(code);\n` +
      `console.log('tunables=' + (process.env.GLIBC_TUNABLES ?? ''));\n` +
      `process.exit(7);\n`,
  );
  const base = { ...process.env, GLIBC_TUNABLES: undefined }; // start from no tunables, whatever runs the tests
  return spawnSync(process.execPath, ['--import', 'tsx', script], { env: { ...base, ...env }, encoding: 'utf8' });
}

test(
  'huge pages: a process relaunches itself once with the tunable and passes its exit code on',
  { skip: process.platform !== 'linux' },
  () => {
    const run = runRelauncher({});
    assert.equal(run.status, 7, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), [`tunables=${HUGE_PAGES_TUNABLE}`]);
  },
);

test('huge pages: switched off, the process runs on without relaunching', () => {
  const run = runRelauncher({ ALIGNER_HUGE_PAGES: '0' });
  assert.equal(run.status, 7, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), ['tunables=']);
});
