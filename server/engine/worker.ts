// The engine's thread. onnxruntime-node's run() holds the thread that calls it, so inference lives
// here and the server's event loop (sockets, auth, health) stays responsive.
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCodes } from '../protocol/index.js';
import { EngineError } from './api.js';
import { Engine } from './engine.js';
import type { SequenceHandle } from './scheduler.js';
import type { HostToWorker, WorkerData, WorkerError, WorkerToHost } from './workerMessages.js';

const port = parentPort!;
const engine = new Engine((workerData as WorkerData).options);
const inFlight = new Map<number, SequenceHandle>();

const post = (msg: WorkerToHost) => port.postMessage(msg);
const postState = () =>
  post({
    type: 'state',
    state: {
      models: engine.listModels(),
      defaultModel: engine.defaultModel,
      queueLength: engine.queueLength(),
      running: engine.runningCount(),
    },
  });

function toWorkerError(err: unknown): WorkerError {
  if (err instanceof EngineError) return { code: err.code, message: err.message, data: err.data };
  return { code: ErrorCodes.InternalError, message: (err as Error)?.message ?? String(err) };
}

async function reply(callId: number, work: () => Promise<unknown>): Promise<void> {
  // State goes first so that the host's mirror is current when the caller's promise settles.
  try {
    const value = await work();
    postState();
    post({ type: 'reply', callId, ok: true, value });
  } catch (err) {
    postState();
    post({ type: 'reply', callId, ok: false, error: toWorkerError(err) });
  }
}

port.on('message', (msg: HostToWorker) => {
  switch (msg.type) {
    case 'load':
      void reply(msg.callId, () =>
        engine.loadModel(msg.path, {
          id: msg.id,
          executionProvider: msg.executionProvider,
          makeDefault: msg.makeDefault,
          role: msg.role,
          chatTemplatePath: msg.chatTemplatePath,
        }),
      );
      break;
    case 'unload':
      void reply(msg.callId, () => engine.unloadModel(msg.id));
      break;
    case 'correct':
      void reply(msg.callId, async () => {
        const prepared = engine.prepare(msg.input);
        const handle = engine.start(prepared, (delta, tokens) =>
          post({ type: 'delta', callId: msg.callId, delta, tokens }),
        );
        inFlight.set(msg.callId, handle);
        post({
          type: 'started',
          callId: msg.callId,
          model: prepared.model.info.id,
          promptTokens: prepared.promptIds.length,
        });
        postState();
        try {
          return { ...(await handle.result), model: prepared.model.info.id };
        } finally {
          inFlight.delete(msg.callId);
        }
      });
      break;
    case 'score':
      void reply(msg.callId, () => engine.score(msg.input));
      break;
    case 'cancel':
      inFlight.get(msg.callId)?.cancel();
      break;
    case 'close':
      void reply(msg.callId, () => engine.close());
      break;
  }
});
