// Activation, end to end, in each VS Code the e2e tier covers (scripts/e2e-run.sh runs this file in the
// newest VS Code and in the oldest one that engines.vscode admits): the packaged .vsix installs, the
// workbench is the intended VS Code (its About dialog), the extension activates on its first command
// without an error in the extension host, and starts its bundled server with the model embedded in the
// .vsix (models/default) on that VS Code's own Node.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  QUIET_WORKBENCH_SETTINGS,
  findPids,
  loadTools,
  removeRunFolder,
  startCodeServer,
  vscodeTarget,
} from './codeServer.js';
import { Workbench, runInWorkbench } from './workbench.js';

const root = join(import.meta.dirname, '../..');
const target = vscodeTarget();
const runRoot = join(root, '.e2e/runs', `activation-${target}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const shots = join(root, 'test-results', target);
const EXTENSION_ID = 'aligner-vscode.aligner-vscode';
const t0 = Date.now();
const step = (m: string) => console.log(`[activation-e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

function findVsix(): string {
  if (process.env.ALIGNER_VSIX) return process.env.ALIGNER_VSIX;
  const f = readdirSync(join(root, 'dist')).filter((n) => n.endsWith('.vsix'));
  if (!f.length) throw new Error('no .vsix in dist/: run `npm run package`');
  return join(root, 'dist', f[0]!);
}

/** Every file called `name` under `dir`. */
function findFiles(dir: string, name: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name === name)
    .map((e) => join(e.parentPath, e.name));
}

after(() => removeRunFolder(runRoot));

test(
  `the extension activates and starts its bundled server with the embedded model (${target} VS Code)`,
  { timeout: 300_000 },
  async () => {
    const tools = loadTools(root);
    const runDir = join(runRoot, 'code-server');
    const workspace = join(runDir, 'ws');
    mkdirSync(workspace, { recursive: true });
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(workspace, 'answer.md'), 'Q: Is the sky blue?\nA: Yes.\n');
    // No aligner.* settings: the bundled server and the model inside the .vsix.
    const cs = await startCodeServer({
      tools,
      runDir,
      vsix: findVsix(),
      workspace,
      settings: QUIET_WORKBENCH_SETTINGS,
    });
    step(`code-server ${cs.codeServerVersion} up at ${cs.url}`);
    const wb = await Workbench.openVsCode(tools, runDir, cs, shots);
    step(`the workbench runs VS Code ${cs.vscodeVersion}, the ${target} (${tools.vscode})`);
    await runInWorkbench(wb, cs, 'activation-failure', async () => {
      await wb.runCommand('Aligner: Start Server');
      await wb.statusItem('Aligner: default (cpu)').first().waitFor({ timeout: 120_000 });
      const servers = findPids(['aligner.js', 'serve', cs.userDataDir]);
      assert.equal(servers.length, 1, `one bundled server process (found ${servers.join(',')})`);
      await wb.screenshot('0-activated');
      step('activated; the bundled server is ready with the embedded model');

      // The extension host activated it on that command and logged no activation error; its own log
      // channel says so too.
      const logs = join(cs.userDataDir, 'logs');
      const hostLog = findFiles(logs, 'remoteexthost.log')
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      assert.match(hostLog, new RegExp(`_doActivateExtension ${EXTENSION_ID}, .*onCommand:aligner\\.startServer`));
      assert.doesNotMatch(hostLog, new RegExp(`Activating extension '?${EXTENSION_ID}'? failed`));
      const ownLogs = findFiles(logs, 'Aligner.log');
      assert.equal(ownLogs.length, 1, 'the extension writes its log channel');
      const ownLog = readFileSync(ownLogs[0]!, 'utf8');
      assert.match(ownLog, /Aligner \d+\.\d+\.\d+ activated/);
      assert.match(ownLog, /model default ready \(llama, cpu\)/);
    });
  },
);
