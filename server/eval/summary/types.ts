// summary.json's shape.
import type { InputFileInfo } from '../data/readInputs.js';
import type { Groups } from './summarize.js';

export interface EvalSummary {
  version: 1;
  /** False when the run stopped before every row was evaluated. */
  complete: boolean;
  model: { id: string; path: string | null };
  settings: {
    judges: string[];
    template: string | null;
    generation: Record<string, unknown>;
    upstreamModel: string | null;
    judgeModel: string | null;
    bootstrap: number;
    seed: number;
    limit: number | null;
  };
  inputs: InputFileInfo[];
  counts: { rows: number; evaluated: number; errors: number; pending: number };
  groups: Groups;
}
