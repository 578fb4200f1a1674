// One process of bench/settings.bench.ts: copy bandwidth, then batch-1 and batch-16 decode of one
// model folder at one context, under whatever process settings (huge pages, spinning) it was started
// with. Prints one JSON line. Run as: node --import tsx bench/lib/settingsProbe.ts DIR CONTEXT THREADS
import { hugePagesActive } from '../../server/platform/processEnv.js';
import { spinningEnabled } from '../../server/engine/session.js';
import { measureParallelCopy } from './bandwidth.js';
import { openBackend, prefillSeed, seededSlots, timeDecode } from './kvDecode.js';
import { median } from './stats.js';

const [dir, contextArg, threadsArg] = process.argv.slice(2);
const context = Number(contextArg);
const threads = Number(threadsArg);
const copyGBs = await measureParallelCopy(threads, 512, 3);
const { backend, spec } = await openBackend(dir!, threads);
const seed = await prefillSeed(backend, spec, 256, context);
const decodeMs: Record<string, number> = {};
for (const rows of [1, 16]) {
  const t = await timeDecode(backend, seededSlots(backend, seed, rows, context), {
    budgetMs: 1500,
    minSteps: 4,
    maxSteps: 16,
  });
  decodeMs[`b${rows}`] = median(t.stepMs);
}
const rssMiB = process.memoryUsage().rss / 2 ** 20;
console.log(JSON.stringify({ hugePages: hugePagesActive(), spinning: spinningEnabled(), copyGBs, decodeMs, rssMiB }));
