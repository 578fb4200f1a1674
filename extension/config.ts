// Settings: their defaults and validation. Pure (no vscode): the caller passes a getter over the
// `aligner.*` configuration. Ranges come from the protocol's schemas, so the extension never
// accepts a value the server would refuse. A bad value falls back to its default with a message.
import {
  ExecutionProviderSchema,
  GenerationOptionsSchema,
  TemplateNameSchema,
  WS_PATH,
  type ExecutionProvider,
  type GenerationOptions,
  type TemplateName,
} from '../server/protocol/index.js';
import type { Granularity } from './review/hunks.js';

export type ServerMode = 'bundled' | 'external';

export interface AlignerSettings {
  serverMode: ServerMode;
  /** WebSocket URL of an external server (validated and normalised to ws(s)://host:port/rpc). */
  serverUrl: string;
  serverPort: number;
  /** Model folder; empty means the bundled default model. */
  modelPath: string;
  executionProvider: ExecutionProvider;
  template: TemplateName;
  generation: Required<Pick<GenerationOptions, 'maxNewTokens' | 'temperature' | 'topP' | 'topK' | 'repetitionPenalty'>>;
  diffGranularity: Granularity;
  /** Node executable for the bundled server; empty means VS Code's own runtime. */
  nodePath: string;
  /** Opt-in: each finished review appends a training row to reviews.jsonl in global storage. */
  recordReviews: boolean;
  /**
   * The template and generation settings the user actually set: only these travel with a request,
   * so a model's own aligner.json (its trained template, its defaults) is not overridden by ours.
   */
  overrides: { template?: TemplateName; generation: GenerationOptions };
}

export const DEFAULT_SETTINGS: AlignerSettings = {
  serverMode: 'bundled',
  serverUrl: '',
  serverPort: 0,
  modelPath: '',
  executionProvider: 'cpu',
  template: 'correction',
  // Greedy by default: a correction should be reproducible.
  generation: { maxNewTokens: 1024, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 },
  diffGranularity: 'word',
  nodePath: '',
  recordReviews: false,
  overrides: { generation: {} },
};

/** The template and generation options a correction request carries: only what the user set. */
export function correctionOptions(s: AlignerSettings): { template?: TemplateName; generation?: GenerationOptions } {
  return {
    ...(s.overrides.template ? { template: s.overrides.template } : {}),
    ...(Object.keys(s.overrides.generation).length ? { generation: { ...s.overrides.generation } } : {}),
  };
}

/** Setting keys under the `aligner` section, shared with package.json's contributes.configuration. */
export const KEYS = {
  serverMode: 'server.mode',
  serverUrl: 'server.url',
  serverPort: 'server.port',
  nodePath: 'server.nodePath',
  modelPath: 'model.path',
  executionProvider: 'executionProvider',
  template: 'template',
  maxNewTokens: 'generation.maxNewTokens',
  temperature: 'generation.temperature',
  topP: 'generation.topP',
  topK: 'generation.topK',
  repetitionPenalty: 'generation.repetitionPenalty',
  diffGranularity: 'diff.granularity',
  recordReviews: 'learning.recordReviews',
} as const;

type Issue = { message: string };
type Check<T> = (v: unknown) => { ok: true; value: T } | { ok: false; why: string };

function fromSchema<T>(schema: {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } };
}): Check<T> {
  return (v) => {
    const r = schema.safeParse(v);
    return r.success
      ? { ok: true, value: r.data }
      : { ok: false, why: r.error.issues.map((i) => i.message).join('; ') };
  };
}

function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v) =>
    typeof v === 'string' && (values as readonly string[]).includes(v)
      ? { ok: true, value: v as T }
      : { ok: false, why: `expected one of ${values.map((x) => `"${x}"`).join(', ')}` };
}

const str: Check<string> = (v) =>
  typeof v === 'string' ? { ok: true, value: v.trim() } : { ok: false, why: 'expected a string' };

const bool: Check<boolean> = (v) =>
  typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, why: 'expected true or false' };

const port: Check<number> = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535
    ? { ok: true, value: v }
    : { ok: false, why: 'expected an integer from 0 to 65535' };

/** Accepts ws://, wss://, http:// or https:// URLs; http(s) become ws(s) and an empty path becomes /rpc. */
export function normaliseServerUrl(raw: string): { ok: true; value: string } | { ok: false; why: string } {
  if (raw === '') return { ok: true, value: '' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, why: 'not a valid URL (example: ws://127.0.0.1:8765/rpc)' };
  }
  const proto = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }[url.protocol];
  if (!proto)
    return { ok: false, why: `unsupported scheme "${url.protocol}" (use ws://, wss://, http:// or https://)` };
  if (url.username || url.password)
    return { ok: false, why: 'put the token in "Aligner: Set External Server Token", not in the URL' };
  url.protocol = proto;
  if (url.pathname === '/' || url.pathname === '') url.pathname = WS_PATH;
  return { ok: true, value: url.toString() };
}

const gen = GenerationOptionsSchema.shape;

/**
 * `get` reads a setting's effective value; `isSet` says whether the user set it (in any scope) rather
 * than it coming from the defaults. Without `isSet`, a value `get` returns counts as set.
 */
export function validateSettings(
  get: (key: string) => unknown,
  isSet: (key: string) => boolean = (key) => get(key) !== undefined && get(key) !== null,
): { settings: AlignerSettings; problems: string[] } {
  const problems: string[] = [];
  const chosen = new Set<string>();
  function read<T>(key: string, check: Check<T>, fallback: T): T {
    const raw = get(key);
    if (raw === undefined || raw === null) return fallback;
    const r = check(raw);
    if (r.ok) {
      if (isSet(key)) chosen.add(key);
      return r.value;
    }
    problems.push(
      `Setting "aligner.${key}" = ${JSON.stringify(raw)} is invalid (${r.why}); using ${JSON.stringify(fallback)}.`,
    );
    return fallback;
  }
  const d = DEFAULT_SETTINGS;
  const settings: AlignerSettings = {
    serverMode: read(KEYS.serverMode, oneOf(['bundled', 'external'] as const), d.serverMode),
    serverUrl: read(
      KEYS.serverUrl,
      (v) => (typeof v === 'string' ? normaliseServerUrl(v.trim()) : { ok: false, why: 'expected a string' }),
      d.serverUrl,
    ),
    serverPort: read(KEYS.serverPort, port, d.serverPort),
    nodePath: read(KEYS.nodePath, str, d.nodePath),
    modelPath: read(KEYS.modelPath, str, d.modelPath),
    executionProvider: read(KEYS.executionProvider, fromSchema(ExecutionProviderSchema), d.executionProvider),
    template: read(KEYS.template, fromSchema(TemplateNameSchema), d.template),
    generation: {
      maxNewTokens: read(KEYS.maxNewTokens, fromSchema(gen.maxNewTokens.unwrap()), d.generation.maxNewTokens),
      temperature: read(KEYS.temperature, fromSchema(gen.temperature.unwrap()), d.generation.temperature),
      topP: read(KEYS.topP, fromSchema(gen.topP.unwrap()), d.generation.topP),
      topK: read(KEYS.topK, fromSchema(gen.topK.unwrap()), d.generation.topK),
      repetitionPenalty: read(
        KEYS.repetitionPenalty,
        fromSchema(gen.repetitionPenalty.unwrap()),
        d.generation.repetitionPenalty,
      ),
    },
    diffGranularity: read(KEYS.diffGranularity, oneOf(['word', 'line'] as const), d.diffGranularity),
    recordReviews: read(KEYS.recordReviews, bool, d.recordReviews),
    overrides: { generation: {} },
  };
  if (chosen.has(KEYS.template)) settings.overrides.template = settings.template;
  const g = settings.generation;
  const generationKeys = [
    [KEYS.maxNewTokens, 'maxNewTokens'],
    [KEYS.temperature, 'temperature'],
    [KEYS.topP, 'topP'],
    [KEYS.topK, 'topK'],
    [KEYS.repetitionPenalty, 'repetitionPenalty'],
  ] as const;
  for (const [key, field] of generationKeys) if (chosen.has(key)) settings.overrides.generation[field] = g[field];
  if (settings.serverMode === 'external' && !settings.serverUrl) {
    problems.push(
      'Setting "aligner.server.mode" is "external" but "aligner.server.url" is empty; using the bundled server.',
    );
    settings.serverMode = 'bundled';
  }
  return { settings, problems };
}
