// Which files a client may name. Paths in jobs/* and models/load come over the wire from any token
// holder, so they are confined to the folders the user gave the server (workspace, data and model
// roots, the run registry): "/etc/shadow" is not eval data. Symlinks are resolved before the check,
// and the resolved path is what the job or the engine then opens.
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ErrorCodes } from '../protocol/index.js';
import { EngineError } from '../engine/api.js';

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

export class PathPolicy {
  /** Real paths of the allowed folders (those that exist). */
  readonly roots: string[];

  constructor(roots: Iterable<string>) {
    this.roots = [...new Set([...roots].map((r) => real(resolve(r))).filter((r): r is string => r !== null))];
  }

  /** The real path of `path` when it exists inside an allowed folder; an InvalidParams error otherwise. */
  confine(path: string, what: string): string {
    const resolved = real(resolve(path));
    if (resolved === null) throw new EngineError(ErrorCodes.InvalidParams, `${what} ${path} does not exist`);
    if (!this.roots.some((root) => inside(root, resolved))) {
      throw new EngineError(
        ErrorCodes.InvalidParams,
        `${what} ${path} is outside the folders this server may read (${this.roots.join(', ') || 'none'}); ` +
          'start the server with --allow-root to add one',
        { roots: this.roots },
      );
    }
    return resolved;
  }
}

/** API-key variables a job may name when the user listed none: the conventional *_API_KEY. */
export const CONVENTIONAL_KEY_ENV = /^[A-Z][A-Z0-9_]*_API_KEY$/;

/** Whether a job may read environment variable `name` as an API key (never HOME, PATH, …). */
export function keyEnvAllowed(name: string, allowed: ReadonlySet<string>): boolean {
  return allowed.has(name) || CONVENTIONAL_KEY_ENV.test(name);
}

/** Only http(s) endpoints: no file:, data: or other schemes reach the eval's HTTP client. */
export function checkEndpoint(url: string, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EngineError(ErrorCodes.InvalidParams, `${what} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EngineError(ErrorCodes.InvalidParams, `${what} must be an http:// or https:// URL`);
  }
  if (parsed.username || parsed.password) {
    throw new EngineError(ErrorCodes.InvalidParams, `${what} must not carry credentials; name a key variable instead`);
  }
}
