// Starts a real VS Code (code-server, installed by scripts/e2e-setup.sh) with the packaged .vsix
// installed into a fresh, isolated profile. Everything it writes stays inside `runDir`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** The two VS Codes the e2e tier runs in: the newest code-server, and the oldest VS Code that
 *  package.json's `engines.vscode` admits. */
export type VsCodeTarget = 'newest' | 'oldest';

/** The VS Code of this test process: ALIGNER_E2E_VSCODE (scripts/e2e-run.sh sets it for each pass). */
export function vscodeTarget(): VsCodeTarget {
  const v = process.env.ALIGNER_E2E_VSCODE ?? 'newest';
  if (v !== 'newest' && v !== 'oldest') throw new Error(`ALIGNER_E2E_VSCODE must be newest or oldest, not ${v}`);
  return v;
}

export interface E2eTools {
  target: VsCodeTarget;
  codeServer: string;
  /** The bin folder of the Node that code-server runs on (put first on its PATH). */
  nodeBin: string;
  /** MAJOR.MINOR of the VS Code that this code-server must be: startCodeServer checks it. */
  vscode: string;
  chromium: string;
}

/** MAJOR.MINOR of the oldest VS Code that package.json's engines.vscode (`^1.100.0`) admits. */
export function enginesMinimum(root: string): string {
  const range = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { vscode: string } })
    .engines.vscode;
  const m = /^\^(\d+)\.(\d+)\.\d+$/.exec(range);
  if (!m) throw new Error(`engines.vscode "${range}" is not ^MAJOR.MINOR.PATCH`);
  return `${m[1]}.${m[2]}`;
}

/** Paths written by scripts/e2e-setup.sh into .e2e/env.sh, for the VS Code `target`. */
export function loadTools(root: string, target: VsCodeTarget = vscodeTarget()): E2eTools {
  const envFile = join(root, '.e2e/env.sh');
  if (!existsSync(envFile)) throw new Error('the e2e tools are not installed: run scripts/e2e-setup.sh');
  const vars = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .map((l) => /^export (\w+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1], m[2]]),
  );
  const suffix = target === 'oldest' ? '_OLDEST' : '';
  const codeServer = vars[`E2E_CODE_SERVER${suffix}`];
  if (!codeServer) throw new Error(`the ${target} VS Code is not installed: run scripts/e2e-setup.sh`);
  const vscode = vars[`E2E_VSCODE${suffix}`]!;
  // The oldest VS Code is the engines.vscode minimum: read here from package.json as well, so that a
  // stale .e2e/ (installed before engines.vscode changed) fails instead of testing the wrong VS Code.
  if (target === 'oldest' && vscode !== enginesMinimum(root))
    throw new Error(
      `.e2e holds VS Code ${vscode} as the oldest, engines.vscode asks for ${enginesMinimum(root)}: run scripts/e2e-setup.sh`,
    );
  return {
    target,
    codeServer,
    nodeBin: vars[`E2E_CODE_SERVER${suffix}_NODE_BIN`]!,
    vscode,
    chromium: vars.E2E_CHROMIUM!,
  };
}

/** The VS Code version inside a code-server install (its product.json, what the workbench reports). */
export function installedVsCode(codeServerBin: string): { vscode: string; codeServer: string } {
  // node_modules/.bin/code-server -> node_modules/code-server/out/node/entry.js
  const pkg = dirname(dirname(dirname(realpathSync(codeServerBin))));
  const product = JSON.parse(readFileSync(join(pkg, 'lib/vscode/product.json'), 'utf8')) as { version: string };
  const own = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  return { vscode: product.version, codeServer: own.version };
}

/** Throws unless `version` (e.g. 1.100.3) is the MAJOR.MINOR that `tools` intends. */
export function assertIntendedVsCode(tools: E2eTools, version: string, where: string): void {
  if (version.split('.').slice(0, 2).join('.') !== tools.vscode)
    throw new Error(`${where} is VS Code ${version}; the ${tools.target} VS Code of this run is ${tools.vscode}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** HOME, XDG_* and TMPDIR inside the run folder: code-server and Chromium write dot-folders there. */
export function isolatedEnv(runDir: string, tools?: E2eTools): NodeJS.ProcessEnv {
  const home = join(runDir, 'home');
  const tmp = join(runDir, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    TMPDIR: tmp,
    ...(tools ? { PATH: `${tools.nodeBin}:${process.env.PATH}` } : {}),
  };
}

/** User settings that keep VS Code's own prompts, tours and AI features out of a scenario's way. */
export const QUIET_WORKBENCH_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  // 'off', not false: VS Code migrates the old boolean by rewriting settings.json at startup, and a window
  // that reads the file mid-rewrite runs with none of these user settings (nor the scenario's aligner.*).
  'extensions.autoUpdate': 'off',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.openRepositoryInParentFolders': 'never',
  'files.hotExit': 'off',
  // VS Code in a browser auto-saves 1 s after every change by default (desktop VS Code does not): off,
  // so the dirty state and the file on disk show what the user saved, as on the desktop.
  'files.autoSave': 'off',
  'editor.codeLens': true,
};

export interface CodeServer {
  url: string;
  /** The VS Code version of this code-server (its product.json), checked against `tools.vscode`. */
  vscodeVersion: string;
  codeServerVersion: string;
  workspace: string;
  userDataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  tools: E2eTools;
  runDir: string;
  vsix: string;
  workspace: string;
  settings: Record<string, unknown>;
}

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  const env = isolatedEnv(o.runDir, o.tools);
  const userDataDir = join(o.runDir, 'user-data');
  const extensionsDir = join(o.runDir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User/settings.json'), JSON.stringify(o.settings, null, 2));
  const configFile = join(o.runDir, 'home/code-server.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');
  const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  const installed = installedVsCode(o.tools.codeServer);
  assertIntendedVsCode(o.tools, installed.vscode, `${o.tools.codeServer}`);

  const install = spawnSync(o.tools.codeServer, [...common, '--install-extension', o.vsix, '--force'], {
    env,
    encoding: 'utf8',
  });
  if (install.status !== 0) throw new Error(`installing the .vsix failed:\n${install.stdout}\n${install.stderr}`);

  const port = await freePort();
  const logFile = join(o.runDir, 'code-server.log');
  const out = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    o.tools.codeServer,
    [
      ...common,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      o.workspace,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}); see ${logFile}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    vscodeVersion: installed.vscode,
    codeServerVersion: installed.codeServer,
    workspace: o.workspace,
    userDataDir,
    logFile,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Pids of processes whose command line contains every one of `parts` (e.g. this run's server). */
export function findPids(parts: string[]): number[] {
  const out: number[] = [];
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && parts.every((p) => m[2]!.includes(p))) out.push(Number(m[1]));
  }
  return out.filter((pid) => pid !== process.pid);
}

/**
 * Removes a test file's run folder unless ALIGNER_E2E_KEEP is set. Retried: processes that code-server
 * started (its extension host, the extension's server) can still be writing their logs for a moment after
 * code-server itself has exited, which made a plain rmSync fail with ENOTEMPTY.
 */
export function removeRunFolder(dir: string): void {
  if (!process.env.ALIGNER_E2E_KEEP) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}
