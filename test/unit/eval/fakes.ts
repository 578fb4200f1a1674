// Deterministic stand-ins for the eval's collaborators: an AlignerService whose correction is
// "Corrected: <answer>", and an OpenAI-compatible endpoint scripted by a reply function.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  EngineError,
  type AlignerService,
  type CorrectionCallbacks,
  type CorrectionInput,
  type ScoreInput,
} from '../../../server/engine/api.js';
import { ErrorCodes, type CorrectResult, type ModelInfo, type ScoreResult } from '../../../server/protocol/index.js';

const MODEL: ModelInfo = {
  id: 'fake',
  path: '/models/fake',
  modelType: 'llama',
  template: 'correction',
  layout: 'optimum',
  executionProvider: 'cpu',
  parameters: 1,
  contextLength: 512,
  vocabSize: 10,
};

export class FakeAligner implements AlignerService {
  readonly corrected: string[] = [];
  scores = 0;
  /** Inputs whose correction throws (to exercise row errors). */
  failOn = new Set<string>();
  /** Inputs too long for the model: a permanent failure. */
  overflowOn = new Set<string>();

  info = () => ({}) as never;
  health = () => ({ status: 'ready' as const, model: 'fake', message: null, queueLength: 0, running: 0 });
  listModels = () => ({ models: [MODEL], defaultModel: 'fake' });
  loadModel = async () => MODEL;
  unloadModel = async () => true;
  close = async () => {};

  async correct(input: CorrectionInput, cb: CorrectionCallbacks = {}): Promise<CorrectResult> {
    await new Promise((r) => setTimeout(r, 2));
    const cancelled = cb.signal?.aborted;
    if (this.failOn.has(input.question)) throw new Error(`cannot correct ${input.question}`);
    if (this.overflowOn.has(input.question)) {
      throw new EngineError(ErrorCodes.ContextOverflow, `${input.question} does not fit`);
    }
    const text = cancelled ? '' : input.answer.includes('keep') ? input.answer : `Corrected: ${input.answer}`;
    if (!cancelled) this.corrected.push(input.question);
    return {
      requestId: input.requestId,
      model: 'fake',
      text,
      finishReason: cancelled ? 'cancelled' : 'stop',
      usage: { promptTokens: 10, completionTokens: text.length },
      timings: { queueMs: 0, prefillMs: 1, decodeMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 100 },
    };
  }

  /** Shorter continuations are likelier: log p = -length. */
  async score(input: ScoreInput): Promise<ScoreResult> {
    this.scores++;
    return { model: 'fake', logprob: -input.continuation.length, tokens: Math.max(1, input.continuation.length) };
  }
}

export interface ScriptedEndpoint {
  url: string;
  requests: Array<{ body: { model: string; messages: Array<{ role: string; content: string }> }; auth?: string }>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
}

/** An OpenAI-compatible chat endpoint: `reply` gets the last message's content. */
export async function scriptedEndpoint(
  reply: (content: string) => string,
  opts: { key?: string } = {},
): Promise<ScriptedEndpoint> {
  const requests: ScriptedEndpoint['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req));
    requests.push({ body, auth: req.headers.authorization });
    if (opts.key && req.headers.authorization !== `Bearer ${opts.key}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
      return;
    }
    const content = reply(body.messages.at(-1).content);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content } }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const made: string[] = [];
process.on('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = 'aligner-eval-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
