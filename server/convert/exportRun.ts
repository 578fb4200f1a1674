// `aligner export`: a training run -> a model folder. The run's final checkpoint (RUNDIR/final, the
// Hugging Face folder the Python trainer writes, with its aligner.json) goes through the converter in
// the fast layout, in the shipped format unless asked otherwise. The folder is written beside --out
// and renamed into place, so a cancelled or failed export never leaves half a model where a loader
// (or the job that hot-loads it) would find it.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { convertModel, type ConvertDtype, type ConvertSummary } from './convertModel.js';
import { SHIPPED_FORMAT } from './shippedFormat.js';

export interface ExportRunOptions {
  /** A training run folder (`aligner train --out`). */
  run: string;
  /** The model folder to write; an existing model folder there is replaced. */
  out: string;
  dtype?: ConvertDtype;
  /** int8 / int4: weights per quantization block. */
  blockSize?: number;
  log?: (line: string) => void;
}

/** RUNDIR/final, or why the run has none. */
export function finalCheckpoint(run: string): string {
  const final = join(resolve(run), 'final');
  if (!existsSync(join(final, 'config.json')))
    throw new Error(
      `${run} has no final checkpoint (${final}/config.json): the run has not finished; ` +
        `resume it with \`aligner train --out ${run} --resume\`, or convert a checkpoint with \`aligner convert\``,
    );
  return final;
}

const inside = (child: string, parent: string) => {
  const rel = relative(parent, child);
  return !rel.startsWith('..') && !isAbsolute(rel);
};

/** Throws unless --out may be (re)written: never the run itself, never a folder that holds something else. */
function checkOut(out: string, run: string): void {
  if (inside(run, out) || inside(out, run)) throw new Error(`--out ${out} must be outside the run folder ${run}`);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'onnx', 'model.onnx')))
    throw new Error(`--out ${out} holds files but no model (onnx/model.onnx); not replacing it`);
}

export async function exportRun(opts: ExportRunOptions): Promise<ConvertSummary> {
  const from = finalCheckpoint(opts.run);
  const out = resolve(opts.out);
  checkOut(out, resolve(opts.run));
  mkdirSync(dirname(out), { recursive: true });
  // One staging name per target: a killed export's leftovers are cleared by the next one.
  const staging = join(dirname(out), `.${basename(out)}.partial`);
  rmSync(staging, { recursive: true, force: true });
  try {
    const summary = await convertModel({
      from,
      out: staging,
      layout: 'fast',
      dtype: opts.dtype ?? SHIPPED_FORMAT.dtype,
      blockSize: opts.blockSize ?? SHIPPED_FORMAT.blockSize,
      log: opts.log,
    });
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
    return { ...summary, out };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
