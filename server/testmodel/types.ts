// Shared types for the test-model generator (kept apart so modules don't import each other in a cycle).

export type TestModelType = 'llama' | 'gemma' | 'qwen2';

/** Fully resolved architecture of one test model. */
export interface ModelDims {
  type: TestModelType;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
}
