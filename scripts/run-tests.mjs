#!/usr/bin/env node
// The project's one test command (`npm test`): every TypeScript test file under test/unit and
// test/integration through node's own test runner, then the Python trainer's tests when present.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The CLI tests run the built bin/aligner.js: build first so they never test stale output.
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const only = process.argv.slice(2);
const runPython = only.length === 0 || only.some((f) => f.startsWith('server/trainer'));

// The Python trainer's environment comes first: the jobs tests train through it too.
if (runPython) {
  const setup = spawnSync('bash', ['scripts/setup-python.sh'], { stdio: 'inherit' });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
const files = only.length
  ? only.filter((f) => f.endsWith('.ts'))
  : [...findTests('test/unit'), ...findTests('test/integration')];
let failed = false;
if (files.length > 0) {
  const node = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
  });
  failed = node.status !== 0;
}

if (runPython) {
  const env = { ...process.env, PYTHONPATH: 'server/trainer' };
  const py = spawnSync('.venv/bin/python', ['-m', 'pytest', '-q', 'server/trainer/tests'], { stdio: 'inherit', env });
  failed ||= py.status !== 0;
}
process.exit(failed ? 1 : 0);
