// What the OpenAI-compatible HTTP routes need from the server (apart so the route modules, openaiHttp.ts
// and openaiCompletions.ts, do not import each other).
import type { HealthResult } from '../protocol/index.js';
import type { AlignerService } from '../engine/api.js';
import type { Log } from './errors.js';
import type { CorrectingProxy } from '../proxy/correctingProxy.js';

export interface HttpDeps {
  service: AlignerService;
  /** health as the server answers it; the engine's own when absent. */
  health?: () => HealthResult;
  log: Log;
  maxPayloadBytes: number;
  /** Unix seconds; reported as the models' `created`. */
  startedAt: number;
  /** Registers a request's AbortController so that server shutdown cancels it; returns an unregister. */
  track(controller: AbortController): () => void;
  /** Set by `serve --upstream`: chat requests without an assistant draft are answered upstream, then corrected. */
  proxy?: CorrectingProxy;
}
