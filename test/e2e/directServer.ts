// The expected correction, straight from the server over its protocol (no VS Code): the same model,
// question, answer, template and generation settings as the extension sends, greedy.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { connectAligner } from '../../server/transport/client.js';
import { HealthRequest, type CorrectResult } from '../../server/protocol/index.js';
import { ServerProcess, buildLaunchSpec } from '../../extension/serverProcess.js';
import { correctionOptions, type AlignerSettings } from '../../extension/config.js';

export interface DirectServer {
  correct(question: string, answer: string): Promise<string>;
  correctFull(question: string, answer: string): Promise<CorrectResult>;
  stop(): Promise<void>;
}

export async function startDirectServer(
  root: string,
  modelPath: string,
  settings: AlignerSettings,
  runDir: string,
): Promise<DirectServer> {
  const state = mkdtempSync(join(runDir, 'direct-'));
  const proc = new ServerProcess({
    info() {},
    warn: (m) => console.log(`[direct] ${m}`),
    error: (m) => console.log(`[direct] ${m}`),
  });
  const spec = buildLaunchSpec({
    nodePath: process.execPath,
    extensionRoot: root,
    modelPath,
    port: 0,
    tokenFile: join(state, 'server.token'),
    executionProvider: settings.executionProvider,
  });
  const ev = await proc.start(spec, 120_000, () => undefined);
  const { readFileSync } = await import('node:fs');
  const token = readFileSync(ev.tokenFile || join(state, 'server.token'), 'utf8').trim();
  const client = await connectAligner(ev.wsUrl, token, { client: { name: 'aligner-e2e', version: '0' } });
  // The server listens while the model loads.
  for (let i = 0; ; i++) {
    const h = await client.connection.sendRequest(HealthRequest, undefined);
    if (h.status === 'ready') break;
    if (h.status !== 'loading' || i > 1200)
      throw new Error(`direct server: model not ready (${h.status}: ${h.message})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const correctFull = (question: string, answer: string) =>
    client.correct({
      requestId: randomUUID(),
      question,
      answer,
      // What the extension sends: only the settings the user set (the model's aligner.json decides the rest).
      ...correctionOptions(settings),
    });
  return {
    correctFull,
    async correct(question, answer) {
      return (await correctFull(question, answer)).text;
    },
    async stop() {
      await client.close();
      await proc.stop();
    },
  };
}
