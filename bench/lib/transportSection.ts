// Section 6: what the WebSocket JSON-RPC transport adds to a request: the same short correction
// through EngineHost directly and through startTransport + connectAligner on loopback, interleaved.
import { randomBytes } from 'node:crypto';
import { SAMPLE } from '../../server/cli/sample.js';
import { EngineHost } from '../../server/engine/host.js';
import { connectAligner } from '../../server/transport/client.js';
import { startTransport } from '../../server/transport/server.js';
import type { Bench } from './context.js';
import { fmt, others } from './report.js';
import { median } from './stats.js';

export interface TransportResult {
  model: string;
  reps: number;
  newTokens: number;
  directMs: number[];
  websocketMs: number[];
  sameText: boolean;
  otherLoadCores: number | null;
}

const NEW_TOKENS = 16;

export async function runTransportSection(bench: Bench, modelDir: string): Promise<TransportResult> {
  const host = new EngineHost({ threads: bench.settings.threads });
  await host.loadModel({ path: modelDir });
  const token = randomBytes(24).toString('base64url');
  const server = await startTransport({ service: host, token });
  const client = await connectAligner(server.wsUrl, token);
  const generation = { maxNewTokens: NEW_TOKENS, temperature: 0 };
  let n = 0;
  const direct = async () => {
    const t0 = performance.now();
    const r = await host.correct({ requestId: `d${n++}`, ...SAMPLE, generation }, { onDelta: () => {} });
    return [performance.now() - t0, r.text] as const;
  };
  const viaWs = async () => {
    const t0 = performance.now();
    const r = await client.correct({ requestId: `w${n++}`, ...SAMPLE, generation }, { onDelta: () => {} });
    return [performance.now() - t0, r.text] as const;
  };
  const directMs: number[] = [];
  const websocketMs: number[] = [];
  let sameText = true;
  try {
    const [, otherLoadCores] = await bench.withLoad(async () => {
      for (let i = -3; i < bench.settings.transportReps; i++) {
        // Alternate which goes first; the first 3 pairs warm up.
        const wsFirst = i % 2 === 0 ? await viaWs() : null;
        const d = await direct();
        const w = wsFirst ?? (await viaWs());
        sameText &&= d[1] === w[1];
        if (i < 0) continue;
        directMs.push(d[0]);
        websocketMs.push(w[0]);
      }
    });
    return {
      model: modelDir,
      reps: directMs.length,
      newTokens: NEW_TOKENS,
      directMs,
      websocketMs,
      sameText,
      otherLoadCores,
    };
  } finally {
    await client.close();
    await server.close();
    await host.close();
  }
}

export function renderTransport(bench: Bench, r: TransportResult): void {
  const [d, w] = [median(r.directMs), median(r.websocketMs)];
  const paired = median(r.websocketMs.map((x, i) => x - r.directMs[i]!));
  bench.report.table(
    '6. WebSocket JSON-RPC overhead per request',
    ['path', 'median ms', 'min ms'],
    [
      ['EngineHost.correct() directly', fmt(d, 2), fmt(Math.min(...r.directMs), 2)],
      ['JSON-RPC over WebSocket (loopback)', fmt(w, 2), fmt(Math.min(...r.websocketMs), 2)],
      ['difference (median of paired differences)', fmt(paired, 2), ''],
    ],
    [
      `The same greedy correction of the project's sample (${r.newTokens} new tokens, deltas streamed) on ${r.model}, ` +
        `${r.reps} pairs after 3 warm-up pairs, direct and WebSocket alternating which goes first; the WebSocket ` +
        `path includes JSON-RPC framing, schema validation, one delta notification per streamed piece and the token ` +
        `check (connection opened once). Same text both ways: ${r.sameText ? 'yes' : 'NO'}. others: ${others(r.otherLoadCores)} cores.`,
    ],
  );
}
