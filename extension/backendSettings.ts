// Settings for the bundled server's other models: the upstream LLM of the correcting proxy and a
// remote Aligner backend. Pure (no vscode). URLs and model names are settings, application scope
// only (a workspace must not send your text elsewhere); the API keys live in SecretStorage and
// reach the server as environment variables, never as arguments (which other processes can read).
import { TemplateNameSchema, type TemplateName } from '../server/protocol/index.js';

export interface BackendSettings {
  upstreamUrl: string;
  upstreamModel: string;
  remoteAlignerUrl: string;
  remoteAlignerModel: string;
  remoteAlignerTemplate: TemplateName | '';
}

export const BACKEND_KEYS = {
  upstreamUrl: 'upstream.url',
  upstreamModel: 'upstream.model',
  remoteAlignerUrl: 'remoteAligner.url',
  remoteAlignerModel: 'remoteAligner.model',
  remoteAlignerTemplate: 'remoteAligner.template',
} as const;

/** SecretStorage keys of the two API keys. */
export const SECRET_UPSTREAM_KEY = 'aligner.upstreamApiKey';
export const SECRET_REMOTE_ALIGNER_KEY = 'aligner.remoteAlignerApiKey';
/** The environment variables the bundled server reads them from (--upstream-key-env, --remote-aligner-key-env). */
export const UPSTREAM_KEY_ENV = 'ALIGNER_UPSTREAM_API_KEY';
export const REMOTE_ALIGNER_KEY_ENV = 'ALIGNER_REMOTE_ALIGNER_API_KEY';

function httpUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}

export function readBackendSettings(get: (key: string) => unknown): {
  settings: BackendSettings;
  problems: string[];
} {
  const problems: string[] = [];
  const text = (key: string) => {
    const v = get(key);
    return typeof v === 'string' ? v.trim() : '';
  };
  const url = (key: string) => {
    const v = text(key);
    if (v === '' || httpUrl(v)) return v;
    problems.push(`aligner.${key}: "${v}" is not an http(s) URL without credentials; ignored`);
    return '';
  };
  const settings: BackendSettings = {
    upstreamUrl: url(BACKEND_KEYS.upstreamUrl),
    upstreamModel: text(BACKEND_KEYS.upstreamModel),
    remoteAlignerUrl: url(BACKEND_KEYS.remoteAlignerUrl),
    remoteAlignerModel: text(BACKEND_KEYS.remoteAlignerModel),
    remoteAlignerTemplate: '',
  };
  const template = text(BACKEND_KEYS.remoteAlignerTemplate);
  if (template && TemplateNameSchema.safeParse(template).success)
    settings.remoteAlignerTemplate = template as TemplateName;
  else if (template) problems.push(`aligner.${BACKEND_KEYS.remoteAlignerTemplate}: unknown template "${template}"`);
  for (const [urlKey, modelKey] of [
    ['upstreamUrl', 'upstreamModel'],
    ['remoteAlignerUrl', 'remoteAlignerModel'],
  ] as const) {
    if (settings[urlKey] && !settings[modelKey]) {
      problems.push(`aligner.${BACKEND_KEYS[urlKey]} needs aligner.${BACKEND_KEYS[modelKey]}; ignored`);
      settings[urlKey] = '';
    }
  }
  return { settings, problems };
}

/** The `aligner serve` flags and environment for these settings and keys. */
export function backendLaunch(
  s: BackendSettings,
  keys: { upstream?: string; remoteAligner?: string },
): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  const env: Record<string, string> = {};
  if (s.upstreamUrl) {
    args.push('--upstream', s.upstreamUrl, '--upstream-model', s.upstreamModel);
    if (keys.upstream) {
      args.push('--upstream-key-env', UPSTREAM_KEY_ENV);
      env[UPSTREAM_KEY_ENV] = keys.upstream;
    }
  }
  if (s.remoteAlignerUrl) {
    args.push('--remote-aligner', s.remoteAlignerUrl, '--remote-aligner-model', s.remoteAlignerModel);
    if (s.remoteAlignerTemplate) args.push('--remote-aligner-template', s.remoteAlignerTemplate);
    if (keys.remoteAligner) {
      args.push('--remote-aligner-key-env', REMOTE_ALIGNER_KEY_ENV);
      env[REMOTE_ALIGNER_KEY_ENV] = keys.remoteAligner;
    }
  }
  return { args, env };
}
