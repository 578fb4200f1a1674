// Dying with the parent. A process started by the `aligner` launcher (its huge-pages relaunch), by
// the VS Code extension or by the server's job manager is told its parent's pid in PARENT_PID_ENV.
// When that parent disappears, even by `kill -9`, the kernel re-parents us; we notice within one
// poll and stop (gracefully: SIGTERM runs `serve`'s shutdown), so no orphan keeps serving on the port.
// Linux has PR_SET_PDEATHSIG for this, but Node cannot call prctl; polling the ppid is portable.

import { PARENT_PID_ENV } from '../platform/processEnv.js';

/** bin/aligner.js reads it from here. */
export { PARENT_PID_ENV };

const POLL_MS = 250;
/** If a graceful stop hangs, exit anyway this long after the parent went. */
const HARD_EXIT_MS = 10_000;

/** What to do once the parent is gone: SIGTERM our own process group when we lead one, else ourselves. */
export function stopSelf(): void {
  try {
    // A job child leads its own group (detached): the group holds its trainer, which must stop too.
    process.kill(-process.pid, 'SIGTERM');
  } catch {
    process.kill(process.pid, 'SIGTERM');
  }
  setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
}

/**
 * Reads (and removes, so our own children do not inherit it) the parent pid from the environment
 * and starts watching it. Returns a function that stops the watch; a no-op when none was asked for.
 */
export function watchParentFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  onGone: () => void = stopSelf,
  pollMs = POLL_MS,
): () => void {
  const raw = env[PARENT_PID_ENV];
  delete env[PARENT_PID_ENV];
  const parent = Number(raw);
  if (!raw || !Number.isInteger(parent) || parent <= 1) return () => {};
  return watchParent(parent, onGone, pollMs);
}

/** Calls `onGone` once, as soon as our parent is no longer process `parent`. */
export function watchParent(parent: number, onGone: () => void, pollMs = POLL_MS): () => void {
  let fired = false;
  const check = () => {
    if (fired || process.ppid === parent) return;
    fired = true;
    clearInterval(timer);
    onGone();
  };
  const timer = setInterval(check, pollMs);
  timer.unref(); // the watch alone never keeps a finished command alive
  check(); // the parent may already have gone before we started
  return () => clearInterval(timer);
}
