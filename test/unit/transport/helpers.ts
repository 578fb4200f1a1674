// Shared test plumbing: a running transport over a FakeService, raw WebSocket and HTTP clients.
import { request } from 'node:http';
import WebSocket from 'ws';
import { startTransport, type RunningServer, type TransportOptions } from '../../../server/transport/server.js';
import { generateToken } from '../../../server/transport/auth.js';
import type { AlignerService } from '../../../server/engine/api.js';
import { FakeService } from './fakeService.js';

/** Parsed wire JSON; tests assert on it field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Harness {
  server: RunningServer;
  service: FakeService;
  token: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startHarness(
  extra: Partial<TransportOptions> = {},
  service: AlignerService = new FakeService(),
): Promise<Harness> {
  const token = generateToken();
  const logs: string[] = [];
  const server = await startTransport({
    service,
    token,
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    ...extra,
  });
  return { server, service: service as FakeService, token, logs, close: () => server.close() };
}

/** A WebSocket speaking raw frames, with an awaitable queue of the parsed messages it receives. */
export class RawClient {
  private readonly queue: unknown[] = [];
  private readonly waiters: Array<(m: unknown) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const msg: unknown = JSON.parse(isBinary ? '"<binary>"' : data.toString());
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.queue.push(msg);
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static open(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('error', reject);
    });
  }

  next(): Promise<Json> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  }

  /** Sends a request and waits for the message with its id (skipping notifications). */
  async call(id: number | string, method: string, params?: unknown): Promise<Json> {
    this.send({ id, method, ...(params !== undefined ? { params } : {}) });
    for (;;) {
      const m = await this.next();
      if (m.id === id) return m;
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** Status of a refused WebSocket upgrade (the server answers with plain HTTP before the handshake). */
export function upgradeStatus(
  url: string,
  options: WebSocket.ClientOptions = {},
  protocols?: string[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      req.destroy();
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgrade was accepted'));
    });
    ws.on('error', (e) => reject(e));
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Json;
}

/** node:http rather than fetch: tests need to send Host and repeated headers that fetch forbids. */
export function httpRequest(
  baseUrl: string,
  opts: {
    method?: string;
    path: string;
    headers?: Record<string, string | string[]>;
    rawHeaders?: string[];
    body?: string | Buffer;
  },
): Promise<HttpResult> {
  const url = new URL(opts.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: opts.method ?? 'GET',
        // rawHeaders (flat [name, value, ...]) lets a test repeat a header verbatim.
        headers: opts.rawHeaders ?? opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function authHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

/** Parses an SSE body into its `data:` payloads. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => {
      if (!block.startsWith('data: ')) throw new Error(`not an SSE data line: ${block}`);
      return block.slice('data: '.length);
    });
}
