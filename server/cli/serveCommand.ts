// `aligner serve`: the engine behind the WebSocket JSON-RPC and OpenAI-compatible HTTP transports.
import { join } from 'node:path';
import type { Command } from 'commander';
import { EngineHost } from '../engine/host.js';
import { generateToken, writeTokenFile } from '../transport/auth.js';
import { startTransport } from '../transport/server.js';
import { TOKEN_FILE_NAME } from '../protocol/index.js';
import type { ExecutionProvider } from '../protocol/index.js';
import { epArg, intArg } from './options.js';
import { defaultModelDir, packageRoot, stateDir } from './paths.js';
import { JobManager } from '../jobs/jobManager.js';

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
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
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
    .action(async (flags: ServeFlags) => {
      const engine = new EngineHost({ threads: flags.threads, maxBatch: flags.maxBatch, maxQueue: flags.maxQueue });
      const token = generateToken();
      const tokenFile = flags.tokenFile ?? join(stateDir(), TOKEN_FILE_NAME);
      await writeTokenFile(tokenFile, token);
      const log = (level: 'info' | 'warn' | 'error', msg: string) => process.stderr.write(`[${level}] ${msg}\n`);
      const jobs = new JobManager({
        registryDir: flags.jobsDir ?? join(stateDir(), 'runs'),
        cliPath: join(packageRoot(), 'bin', 'aligner.js'),
        service: engine,
      });
      const server = await startTransport({
        service: engine,
        jobs,
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
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await server.close();
        await jobs.close();
        await engine.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // The server listens while the model loads, so health can report "loading".
      const modelDir = flags.model ?? defaultModelDir();
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
