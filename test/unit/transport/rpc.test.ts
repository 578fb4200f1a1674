// WebSocket JSON-RPC behaviour over real sockets on 127.0.0.1, against a FakeService.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc';
import {
  CancelRequest,
  CorrectRequest,
  ErrorCodes,
  HealthRequest,
  ModelsListRequest,
  ModelsLoadRequest,
  ModelsUnloadRequest,
  PROTOCOL_VERSION,
  RequestParamSchemas,
  ServerInfoRequest,
  type CorrectDelta,
} from '../../../server/protocol/index.js';
import { AlignerConnectError, connectAligner, type AlignerClient } from '../../../server/transport/client.js';
import { RpcSession } from '../../../server/transport/rpcSession.js';
import { expectedDeltas, FakeService, MODEL_ID } from './fakeService.js';
import { RawClient, startHarness, type Harness, type Json } from './helpers.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const connect = () => connectAligner(h.server.wsUrl, h.token);

async function rejection(p: Promise<unknown>): Promise<ResponseError<Json>> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

describe('handshake', () => {
  test('initialize returns the protocol version and server info', async () => {
    const c = await connect();
    assert.equal(c.initializeResult.protocolVersion, PROTOCOL_VERSION);
    assert.equal(c.initializeResult.server.name, 'aligner-server');
    assert.equal((await c.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
    assert.equal((await c.connection.sendRequest(ServerInfoRequest, undefined)).maxBatch, 4);
    assert.deepEqual((await c.connection.sendRequest(ModelsListRequest, undefined)).defaultModel, MODEL_ID);
    await c.close();
  });

  test('a protocol version mismatch is refused with ProtocolMismatch and data.serverVersion', async () => {
    const err = await rejection(connectAligner(h.server.wsUrl, h.token, { protocolVersion: 99 }));
    assert.equal(err.code, ErrorCodes.ProtocolMismatch);
    assert.deepEqual(err.data, { serverVersion: PROTOCOL_VERSION });
  });

  test('requests before initialize get NotInitialized, also after a refused initialize', async () => {
    const raw = await RawClient.open(h.server.wsUrl, { headers: { authorization: `Bearer ${h.token}` } });
    const before = await raw.call(1, 'health');
    assert.equal(before.error.code, ErrorCodes.NotInitialized);
    const corr = await raw.call(2, 'correct', { requestId: 'r', question: 'q', answer: 'a' });
    assert.equal(corr.error.code, ErrorCodes.NotInitialized);
    const mismatch = await raw.call(3, 'initialize', { protocolVersion: PROTOCOL_VERSION + 1 });
    assert.equal(mismatch.error.code, ErrorCodes.ProtocolMismatch);
    assert.equal((await raw.call(4, 'health')).error.code, ErrorCodes.NotInitialized);
    const ok = await raw.call(5, 'initialize', { protocolVersion: PROTOCOL_VERSION });
    assert.equal(ok.result.protocolVersion, PROTOCOL_VERSION);
    assert.equal((await raw.call(6, 'health')).result.status, 'ready');
    await raw.close();
  });

  test('every method of the protocol table has a handler', () => {
    const sock = {
      readyState: 3,
      send() {},
      close() {},
      addEventListener() {},
      removeEventListener() {},
    };
    const s = new RpcSession(sock, new FakeService(), () => {});
    assert.deepEqual(Object.keys(s.handlers).sort(), Object.keys(RequestParamSchemas).sort());
    s.dispose();
  });
});

describe('models', () => {
  test('load and unload go to the service; its EngineError keeps its code', async () => {
    const c = await connect();
    const loaded = await c.connection.sendRequest(ModelsLoadRequest, { path: '/m', id: 'm2' });
    assert.equal(loaded.id, 'm2');
    assert.deepEqual(await c.connection.sendRequest(ModelsUnloadRequest, { id: MODEL_ID }), { unloaded: true });
    const err = await rejection(c.connection.sendRequest(ModelsLoadRequest, { path: '/missing' }));
    assert.equal(err.code, ErrorCodes.ModelLoadFailed);
    assert.equal(err.message, 'no such folder');
    await c.close();
  });
});

describe('correct', () => {
  test('streams deltas in order, tagged with the requestId, then resolves with the result', async () => {
    const c = await connect();
    const params = { requestId: 'req-1', question: 'Why?', answer: 'Because it is so.' };
    const deltas: CorrectDelta[] = [];
    const result = await c.correct(params, { onDelta: (d) => deltas.push(d) });
    const expected = expectedDeltas(params);
    assert.deepEqual(
      deltas,
      expected.map((delta, index) => ({ requestId: 'req-1', delta, index })),
    );
    assert.equal(result.requestId, 'req-1');
    assert.equal(result.text, expected.join(''));
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.model, MODEL_ID);
    await c.close();
  });

  test('all deltas arrive before the response (raw frame order)', async () => {
    const raw = await RawClient.open(h.server.wsUrl, { headers: { authorization: `Bearer ${h.token}` } });
    await raw.call(1, 'initialize', { protocolVersion: PROTOCOL_VERSION });
    raw.send({ id: 2, method: 'correct', params: { requestId: 'ord', question: 'q', answer: 'a b c' } });
    const seen: Json[] = [];
    for (;;) {
      const m = await raw.next();
      seen.push(m);
      if (m.id === 2) break;
    }
    const notes = seen.slice(0, -1);
    assert.ok(notes.every((m) => m.method === 'correct/delta' && m.params.requestId === 'ord'));
    assert.deepEqual(
      notes.map((m) => m.params.index),
      notes.map((_, i) => i),
    );
    assert.equal(notes.map((m) => m.params.delta).join(''), seen.at(-1).result.text);
    await raw.close();
  });

  test('cancel mid-stream resolves the request with finishReason cancelled', async () => {
    const c = await connect();
    const service = h.service;
    let firstDelta!: () => void;
    const gotDelta = new Promise<void>((r) => (firstDelta = r));
    const pending = c.correct({ requestId: 'slow-1', question: 'slow', answer: 'x' }, { onDelta: () => firstDelta() });
    await gotDelta;
    assert.deepEqual(await c.connection.sendRequest(CancelRequest, { requestId: 'slow-1' }), { cancelled: true });
    const result = await pending;
    assert.equal(result.finishReason, 'cancelled');
    await service.waitForAbort('slow-1');
    assert.deepEqual(await c.connection.sendRequest(CancelRequest, { requestId: 'slow-1' }), { cancelled: false });
    await c.close();
  });

  test('an AbortSignal on the client helper cancels', async () => {
    const c = await connect();
    const ac = new AbortController();
    const pending = c.correct(
      { requestId: 'slow-2', question: 'slow', answer: 'x' },
      { onDelta: () => ac.abort(), signal: ac.signal },
    );
    assert.equal((await pending).finishReason, 'cancelled');
    await c.close();
  });

  test('$/cancelRequest (vscode-jsonrpc cancellation tokens) also cancels', async () => {
    const c = await connect();
    const source = new CancellationTokenSource();
    const pending = c.connection.sendRequest(
      CorrectRequest,
      { requestId: 'slow-3', question: 'slow', answer: 'x' },
      source.token,
    );
    source.cancel();
    await h.service.waitForAbort('slow-3');
    assert.equal((await pending).finishReason, 'cancelled');
    await c.close();
  });

  test('closing the socket cancels every in-flight request of that connection', async () => {
    const c = await connect();
    const started: Promise<void>[] = [];
    for (const id of ['close-a', 'close-b']) {
      let resolve!: () => void;
      started.push(new Promise<void>((r) => (resolve = r)));
      void c.correct({ requestId: id, question: 'slow', answer: 'x' }, { onDelta: () => resolve() }).catch(() => {});
    }
    await Promise.all(started);
    await c.close();
    await Promise.all([h.service.waitForAbort('close-a'), h.service.waitForAbort('close-b')]);
  });

  test('a duplicate in-flight requestId is InvalidParams; the first request is unaffected', async () => {
    const c = await connect();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = c.correct(
      { requestId: 'dup', question: 'slow', answer: 'x', generation: { maxNewTokens: 40 } },
      {
        onDelta: () => started(),
      },
    );
    await running;
    const err = await rejection(
      c.connection.sendRequest(CorrectRequest, { requestId: 'dup', question: 'q', answer: 'a' }),
    );
    assert.equal(err.code, ErrorCodes.InvalidParams);
    const result = await first;
    assert.equal(result.finishReason, 'length');
    // Once finished, the id may be reused.
    assert.equal((await c.correct({ requestId: 'dup', question: 'q', answer: 'a' })).finishReason, 'stop');
    await c.close();
  });

  test('8 concurrent clients each get their own stream and result', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const results = await Promise.all(
      clients.map(async (c, i) => {
        const params = { requestId: 'same-id', question: `q${i}`, answer: `answer number ${i} here` };
        const deltas: string[] = [];
        const r = await c.correct(params, { onDelta: (d) => deltas.push(d.delta) });
        return { params, deltas, r };
      }),
    );
    for (const { params, deltas, r } of results) {
      assert.deepEqual(deltas, expectedDeltas(params));
      assert.equal(r.text, expectedDeltas(params).join(''));
    }
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('errors', () => {
  let other: AlignerClient;
  let otherPending: Promise<unknown>;
  before(async () => {
    // A second client streams throughout; every bad input below must leave it unharmed.
    other = await connect();
    otherPending = other.correct({
      requestId: 'bystander',
      question: 'slow',
      answer: 'x',
      generation: { maxNewTokens: 100 },
    });
  });
  after(async () => {
    const r = (await otherPending) as { finishReason: string; text: string };
    assert.equal(r.finishReason, 'length');
    assert.equal((await other.connection.sendRequest(HealthRequest, undefined)).status, 'ready');
    await other.close();
  });

  test('malformed JSON gets a ParseError response with id null; the connection keeps working', async () => {
    const raw = await RawClient.open(h.server.wsUrl, { headers: { authorization: `Bearer ${h.token}` } });
    raw.sendRaw('{"jsonrpc": "2.0", "id": 1, "method": ');
    const m = await raw.next();
    assert.equal(m.jsonrpc, '2.0');
    assert.equal(m.id, null);
    assert.equal(m.error.code, ErrorCodes.ParseError);
    assert.equal((await raw.call(2, 'initialize', { protocolVersion: PROTOCOL_VERSION })).result.protocolVersion, 1);
    raw.sendRaw(Buffer.from('{}'));
    assert.equal((await raw.next()).error.code, ErrorCodes.ParseError);
    assert.equal((await raw.call(3, 'health')).result.status, 'ready');
    await raw.close();
  });

  test('invalid JSON-RPC shapes get InvalidRequest (or nothing, for notifications) without crashing', async () => {
    const raw = await RawClient.open(h.server.wsUrl, { headers: { authorization: `Bearer ${h.token}` } });
    const bad: Array<[string, number | null]> = [
      ['[]', null],
      ['[{"jsonrpc":"2.0","id":1,"method":"health"}]', null],
      ['5', null],
      ['"x"', null],
      ['null', null],
      ['{}', null],
      ['{"jsonrpc":"1.0","id":7,"method":"health"}', 7],
      ['{"jsonrpc":"2.0","id":8,"method":5}', 8],
      ['{"jsonrpc":"2.0","id":9,"method":"health","params":"x"}', 9],
      ['{"jsonrpc":"2.0","id":{},"method":"health"}', null],
      ['{"jsonrpc":"2.0","id":null,"method":"health"}', null],
      ['{"jsonrpc":"2.0","method":"$/cancelRequest"}', null],
      ['{"jsonrpc":"2.0","method":"$/cancelRequest","params":null}', null],
      ['{"jsonrpc":"2.0","id":10}', 10],
    ];
    for (const [frame, id] of bad) {
      raw.sendRaw(frame);
      const m = await raw.next();
      assert.equal(m.error.code, ErrorCodes.InvalidRequest, frame);
      assert.equal(m.id, id, frame);
    }
    // Well-formed notifications that are odd or unknown are ignored, as JSON-RPC requires.
    for (const frame of [
      '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":123}}',
      '{"jsonrpc":"2.0","method":"$/setTrace"}',
      '{"jsonrpc":"2.0","method":"$/progress"}',
      '{"jsonrpc":"2.0","method":"no/such/notification","params":[1,2]}',
      '{"jsonrpc":"2.0","id":77,"result":{}}',
    ]) {
      raw.sendRaw(frame);
    }
    assert.equal((await raw.call(11, 'initialize', { protocolVersion: PROTOCOL_VERSION })).result.protocolVersion, 1);
    await raw.close();
  });

  test('an unknown method gets MethodNotFound', async () => {
    const c = await connect();
    const err = await rejection(c.connection.sendRequest('models/delete', { id: 'x' }));
    assert.equal(err.code, ErrorCodes.MethodNotFound);
    const err2 = await rejection(c.connection.sendRequest('__proto__'));
    assert.equal(err2.code, ErrorCodes.MethodNotFound);
    await c.close();
  });

  test('wrong parameter types get InvalidParams with the zod issues in data', async () => {
    const c = await connect();
    const send = (params: unknown) => rejection(c.connection.sendRequest('correct', params));
    const e1 = await send({ requestId: 'p1', question: 5, answer: 'a' });
    assert.equal(e1.code, ErrorCodes.InvalidParams);
    assert.deepEqual(e1.data.issues[0].path, ['question']);
    const e2 = await send({ requestId: 'p2', question: 'q', answer: 'a', generation: { temperature: 'hot' } });
    assert.equal(e2.code, ErrorCodes.InvalidParams);
    assert.deepEqual(e2.data.issues[0].path, ['generation', 'temperature']);
    const e3 = await send({ requestId: 'p3', question: 'q', answer: 'a', extra: true });
    assert.equal(e3.code, ErrorCodes.InvalidParams);
    const e4 = await send(['p4', 'q', 'a']);
    assert.equal(e4.code, ErrorCodes.InvalidParams);
    const e5 = await rejection(c.connection.sendRequest('cancel', {}));
    assert.equal(e5.code, ErrorCodes.InvalidParams);
    const e6 = await rejection(c.connection.sendRequest('health', { verbose: true }));
    assert.equal(e6.code, ErrorCodes.InvalidParams);
    await c.close();
  });

  test('EngineError keeps its code, message and data; other errors become a bare InternalError', async () => {
    const c = await connect();
    const e1 = await rejection(c.correct({ requestId: 'e1', question: 'throw-engine', answer: 'a' }));
    assert.equal(e1.code, ErrorCodes.ContextOverflow);
    assert.equal(e1.message, 'input does not fit');
    assert.deepEqual(e1.data, { promptTokens: 9999 });
    const e2 = await rejection(c.correct({ requestId: 'e2', question: 'throw-internal', answer: 'a' }));
    assert.equal(e2.code, ErrorCodes.InternalError);
    assert.equal(e2.message, 'Internal error');
    assert.equal(e2.data, undefined);
    assert.ok(
      h.logs.some((l) => l.includes('secret detail')),
      'the cause is logged server-side',
    );
    const e3 = await rejection(c.correct({ requestId: 'e3', question: 'q', answer: 'a', model: 'nope' }));
    assert.equal(e3.code, ErrorCodes.ModelNotLoaded);
    // The failed requestIds are free again.
    assert.equal((await c.correct({ requestId: 'e1', question: 'q', answer: 'a' })).finishReason, 'stop');
    await c.close();
  });
});

describe('shutdown', () => {
  test('close() closes every socket, cancels its requests and refuses new connections', async () => {
    const own = await startHarness();
    const c = await connectAligner(own.server.wsUrl, own.token);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const pending = c.correct({ requestId: 'sd', question: 'slow', answer: 'x' }, { onDelta: () => started() });
    pending.catch(() => {});
    await running;
    const closedEvent = new Promise<number>((r) => c.connection.onClose(() => r(1)));
    await own.close();
    await own.service.waitForAbort('sd');
    await closedEvent;
    await assert.rejects(connectAligner(own.server.wsUrl, own.token), AlignerConnectError);
  });
});
