// Where the repository (or the installed extension) keeps its files, found from this module's path
// so the CLI works from a clone, from dist/, and from inside the packaged extension alike.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'aligner.js'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the aligner package root');
    dir = parent;
  }
}

/** The model used when --model is not given: $ALIGNER_MODEL, else the bundled models/default. */
export function defaultModelDir(): string {
  return process.env.ALIGNER_MODEL || join(packageRoot(), 'models', 'default');
}

/** Per-user state (token file): $ALIGNER_STATE_DIR, else $XDG_STATE_HOME/aligner, else ~/.local/state/aligner. */
export function stateDir(): string {
  if (process.env.ALIGNER_STATE_DIR) return process.env.ALIGNER_STATE_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'aligner');
}
