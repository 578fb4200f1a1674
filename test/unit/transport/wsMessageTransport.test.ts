// The WebSocket reader/writer adapters over an in-memory socket (no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from 'vscode-jsonrpc';
import {
  InvalidMessageError,
  parseJsonRpcMessage,
  WebSocketMessageReader,
  WebSocketMessageWriter,
  type WebSocketEventLike,
  type WebSocketLike,
} from '../../../server/transport/wsMessageTransport.js';

class MemorySocket implements WebSocketLike {
  readyState = 1;
  sent: string[] = [];
  private listeners = new Map<string, Set<(e: WebSocketEventLike) => void>>();
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.emit('close', { type: 'close' });
  }
  addEventListener(type: string, l: (e: WebSocketEventLike) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: (e: WebSocketEventLike) => void) {
    this.listeners.get(type)?.delete(l);
  }
  emit(type: string, e: WebSocketEventLike) {
    for (const l of this.listeners.get(type) ?? []) l(e);
  }
}

test('parseJsonRpcMessage accepts requests, notifications and responses', () => {
  for (const m of [
    { jsonrpc: '2.0', id: 1, method: 'health' },
    { jsonrpc: '2.0', id: 'a', method: 'x', params: { a: 1 } },
    { jsonrpc: '2.0', method: 'n', params: [1] },
    { jsonrpc: '2.0', id: 1, result: null },
    { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'x' } },
  ]) {
    assert.deepEqual(parseJsonRpcMessage(JSON.stringify(m)), m);
  }
  // null params are tolerated as "no params"
  assert.deepEqual(parseJsonRpcMessage('{"jsonrpc":"2.0","id":1,"method":"h","params":null}'), {
    jsonrpc: '2.0',
    id: 1,
    method: 'h',
  });
});

test('parseJsonRpcMessage reports parse errors and invalid requests with the id when readable', () => {
  const cases: Array<[unknown, number, string | number | null]> = [
    ['{', -32700, null],
    [Buffer.from('{}'), -32700, null],
    ['[]', -32600, null],
    ['42', -32600, null],
    ['{"jsonrpc":"2.0","id":3,"method":true}', -32600, 3],
    ['{"jsonrpc":"2.1","id":"z","method":"a"}', -32600, 'z'],
    ['{"jsonrpc":"2.0","id":4}', -32600, 4],
    ['{"jsonrpc":"2.0","method":"$/cancelRequest","params":{}}', -32600, null],
  ];
  for (const [data, code, id] of cases) {
    const r = parseJsonRpcMessage(data);
    assert.ok(r instanceof InvalidMessageError, String(data));
    assert.equal(r.code, code, String(data));
    assert.equal(r.id, id, String(data));
  }
});

test('reader buffers frames until listen, survives a throwing callback, and reports close', async () => {
  const socket = new MemorySocket();
  const reader = new WebSocketMessageReader(socket);
  const errors: Error[] = [];
  reader.onError((e) => errors.push(e));
  let closed = false;
  reader.onClose(() => (closed = true));
  socket.emit('message', { type: 'message', data: '{"jsonrpc":"2.0","method":"a"}' });
  socket.emit('message', { type: 'message', data: 'nope' });
  const got: Message[] = [];
  reader.listen((m) => {
    got.push(m);
    if ((m as { method?: string }).method === 'boom') throw new Error('handler bug');
  });
  assert.deepEqual(got, [{ jsonrpc: '2.0', method: 'a' }]);
  assert.ok(errors[0] instanceof InvalidMessageError);
  socket.emit('message', { type: 'message', data: '{"jsonrpc":"2.0","method":"boom"}' });
  assert.equal(errors[1].message, 'handler bug');
  socket.close();
  assert.ok(closed);
  reader.dispose();
});

test('writer sends one frame per message and refuses once the socket is closed', async () => {
  const socket = new MemorySocket();
  const writer = new WebSocketMessageWriter(socket);
  await writer.write({ jsonrpc: '2.0', method: 'a' } as Message);
  assert.deepEqual(socket.sent, ['{"jsonrpc":"2.0","method":"a"}']);
  socket.readyState = 3;
  await assert.rejects(writer.write({ jsonrpc: '2.0', method: 'b' } as Message), /not open/);
});
