// The format the shipped default model (models/default) is converted to, defined once: `aligner export`
// writes it unless asked otherwise, and `aligner convert --help` names it. MODEL_CARD.md says why it is
// int8 with 64-weight blocks (int4, and block 32, lost quality on the held-out rows).
import type { ConvertDtype } from './convertModel.js';

export const SHIPPED_FORMAT: { readonly dtype: ConvertDtype; readonly blockSize: number } = {
  dtype: 'int8',
  blockSize: 64,
};

/** "int8, block 64": the shipped format in words, for help texts. */
export const SHIPPED_FORMAT_TEXT = `${SHIPPED_FORMAT.dtype}, block ${SHIPPED_FORMAT.blockSize}`;
