// Admission checks shared by HTTP requests and WebSocket upgrades: Host (against DNS rebinding),
// Origin (web pages can reach localhost; WebSockets bypass CORS), then the bearer token.
import type { IncomingMessage } from 'node:http';
import { extractToken, rawHeaderValues, tokensEqual } from './auth.js';

export interface GuardConfig {
  /** The exact Host values accepted, lower-case, e.g. `127.0.0.1:8123`. */
  allowedHosts: ReadonlySet<string>;
  /** Origins accepted in addition to VS Code's own (compared lower-case, exactly). */
  allowedOrigins: ReadonlySet<string>;
  token: string;
}

export interface Refusal {
  status: 401 | 403;
  /** Short machine-readable reason, safe to send and to log (never contains the token). */
  code: 'invalid_host' | 'invalid_origin' | 'invalid_api_key';
  message: string;
}

/** Host values that name this server over loopback, for a given port. */
export function loopbackHosts(port: number, extraHost?: string): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  // A non-wildcard bind address is also a legitimate name for this server.
  if (extraHost && extraHost !== '0.0.0.0' && extraHost !== '::') {
    hosts.add(`${extraHost.includes(':') ? `[${extraHost}]` : extraHost}:${port}`.toLowerCase());
  }
  return hosts;
}

// VS Code's own webviews and workbench; a web page cannot claim these schemes.
const VSCODE_WEBVIEW_RE = /^vscode-webview:\/\/[a-z0-9.-]+$/;
const VSCODE_APP = 'vscode-file://vscode-app';

export function isOriginAllowed(origin: string, allowed: ReadonlySet<string>): boolean {
  const o = origin.toLowerCase();
  if (o === 'null') return false; // sandboxed iframes, file: pages, redirects: never trusted
  return VSCODE_WEBVIEW_RE.test(o) || o === VSCODE_APP || allowed.has(o);
}

/** Returns why the request must be refused, or null when it may proceed. */
export function checkRequest(req: IncomingMessage, config: GuardConfig, isUpgrade: boolean): Refusal | null {
  const hosts = rawHeaderValues(req.rawHeaders, 'host');
  if (hosts.length !== 1 || !config.allowedHosts.has(hosts[0].toLowerCase())) {
    return { status: 403, code: 'invalid_host', message: 'Host header is not a loopback address of this server' };
  }
  const origins = rawHeaderValues(req.rawHeaders, 'origin');
  if (origins.length > 1 || (origins.length === 1 && !isOriginAllowed(origins[0], config.allowedOrigins))) {
    return { status: 403, code: 'invalid_origin', message: 'Origin not allowed' };
  }
  const extracted = extractToken(req.rawHeaders, isUpgrade);
  if (!extracted.ok) return { status: 401, code: 'invalid_api_key', message: `Unauthorized: ${extracted.reason}` };
  if (!tokensEqual(config.token, extracted.token)) {
    return { status: 401, code: 'invalid_api_key', message: 'Unauthorized: wrong bearer token' };
  }
  return null;
}
