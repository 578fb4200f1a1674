// `aligner serve` flags that put other models beside the local Aligner: a chat model served with its
// own chat template (--chat-model), an upstream LLM whose answers are corrected (--upstream), and
// a remote Aligner behind an OpenAI-compatible /v1/completions endpoint (--remote-aligner).
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { AlignerService } from '../engine/api.js';
import type { EngineHost } from '../engine/host.js';
import type { ExecutionProvider, TemplateName } from '../protocol/index.js';
import { CorrectingProxy } from '../proxy/correctingProxy.js';
import { DEFAULT_UPSTREAM_RETRIES, DEFAULT_UPSTREAM_TIMEOUT_MS, UpstreamClient } from '../proxy/upstreamClient.js';
import { RemoteAligner } from '../engine/remoteAligner.js';
import { ModelRouter } from '../engine/modelRouter.js';
import type { Log } from '../transport/errors.js';
import { intArg, templateArg } from './options.js';

export interface UpstreamFlags {
  chatModel?: string;
  chatModelId?: string;
  chatTemplate?: string;
  upstream?: string;
  upstreamModel?: string;
  upstreamKeyEnv?: string;
  upstreamTimeout?: number;
  upstreamRetries?: number;
  remoteAligner?: string;
  remoteAlignerModel?: string;
  remoteAlignerKeyEnv?: string;
  remoteAlignerTemplate?: TemplateName;
  remoteAlignerId?: string;
  ep?: ExecutionProvider;
}

const envName = (value: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value)) throw new InvalidArgumentError('not an environment variable name');
  return value;
};

const httpUrl = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be http(s)://');
  return value;
};

export function addUpstreamFlags(cmd: Command): Command {
  return cmd
    .option('--chat-model <dir>', 'also serve this instruct model with its own chat template (role "chat")')
    .option('--chat-model-id <id>', 'id of the chat model (default: its folder name)')
    .option('--chat-template <file>', 'Jinja chat template for a chat model whose folder has none')
    .option(
      '--upstream <url>',
      'correcting proxy: answer chat requests with this OpenAI-compatible endpoint (…/v1)',
      httpUrl,
    )
    .option('--upstream-model <name>', 'model name to ask the upstream for')
    .option('--upstream-key-env <var>', 'environment variable holding the upstream API key', envName)
    .option('--upstream-timeout <ms>', `upstream wait per attempt (default ${DEFAULT_UPSTREAM_TIMEOUT_MS})`, intArg)
    .option('--upstream-retries <n>', `upstream retries (default ${DEFAULT_UPSTREAM_RETRIES})`, intArg)
    .option(
      '--remote-aligner <url>',
      'an Aligner served by an OpenAI-compatible /v1/completions endpoint (vLLM, TGI…)',
      httpUrl,
    )
    .option('--remote-aligner-model <name>', 'the remote Aligner’s model name at that endpoint')
    .option('--remote-aligner-key-env <var>', 'environment variable holding its API key', envName)
    .option('--remote-aligner-template <name>', 'its prompt template: correction, v1.0 or revision', templateArg)
    .option('--remote-aligner-id <id>', 'its id here (default: "remote-" + the model name)');
}

/** A key named by flag: the variable must be set (an unset one is a mistake, not "no key"). */
function readKey(variable: string | undefined, what: string): string | undefined {
  if (variable === undefined) return undefined;
  const key = process.env[variable];
  if (!key) throw new Error(`environment variable ${variable} (the API key for ${what}) is not set`);
  return key;
}

/**
 * The service the transports use (local engine, plus a remote Aligner when asked, which then is
 * the default) and the correcting proxy when --upstream is given. Throws on inconsistent flags.
 */
export function prepareUpstream(
  flags: UpstreamFlags,
  engine: EngineHost,
  log: Log,
): { service: AlignerService; proxy?: CorrectingProxy } {
  let service: AlignerService = engine;
  if (flags.remoteAligner) {
    if (!flags.remoteAlignerModel) throw new Error('--remote-aligner needs --remote-aligner-model');
    const remote = new RemoteAligner({
      id: flags.remoteAlignerId ?? `remote-${flags.remoteAlignerModel}`,
      url: flags.remoteAligner,
      model: flags.remoteAlignerModel,
      key: readKey(flags.remoteAlignerKeyEnv, '--remote-aligner'),
      ...(flags.remoteAlignerTemplate ? { template: flags.remoteAlignerTemplate } : {}),
    });
    service = new ModelRouter(engine, [remote], remote.id);
    log('info', `remote Aligner ${remote.id} at ${remote.origin}`);
  }
  if (!flags.upstream) {
    if (flags.upstreamModel || flags.upstreamKeyEnv)
      throw new Error('--upstream-model/--upstream-key-env need --upstream');
    return { service };
  }
  if (!flags.upstreamModel) throw new Error('--upstream needs --upstream-model');
  if (flags.upstreamTimeout !== undefined && flags.upstreamTimeout < 1)
    throw new Error('--upstream-timeout must be ≥ 1 ms');
  if (flags.upstreamRetries !== undefined && (flags.upstreamRetries < 0 || flags.upstreamRetries > 10)) {
    throw new Error('--upstream-retries must be 0-10');
  }
  const upstream = new UpstreamClient({
    url: flags.upstream,
    model: flags.upstreamModel,
    key: readKey(flags.upstreamKeyEnv, '--upstream'),
    timeoutMs: flags.upstreamTimeout,
    retries: flags.upstreamRetries,
  });
  log('info', `correcting proxy: chat requests go to ${upstream.origin} (model ${upstream.model})`);
  return { service, proxy: new CorrectingProxy({ upstream, service, log }) };
}

/** Loads --chat-model (role "chat") and says so on stdout, as the Aligner's load does. */
export async function loadChatModel(flags: UpstreamFlags, engine: EngineHost, log: Log): Promise<void> {
  if (!flags.chatModel) return;
  try {
    const model = await engine.loadModel({
      path: resolve(flags.chatModel),
      id: flags.chatModelId ?? basename(resolve(flags.chatModel)),
      role: 'chat',
      executionProvider: flags.ep,
      ...(flags.chatTemplate ? { chatTemplatePath: resolve(flags.chatTemplate) } : {}),
    });
    if (model.notice) log('warn', model.notice);
    log('info', `chat model ${model.id} ready (${model.modelType}, ${model.executionProvider})`);
    process.stdout.write(JSON.stringify({ event: 'chat-model-ready', model: model.id }) + '\n');
  } catch (err) {
    log('error', (err as Error).message);
    process.stdout.write(JSON.stringify({ event: 'model-error', message: (err as Error).message }) + '\n');
  }
}
