// The bundled server as a child process: spawn `node bin/aligner.js serve …`, wait for its one
// JSON "listening" line on stdout, forward its output to the log, stop it politely then firmly.
// No vscode import: the lifecycle (restart/backoff) lives in serverManager.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { hugePagesEnv, PARENT_PID_ENV } from '../server/platform/processEnv.js';

export interface ListeningEvent {
  event: 'listening';
  url: string;
  wsUrl: string;
  tokenFile: string;
}

/** Parses a stdout line; returns the listening event or null for any other line. */
export function parseListeningLine(line: string): ListeningEvent | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const v = JSON.parse(trimmed) as Partial<ListeningEvent>;
    if (v.event === 'listening' && typeof v.wsUrl === 'string' && typeof v.url === 'string') {
      return {
        event: 'listening',
        url: v.url,
        wsUrl: v.wsUrl,
        tokenFile: typeof v.tokenFile === 'string' ? v.tokenFile : '',
      };
    }
  } catch {
    // not JSON: an ordinary log line
  }
  return null;
}

export interface LaunchSpec {
  /** The node executable (VS Code's own runtime runs as node with ELECTRON_RUN_AS_NODE=1). */
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface ServerLaunchOptions {
  nodePath: string;
  extensionRoot: string;
  modelPath: string;
  port: number;
  tokenFile: string;
  executionProvider: string;
  /** Folders whose files the server may be asked to read as data or models (workspace, storage, models). */
  allowRoots?: string[];
  /** More serve flags and environment (the upstream and remote Aligner settings, backendSettings.ts). */
  extra?: { args: string[]; env: Record<string, string> };
}

export function buildLaunchSpec(o: ServerLaunchOptions, baseEnv: NodeJS.ProcessEnv = process.env): LaunchSpec {
  return {
    command: o.nodePath,
    args: [
      `${o.extensionRoot}/bin/aligner.js`,
      'serve',
      '--model',
      o.modelPath,
      '--port',
      String(o.port),
      '--token-file',
      o.tokenFile,
      '--ep',
      o.executionProvider,
      ...(o.allowRoots ?? []).flatMap((root) => ['--allow-root', root]),
      ...(o.extra?.args ?? []),
    ],
    cwd: o.extensionRoot,
    // ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as plain node; harmless for node.
    // Huge pages are set here, so the launcher does not relaunch (we hold the server's own pid).
    // PARENT_PID_ENV: if this extension host dies, even by kill -9, the server stops too.
    env: {
      ...baseEnv,
      ...hugePagesEnv(baseEnv),
      ...(o.extra?.env ?? {}),
      ELECTRON_RUN_AS_NODE: '1',
      [PARENT_PID_ENV]: String(process.pid),
    },
  };
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; lastLines: string[] };

/** One run of the server process. Create a new one to restart. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private readonly lastLines: string[] = [];
  private stopping = false;

  constructor(private readonly log: Logger) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves when the server prints its listening line; rejects if it exits or times out first. */
  start(
    spec: LaunchSpec,
    timeoutMs: number,
    onExit: (info: ExitInfo, expected: boolean) => void,
  ): Promise<ListeningEvent> {
    this.log.info(`starting server: ${spec.command} ${spec.args.join(' ')}`);
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const remember = (line: string) => {
      this.lastLines.push(line);
      if (this.lastLines.length > 20) this.lastLines.shift();
    };
    return new Promise<ListeningEvent>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`the server did not start listening within ${Math.round(timeoutMs / 1000)} s`));
        void this.stop();
      }, timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const ev = parseListeningLine(line);
        if (ev && !settled) {
          settled = true;
          clearTimeout(timer);
          this.log.info(`server listening on ${ev.url} (pid ${child.pid})`);
          resolve(ev);
          return;
        }
        this.log.info(`[server] ${line}`);
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        // The server tags its stderr lines "[info] …", "[warn] …", "[error] …"; untagged ones (a crash's
        // stack trace) are warnings. Only non-info lines can explain an exit, so only those are kept.
        const level = /^\[(info|warn|error)\]/.exec(line)?.[1] as 'info' | 'warn' | 'error' | undefined;
        if (level !== 'info') remember(line);
        this.log[level ?? 'warn'](`[server] ${line}`);
      });
      this.exited = new Promise<ExitInfo>((done) => {
        child.on('error', (err) => {
          remember(err.message);
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            reject(new Error(`could not start the server: ${err.message}`));
          }
        });
        child.on('exit', (code, signal) => {
          const info = { code, signal, lastLines: [...this.lastLines] };
          this.log[this.stopping ? 'info' : 'error'](`server exited (code ${code}, signal ${signal})`);
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            // The server's own last words say why it failed; pass them on verbatim.
            reject(new Error(describeExit(info)));
          }
          try {
            onExit(info, this.stopping);
          } catch (err) {
            // e.g. VS Code is shutting down and its API channel is already closed
            this.log.warn(`after the server exited: ${err instanceof Error ? err.message : String(err)}`);
          }
          done(info);
        });
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function describeExit(info: ExitInfo): string {
  const why = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
  const errorLines = info.lastLines.filter((l) => l.trim()).slice(-5);
  return errorLines.length ? `The Aligner server ${why}: ${errorLines.join('\n')}` : `The Aligner server ${why}.`;
}

/** Restart delays: 0.5 s, 1 s, 2 s, … capped at 30 s. */
export function backoffDelay(attempt: number, baseMs = 500, maxMs = 30_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}
