// Starts a real VS Code (code-server, installed by scripts/e2e-setup.sh) with the packaged .vsix
// installed into a fresh, isolated profile. Everything it writes stays inside `runDir`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface E2eTools {
  node24Dir: string;
  codeServer: string;
  chromium: string;
}

/** Paths written by scripts/e2e-setup.sh into .e2e/env.sh. */
export function loadTools(root: string): E2eTools {
  const envFile = join(root, '.e2e/env.sh');
  if (!existsSync(envFile)) throw new Error('the e2e tools are not installed: run scripts/e2e-setup.sh');
  const vars = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .map((l) => /^export (\w+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1], m[2]]),
  );
  return { node24Dir: vars.E2E_NODE24_DIR!, codeServer: vars.E2E_CODE_SERVER!, chromium: vars.E2E_CHROMIUM! };
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
    ...(tools ? { PATH: `${tools.node24Dir}/bin:${process.env.PATH}` } : {}),
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
