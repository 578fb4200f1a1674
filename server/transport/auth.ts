// The per-launch bearer token: generation, the 0600 token file, and constant-time checking.
// The token is a secret: nothing here (or anywhere in the transport) logs it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/** Prefix of the Sec-WebSocket-Protocol entry that carries the token (browsers cannot set headers). */
export const BEARER_SUBPROTOCOL_PREFIX = 'aligner.bearer.';

/** Tokens are base64url, as generated below; other characters could smuggle header syntax. */
const TOKEN_RE = /^[A-Za-z0-9_-]{16,512}$/;

export function isValidTokenFormat(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** 32 random bytes, base64url: 43 characters, safe in headers and subprotocol names. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Writes the token to `path` readable by the owner only. The file is created with mode 0600 (a
 * fresh temporary file, then renamed over the target) so it is never readable by others, not
 * even briefly, and an older file with looser permissions is replaced rather than reused.
 */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  if (!isValidTokenFormat(token)) throw new Error('refusing to write a malformed token');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Reads a token written by writeTokenFile. */
export async function readTokenFile(path: string): Promise<string> {
  const token = (await readFile(path, 'utf8')).trim();
  if (!isValidTokenFormat(token)) throw new Error(`token file ${path} does not hold a valid token`);
  return token;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: equal-length digests, so neither content nor length leaks. */
export function tokensEqual(expected: string, candidate: string): boolean {
  return timingSafeEqual(digest(expected), digest(candidate));
}

/** Header values by lower-case name, from rawHeaders so that repeated headers stay visible. */
export function rawHeaderValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1]);
  }
  return out;
}

export type TokenExtraction = { ok: true; token: string } | { ok: false; reason: string };

const BEARER_RE = /^Bearer +([A-Za-z0-9_-]+) *$/i;

/**
 * Finds the one token a request carries: an `Authorization: Bearer` header or, on a WebSocket
 * upgrade, an `aligner.bearer.<token>` subprotocol. Zero or more than one is refused; Node keeps
 * only the first of repeated Authorization headers in `headers`, hence rawHeaders.
 */
export function extractToken(rawHeaders: string[], allowSubprotocol: boolean): TokenExtraction {
  const found: string[] = [];
  for (const value of rawHeaderValues(rawHeaders, 'authorization')) {
    const m = BEARER_RE.exec(value);
    if (!m) return { ok: false, reason: 'malformed Authorization header' };
    found.push(m[1]);
  }
  if (allowSubprotocol) {
    for (const header of rawHeaderValues(rawHeaders, 'sec-websocket-protocol')) {
      for (const p of header.split(',')) {
        const name = p.trim();
        if (name.startsWith(BEARER_SUBPROTOCOL_PREFIX)) found.push(name.slice(BEARER_SUBPROTOCOL_PREFIX.length));
      }
    }
  }
  if (found.length === 0) return { ok: false, reason: 'missing bearer token' };
  if (found.length > 1) return { ok: false, reason: 'bearer token sent more than once' };
  return { ok: true, token: found[0] };
}
