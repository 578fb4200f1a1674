// `aligner serve` as a real child process (the built CLI), for tests that must see the server
// process itself: that it stays up, its output, its memory, its exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readTokenFile } from '../../server/transport/auth.js';
import { testModel } from './testModels.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'aligner.js');

export interface ServeProcess {
  child: ChildProcess;
  /** The "listening" event: url, wsUrl, port, pid (the server's own, after any relaunch). */
  listening: Record<string, unknown>;
  /** The model loaded ("ready"), as opposed to "model-error". */
  ready: boolean;
  url: string;
  wsUrl: string;
  token: string;
  tokenFile: string;
  /** Everything the server printed so far, stdout and stderr. */
  output(): string;
  alive(): boolean;
  /** Resident memory of the server process in bytes (Linux), or null. */
  rssBytes(): number | null;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `aligner serve --port 0 --token-file … …args` (with the llama test model unless args name a
 * --model) with `env` added to this process's environment, and waits until the model is ready or failed.
 */
export async function startServe(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const state = mkdtempSync(join(tmpdir(), 'aligner-serve-'));
  const tokenFile = join(state, 'server.token');
  const model = args.includes('--model') ? [] : ['--model', await testModel('llama')];
  const child = spawn(process.execPath, [BIN, 'serve', ...model, '--port', '0', '--token-file', tokenFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The job registry lives under the state folder: keep it out of the user's.
    env: { ...process.env, ALIGNER_STATE_DIR: state, ...env },
  });
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  const events: Record<string, Record<string, unknown>> = {};
  // Read for the server's whole life, so its output is kept and its stdout never fills up.
  await new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += line + '\n';
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        events[String(event.event)] = event;
        if (event.event === 'ready' || event.event === 'model-error') resolve();
      } catch {
        // an ordinary line
      }
    });
    child.once('exit', () => resolve());
  });
  const listening = events.listening;
  if (!listening) throw new Error(`the server did not start: ${output}`);
  const pid = Number(listening.pid);
  return {
    child,
    listening,
    ready: Boolean(events.ready),
    url: String(listening.url),
    wsUrl: String(listening.wsUrl),
    token: await readTokenFile(tokenFile),
    tokenFile,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    rssBytes: () => {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) * 1024 : null;
      } catch {
        return null;
      }
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
