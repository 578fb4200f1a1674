// Transparent huge pages for the engine's memory (Linux, glibc >= 2.35).
// Decoding streams every weight once per token, so with 4 KiB pages the CPU walks page tables for
// hundreds of MB per step. glibc's `malloc.hugetlb=1` tunable makes its large allocations
// madvise(MADV_HUGEPAGE), which covers onnxruntime's prepacked weights and the KV cache. Measured
// side by side (bench/results/settings.md, 2 cores, batch 1): 3-14% faster decode alone, 1.1-1.65x
// with spinning threads (session.ts). Tunables are read at process start only, so a process that
// lacks it relaunches itself once with it set.
// Harmless elsewhere: other platforms are skipped, and older glibc or musl ignore the variable.
// The variables themselves are built in server/platform/processEnv.ts, which the extension shares.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { hugePagesEnv } from '../platform/processEnv.js';

/**
 * Relaunches this process with huge pages when it lacks them: same executable, node flags and
 * arguments, stdio inherited, signals passed on. Resolves to the child's exit code (the caller
 * exits with it), or null when no relaunch was needed and the caller should go on.
 */
export function relaunchWithHugePages(): Promise<number | null> {
  const extra = hugePagesEnv();
  if (!extra.GLIBC_TUNABLES) return Promise.resolve(null);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...extra },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolve, reject) => {
    // Could not start it (the process keeps running without huge pages, as before).
    child.once('error', (err) => (child.pid === undefined ? resolve(null) : reject(err)));
    child.once('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
