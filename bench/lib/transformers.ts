// transformers.js as the reference implementation: runs bench/lib/transformersRunner in a child
// process, or says why it cannot (not installed: run scripts/bench-deps.sh).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REPO_ROOT } from './context.js';
import type { TransformersJob, TransformersResult } from './transformersRunner.js';

const fromSource = import.meta.url.endsWith('.ts'); // under tsx; compiled, this file is in dist/bench/lib

/** Where scripts/bench-deps.sh installs it ($BENCH_DEPS_DIR or .bench-deps/ in the repository root). */
export const BENCH_DEPS_DIR = resolve(process.env.BENCH_DEPS_DIR ?? fileURLToPath(new URL('.bench-deps', REPO_ROOT)));

const entry = () =>
  join(BENCH_DEPS_DIR, 'node_modules', '@huggingface', 'transformers', 'dist', 'transformers.node.mjs');

/** null when transformers.js is installed, else the reason it is not usable. */
export function transformersMissing(): string | null {
  return existsSync(entry())
    ? null
    : `transformers.js is not installed in ${BENCH_DEPS_DIR} (run: bash scripts/bench-deps.sh)`;
}

export async function runTransformers(job: Omit<TransformersJob, 'entry'>): Promise<TransformersResult> {
  const runner = fileURLToPath(new URL(`./transformersRunner.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const args = [...(fromSource ? ['--import', 'tsx'] : []), runner, JSON.stringify({ ...job, entry: entry() })];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as TransformersResult;
}
