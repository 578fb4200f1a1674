// One AlignerService over the local engine and remote Aligners: requests for a remote model's id
// (or for the default, when that is remote) go to its endpoint, everything else to the engine.
import { ErrorCodes } from '../protocol/index.js';
import type {
  CorrectResult,
  HealthResult,
  ModelInfo,
  ModelsListResult,
  ModelsLoadParams,
  ScoreResult,
  ServerInfo,
} from '../protocol/index.js';
import { EngineError } from './api.js';
import type { AlignerService, CorrectionCallbacks, CorrectionInput, ScoreInput } from './api.js';
import type { RemoteAligner } from './remoteAligner.js';

export class ModelRouter implements AlignerService {
  private readonly remotes: Map<string, RemoteAligner>;

  constructor(
    private readonly local: AlignerService,
    remotes: RemoteAligner[],
    /** A remote id to use when a request names no model; otherwise the engine's default. */
    private readonly defaultRemote: string | null = null,
  ) {
    this.remotes = new Map(remotes.map((r) => [r.id, r]));
  }

  private remoteFor(model: string | undefined): RemoteAligner | undefined {
    return this.remotes.get(model ?? this.defaultRemote ?? '');
  }

  info(): ServerInfo {
    return this.local.info();
  }

  /** A remote default makes the server ready to correct even while no local model is loaded. */
  health(): HealthResult {
    const h = this.local.health();
    if (this.defaultRemote === null || h.status === 'ready') return h;
    return { ...h, status: 'ready', model: this.defaultRemote, message: null };
  }

  listModels(): ModelsListResult {
    const local = this.local.listModels();
    const models: ModelInfo[] = [...local.models, ...[...this.remotes.values()].map((r) => r.info())];
    return { models, defaultModel: this.defaultRemote ?? local.defaultModel };
  }

  loadModel(params: ModelsLoadParams): Promise<ModelInfo> {
    return this.local.loadModel(params);
  }

  unloadModel(id: string): Promise<boolean> {
    if (this.remotes.has(id)) return Promise.resolve(false);
    return this.local.unloadModel(id);
  }

  correct(input: CorrectionInput, callbacks?: CorrectionCallbacks): Promise<CorrectResult> {
    const remote = this.remoteFor(input.model);
    if (remote) return remote.correct(input, callbacks);
    return this.local.correct(input, callbacks);
  }

  score(input: ScoreInput): Promise<ScoreResult> {
    if (this.remoteFor(input.model)) {
      return Promise.reject(
        new EngineError(
          ErrorCodes.InvalidParams,
          'scoring needs a local model (a completions endpoint gives no prompt likelihoods)',
        ),
      );
    }
    return this.local.score(input);
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
