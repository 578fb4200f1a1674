// The transport: one node:http server on one port, serving WebSocket JSON-RPC at WS_PATH and the
// OpenAI-compatible HTTP routes, with every request and upgrade behind the same guards.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WS_PATH } from '../protocol/index.js';
import type { AlignerService } from '../engine/api.js';
import type { JobService } from '../jobs/api.js';
import type { CorrectingProxy } from '../proxy/correctingProxy.js';
import type { PathPolicy } from '../jobs/pathPolicy.js';
import type { HealthResult } from '../protocol/index.js';
import { BEARER_SUBPROTOCOL_PREFIX, isValidTokenFormat } from './auth.js';
import type { Log } from './errors.js';
import { checkRequest, loopbackHosts, type GuardConfig, type Refusal } from './guards.js';
import { sendJson } from './httpUtil.js';
import { handleHttp } from './openaiHttp.js';
import { RpcSession } from './rpcSession.js';

export interface TransportOptions {
  service: AlignerService;
  /** Training/export/eval jobs; without it the jobs/* methods answer JobsUnavailable. */
  jobs?: JobService;
  /** Why there are no jobs (told with JobsUnavailable and in health), e.g. a read-only run registry. */
  jobsUnavailable?: string;
  /** Folders models/load may read from; without it any path is accepted (tests with fake engines). */
  modelPaths?: PathPolicy;
  /** Bind address; loopback by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Required on every request; see auth.ts. */
  token: string;
  /** Extra browser origins allowed to open the WebSocket (VS Code webviews are always allowed). */
  allowedOrigins?: string[];
  /** Largest WebSocket message and HTTP body accepted; default 4 MiB. */
  maxPayloadBytes?: number;
  /** `serve --upstream`: answers chat requests upstream and corrects them (server/proxy/). */
  proxy?: CorrectingProxy;
  log?: Log;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT/rpc */
  wsUrl: string;
  port: number;
  /** Closes every socket and cancels every in-flight request; does not close the service. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** Optional subprotocol a client may offer beside its bearer subprotocol; echoed when offered. */
export const WS_SUBPROTOCOL = 'aligner.jsonrpc';
/** How long close() waits for clients to answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 1000;

const defaultLog: Log = (level, msg) => {
  if (level !== 'info') console.error(`[aligner] ${level}: ${msg}`);
};

const errorBody = (type: string, code: string, message: string) => ({ error: { message, type, code, param: null } });

const refusalBody = (r: Refusal) =>
  errorBody(r.status === 401 ? 'authentication_error' : 'permission_error', r.code, r.message);

/** Answers an upgrade with a plain HTTP error before any WebSocket handshake happens. */
function refuseUpgrade(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startTransport(opts: TransportOptions): Promise<RunningServer> {
  // An empty or weak token would silently turn authentication off.
  if (!isValidTokenFormat(opts.token)) throw new Error('startTransport: token must be 16+ base64url characters');
  const { service } = opts;
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? defaultLog;
  const maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const allowedOrigins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/+$/, '')));
  const startedAt = Math.floor(Date.now() / 1000);

  const jobsHealth = opts.jobs
    ? { available: true, message: null }
    : { available: false, message: opts.jobsUnavailable ?? 'this server was started without a job manager' };
  const health = (): HealthResult => ({ ...service.health(), jobs: jobsHealth });
  const sessions = new Map<WebSocket, RpcSession>();
  const httpControllers = new Set<AbortController>();
  // allowedHosts needs the port, known once listening (before any request can arrive).
  const guard: GuardConfig = { allowedHosts: new Set(), allowedOrigins, token: opts.token };
  let closing: Promise<void> | undefined;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    // Browsers fail the handshake unless one offered subprotocol is echoed back.
    handleProtocols: (protocols) => {
      if (protocols.has(WS_SUBPROTOCOL)) return WS_SUBPROTOCOL;
      for (const p of protocols) if (p.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return p;
      return false;
    },
  });

  const refused = (kind: string, req: IncomingMessage, r: Refusal) =>
    log('warn', `refused ${kind} from ${req.socket.remoteAddress ?? '?'}: ${r.code}`);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const refusal = checkRequest(req, guard, false);
    if (refusal) {
      refused('HTTP request', req, refusal);
      sendJson(
        res,
        refusal.status,
        refusalBody(refusal),
        refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {},
      );
      return;
    }
    void handleHttp(req, res, {
      service,
      health,
      log,
      maxPayloadBytes,
      startedAt,
      proxy: opts.proxy,
      track: (c) => {
        httpControllers.add(c);
        return () => httpControllers.delete(c);
      },
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {}); // a peer resetting mid-handshake is not our crash
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const refusal = checkRequest(req, guard, true);
    if (refusal) {
      refused('WebSocket upgrade', req, refusal);
      return refuseUpgrade(socket, refusal.status, refusalBody(refusal));
    }
    if (path !== WS_PATH)
      return refuseUpgrade(socket, 404, errorBody('invalid_request_error', 'not_found', 'Not found'));
    if (closing) return refuseUpgrade(socket, 503, errorBody('server_error', 'closing', 'Server is shutting down'));
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A handshake that completes after close() began is not in close()'s list; end it here.
      if (closing) return ws.close(1001, 'server shutting down');
      // e.g. a frame over maxPayload: ws closes with 1009 and reports it here.
      ws.on('error', (error) => log('warn', `websocket error: ${error.message}`));
      const session = new RpcSession(ws, service, log, opts.jobs ?? null, {
        jobsUnavailable: opts.jobsUnavailable,
        modelPaths: opts.modelPaths,
        health,
      });
      sessions.set(ws, session);
      ws.once('close', () => {
        session.dispose();
        sessions.delete(ws);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log('error', `http server error: ${error.message}`));
  const port = (server.address() as AddressInfo).port;
  guard.allowedHosts = loopbackHosts(port, host);

  const base = `${urlHost(host)}:${port}`;
  log('info', `listening on http://${base} (WebSocket at ${WS_PATH})`);

  async function shutdown(): Promise<void> {
    for (const c of httpControllers) c.abort();
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    const socketsClosed = [...sessions].map(
      ([ws, session]) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          session.dispose();
          ws.close(1001, 'server shutting down');
        }),
    );
    const grace = setTimeout(() => {
      for (const ws of sessions.keys()) ws.terminate();
    }, CLOSE_GRACE_MS);
    await Promise.all(socketsClosed);
    clearTimeout(grace);
    server.closeAllConnections();
    await serverClosed;
    wss.close();
  }

  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}${WS_PATH}`,
    port,
    close: () => (closing ??= shutdown()),
  };
}
