// Process settings side by side: huge pages (server/engine/hugePages.ts) and spinning intra-op
// threads (server/engine/session.ts), each on and off. Every measurement runs in a fresh process
// (glibc reads its tunables at start, onnxruntime its thread options at session creation); the
// variants take turns within each round, in a rotated order, for several rounds; medians and ratios
// to the all-off baseline. Writes bench/results/settings.json and .md.
// Run: npm run bench:settings [-- --rounds N]   (~1 min per round on 2 cores)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultThreads } from '../server/engine/host.js';
import { HUGE_PAGES_SWITCH, HUGE_PAGES_TUNABLE } from '../server/platform/processEnv.js';
import { SPINNING_SWITCH } from '../server/engine/session.js';
import { DEFAULT_MODEL_DIR } from './lib/decodeSection.js';
import { describeMachine } from './lib/machine.js';
import { ensureConverted, ensureModel } from './lib/models.js';
import { markdownTable, table } from './lib/table.js';
import { median, round } from './lib/stats.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(args.rounds);
const threads = defaultThreads();
const CONTEXT = 1024;

const m100 = await ensureModel('100m', { maxPositions: 8192 });
const folders: [string, string][] = [
  ['llama-100m fast fp32', (await ensureConverted(m100.dir, 'fast', 'fp32')).dir],
  ['llama-100m fast int4', (await ensureConverted(m100.dir, 'fast', 'int4')).dir],
  ['default (fast int8)', DEFAULT_MODEL_DIR],
];

interface Variant {
  name: string;
  hugePages: boolean;
  spinning: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'both off', hugePages: false, spinning: false },
  { name: 'huge pages', hugePages: true, spinning: false },
  { name: 'spinning', hugePages: false, spinning: true },
  { name: 'both (shipped)', hugePages: true, spinning: true },
];

interface Probe {
  hugePages: boolean;
  spinning: boolean;
  copyGBs: number;
  decodeMs: { b1: number; b16: number };
  rssMiB: number;
}

function probe(dir: string, v: Variant): Probe {
  const env: NodeJS.ProcessEnv = { ...process.env, [SPINNING_SWITCH]: v.spinning ? '1' : '0' };
  // This process's own tunables are not the variant's.
  if (v.hugePages) env.GLIBC_TUNABLES = HUGE_PAGES_TUNABLE;
  else Object.assign(env, { GLIBC_TUNABLES: undefined, [HUGE_PAGES_SWITCH]: '0' });
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/lib/settingsProbe.ts', dir, String(CONTEXT), String(threads)],
    { env, encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`probe failed: ${run.stderr}`);
  const p = JSON.parse(run.stdout.trim().split('\n').pop()!) as Probe;
  if (p.hugePages !== v.hugePages || p.spinning !== v.spinning) throw new Error(`the probe did not run as "${v.name}"`);
  return p;
}

const results = folders.map(([model, dir]) => {
  const runs = VARIANTS.map(() => [] as Probe[]);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round, so drift in the machine's load does not favour one variant.
    for (let j = 0; j < VARIANTS.length; j++) {
      const i = (j + r) % VARIANTS.length;
      runs[i]!.push(probe(dir, VARIANTS[i]!));
    }
    process.stderr.write(`${model}: round ${r + 1}/${rounds}\n`);
  }
  const variants = VARIANTS.map((v, i) => ({
    ...v,
    b1Ms: round(median(runs[i]!.map((p) => p.decodeMs.b1))),
    b16Ms: round(median(runs[i]!.map((p) => p.decodeMs.b16))),
    copyGBs: round(median(runs[i]!.map((p) => p.copyGBs))),
    rssMiB: round(median(runs[i]!.map((p) => p.rssMiB))),
    raw: runs[i]!,
  }));
  return { model, variants };
});

const headers = ['model', 'variant', 'B1 ms', 'B1 vs both off', 'B16 ms', 'B16 vs both off', 'copy GB/s'];
const rows = results.flatMap(({ model, variants }) =>
  variants.map((v) => [
    model,
    v.name,
    v.b1Ms,
    `${round(variants[0]!.b1Ms / v.b1Ms)}x`,
    v.b16Ms,
    `${round(variants[0]!.b16Ms / v.b16Ms)}x`,
    v.copyGBs,
  ]),
);
console.log(table(headers, rows));
const machine = describeMachine();
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/settings.json',
  JSON.stringify({ machine, threads, context: CONTEXT, rounds, date: new Date().toISOString(), results }, null, 2),
);
writeFileSync(
  'bench/results/settings.md',
  `# Process settings side by side (decode at ctx ${CONTEXT}, ${threads} threads)\n\n` +
    `${machine.cpuModel}, ${machine.cores} cores; kernel THP mode ${machine.hugePages.kernelMode ?? 'n/a'}; ` +
    `${new Date().toISOString()}. Median of ${rounds} fresh processes per cell, variants taking turns in rotated order.\n` +
    `Huge pages: GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE} (off: ${HUGE_PAGES_SWITCH}=0). Spinning: onnxruntime ` +
    `intra-op threads spin between ops (off: ${SPINNING_SWITCH}=0). The copy bandwidth is measured in each process.\n\n` +
    `${markdownTable(headers, rows)}\n`,
);
