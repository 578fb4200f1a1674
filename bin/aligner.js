#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// Commands that load a model first relaunch themselves with huge pages (server/engine/hugePages.ts);
// the relaunched child is told our pid and stops if we die, even by kill -9 (server/cli/parentWatch.ts).
const MODEL_COMMANDS = new Set(['correct', 'serve', 'eval']);

async function main() {
  const { PARENT_PID_ENV, watchParentFromEnv } = await import('../dist/server/cli/parentWatch.js');
  watchParentFromEnv();
  if (MODEL_COMMANDS.has(process.argv[2])) {
    const { relaunchWithHugePages } = await import('../dist/server/engine/hugePages.js');
    process.env[PARENT_PID_ENV] = String(process.pid);
    const code = await relaunchWithHugePages();
    if (code !== null) process.exit(code);
    delete process.env[PARENT_PID_ENV]; // not relaunched: no child to tell
  }
  await import('../dist/server/cli/main.js');
}

main().catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('aligner: dist/ is missing; run `npm run build` first.');
    process.exit(1);
  }
  throw err;
});
