// The architecture of a decoder: what the graph builder, the converter and the test-model writer share.

/** The model families the graph builder writes (config.json's model_type). */
export type ModelType = 'llama' | 'gemma' | 'qwen2';

/** Fully resolved architecture of one model. */
export interface ModelDims {
  type: ModelType;
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
