// `aligner serve`: the engine behind the WebSocket JSON-RPC and OpenAI-compatible HTTP transports.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EngineHost } from '../engine/host.js';
import { generateToken, writeTokenFile } from '../transport/auth.js';
import { startTransport } from '../transport/server.js';
import { TOKEN_FILE_NAME } from '../protocol/index.js';
import type { ExecutionProvider } from '../protocol/index.js';
import { epArg, intArg } from './options.js';
import { addUpstreamFlags, loadChatModel, prepareUpstream, type UpstreamFlags } from './serveUpstream.js';
import { defaultModelDir, packageRoot, stateDir } from './paths.js';
import { openJobManager } from '../jobs/jobManager.js';
import { PathPolicy } from '../jobs/pathPolicy.js';

interface ServeFlags {
  model?: string;
  host: string;
  port: number;
  tokenFile?: string;
  threads?: number;
  ep?: ExecutionProvider;
  maxBatch?: number;
  maxQueue?: number;
  allowOrigin?: string[];
  maxPayload?: number;
  jobsDir?: string;
  allowRoot?: string[];
  allowKeyEnv?: string[];
  loadTimeout?: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerServeCommand(program: Command): void {
  addUpstreamFlags(program.command('serve'))
    .description('run the local inference server (WebSocket JSON-RPC at /rpc, OpenAI-compatible HTTP at /v1)')
    .option('--model <dir>', 'model folder to load (default: $ALIGNER_MODEL or the bundled models/default)')
    .option('--host <address>', 'address to bind; keep it loopback unless you know why', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', intArg, 8719)
    .option('--token-file <file>', `where to write the access token (default: <state dir>/${TOKEN_FILE_NAME})`)
    .option('--threads <n>', 'intra-op threads', intArg)
    .option('--ep <provider>', 'execution provider: cpu, cuda or webgpu', epArg)
    .option('--max-batch <n>', 'most requests decoded together', intArg)
    .option('--max-queue <n>', 'most requests waiting; more get an overload error', intArg)
    .option('--allow-origin <origin...>', 'extra browser origins allowed to open the WebSocket')
    .option('--max-payload <bytes>', 'largest WebSocket message or HTTP body', intArg)
    .option('--jobs-dir <dir>', 'run registry for training/export/eval jobs (default: <state dir>/runs)')
    .option(
      '--allow-root <dir>',
      'a folder whose files clients may name as data or models (repeatable; default: the current folder)',
      collect,
    )
    .option(
      '--allow-key-env <name>',
      'an environment variable eval jobs may use as an API key, besides *_API_KEY names (repeatable)',
      collect,
    )
    .option('--load-timeout <seconds>', 'a model load that takes longer fails (default 600)', intArg)
    .action(async (flags: ServeFlags & UpstreamFlags) => {
      const engine = new EngineHost({
        threads: flags.threads,
        maxBatch: flags.maxBatch,
        maxQueue: flags.maxQueue,
        ...(flags.loadTimeout ? { loadTimeoutMs: flags.loadTimeout * 1000 } : {}),
      });
      const token = generateToken();
      const tokenFile = flags.tokenFile ?? join(stateDir(), TOKEN_FILE_NAME);
      await writeTokenFile(tokenFile, token);
      const log = (level: 'info' | 'warn' | 'error', msg: string) => process.stderr.write(`[${level}] ${msg}\n`);
      const { service, proxy } = prepareUpstream(flags, engine, log);
      const modelDir = flags.model ?? defaultModelDir();
      const registryDir = flags.jobsDir ?? join(stateDir(), 'runs');
      const roots = (flags.allowRoot ?? [process.cwd()]).map((r) => resolve(r));
      // Inference does not need the registry: a read-only or broken one disables jobs, not the server.
      const { jobs, unavailable } = openJobManager({
        registryDir,
        cliPath: join(packageRoot(), 'bin', 'aligner.js'),
        service: engine,
        allowedRoots: roots,
        allowedKeyEnvs: flags.allowKeyEnv,
        log,
      });
      if (unavailable) log('warn', unavailable);
      const server = await startTransport({
        service,
        proxy,
        jobs: jobs ?? undefined,
        jobsUnavailable: unavailable ?? undefined,
        modelPaths: new PathPolicy([...roots, registryDir, join(packageRoot(), 'models'), modelDir]),
        host: flags.host,
        port: flags.port,
        token,
        allowedOrigins: flags.allowOrigin,
        maxPayloadBytes: flags.maxPayload,
        log,
      });
      // One JSON line on stdout tells a launcher (the extension, scripts) where to connect.
      process.stdout.write(
        JSON.stringify({
          event: 'listening',
          url: server.url,
          wsUrl: server.wsUrl,
          port: server.port,
          tokenFile,
          pid: process.pid,
        }) + '\n',
      );
      let stopping = false;
      const stop = async (code = 0) => {
        if (stopping) return;
        stopping = true;
        await server.close();
        await jobs?.close();
        await engine.close();
        process.exit(code);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
      // An engine that keeps dying cannot serve: exit, so whoever started us (the extension) restarts us.
      engine.onFatal((message) => {
        log('error', `${message}; exiting`);
        void stop(1);
      });
      await loadChatModel(flags, engine, log);
      // The server listens while the model loads, so health can report "loading".
      try {
        const model = await engine.loadModel({ path: modelDir, executionProvider: flags.ep });
        if (model.notice) log('warn', model.notice);
        log('info', `model ${model.id} ready (${model.modelType}, ${model.executionProvider})`);
        process.stdout.write(
          JSON.stringify({ event: 'ready', model: model.id, executionProvider: model.executionProvider }) + '\n',
        );
      } catch (err) {
        log('error', (err as Error).message);
        process.stdout.write(JSON.stringify({ event: 'model-error', message: (err as Error).message }) + '\n');
      }
    });
}
