// `aligner convert --from FILE.gguf --out DIR`: a GGUF file -> a model folder the engine loads, by way
// of a temporary fp32 Hugging Face folder beside the output (same disk, removed afterwards) and the
// ordinary checkpoint converter, so GGUF models get every layout and dtype the converter has.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { convertModel, type ConvertOptions, type ConvertSummary } from '../convertModel.js';
import { ggufToHf, type GgufToHfSummary } from './ggufToHf.js';

/**
 * A --from that is a file is taken as GGUF (a Hugging Face checkpoint is a folder), so a file that is
 * not GGUF is refused by the GGUF reader with a reason rather than by the folder reader.
 */
export function isGgufSource(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface GgufConvertSummary extends ConvertSummary {
  gguf: GgufToHfSummary;
}

export async function convertGguf(opts: ConvertOptions): Promise<GgufConvertSummary> {
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.from-gguf-`));
  try {
    const gguf = await ggufToHf({ from: opts.from, out: tmp, log: opts.log });
    const summary = await convertModel({ ...opts, from: tmp, out });
    return { ...summary, gguf, seconds: summary.seconds + gguf.seconds };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
