// Huge pages on vs off, side by side: each measurement runs in a fresh process (glibc reads its
// tunables at start), alternating the two settings, for several rounds; the ratio is of medians.
// Writes bench/results/huge-pages.json and .md. Run: npm run bench:huge-pages [-- --rounds N]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultThreads } from '../server/engine/host.js';
import { HUGE_PAGES_SWITCH, HUGE_PAGES_TUNABLE } from '../server/engine/hugePages.js';
import { DEFAULT_MODEL_DIR } from './lib/decodeSection.js';
import { describeMachine } from './lib/machine.js';
import { ensureConverted, ensureModel } from './lib/models.js';
import { markdownTable, table } from './lib/table.js';
import { median, round } from './lib/stats.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(args.rounds);
const threads = defaultThreads();
const CONTEXT = 1024;

const m100 = await ensureModel('100m', { maxPositions: 8192 });
const m17 = await ensureModel('17m', { maxPositions: 8192 });
const folders: [string, string][] = [
  ['llama-100m fast fp32', (await ensureConverted(m100.dir, 'fast', 'fp32')).dir],
  ['llama-100m fast int4', (await ensureConverted(m100.dir, 'fast', 'int4')).dir],
  ['llama-17m fast fp32', (await ensureConverted(m17.dir, 'fast', 'fp32')).dir],
  ['default (int8)', DEFAULT_MODEL_DIR],
];

interface Probe {
  hugePages: boolean;
  copyGBs: number;
  decodeMs: { b1: number; b16: number };
  rssMiB: number;
}

function probe(dir: string, huge: boolean): Probe {
  const { GLIBC_TUNABLES: _keep, ...base } = process.env;
  const env = huge ? { ...base, GLIBC_TUNABLES: HUGE_PAGES_TUNABLE } : { ...base, [HUGE_PAGES_SWITCH]: '0' };
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/lib/hugePagesProbe.ts', dir, String(CONTEXT), String(threads)],
    { env, encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`probe failed: ${run.stderr}`);
  const p = JSON.parse(run.stdout.trim().split('\n').pop()!) as Probe;
  if (p.hugePages !== huge) throw new Error('the probe did not run with the requested page setting');
  return p;
}

const results = folders.map(([name, dir]) => {
  const runs: Record<'off' | 'on', Probe[]> = { off: [], on: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so drift in the machine's load does not favour one side.
    const order: boolean[] = r % 2 === 0 ? [false, true] : [true, false];
    for (const huge of order) runs[huge ? 'on' : 'off'].push(probe(dir, huge));
    process.stderr.write(`${name}: round ${r + 1}/${rounds}\n`);
  }
  const sum = (ps: Probe[]) => ({
    copyGBs: round(median(ps.map((p) => p.copyGBs))),
    b1Ms: round(median(ps.map((p) => p.decodeMs.b1))),
    b16Ms: round(median(ps.map((p) => p.decodeMs.b16))),
    rssMiB: round(median(ps.map((p) => p.rssMiB))),
  });
  const off = sum(runs.off);
  const on = sum(runs.on);
  return {
    name,
    off,
    on,
    b1Speedup: round(off.b1Ms / on.b1Ms),
    b16Speedup: round(off.b16Ms / on.b16Ms),
    raw: runs,
  };
});

const headers = ['model', 'B1 ms off', 'B1 ms on', 'B1 speedup', 'B16 ms off', 'B16 ms on', 'B16 speedup', 'copy GB/s off', 'copy GB/s on'];
const rows = results.map((r) => [
  r.name,
  r.off.b1Ms,
  r.on.b1Ms,
  `${r.b1Speedup}x`,
  r.off.b16Ms,
  r.on.b16Ms,
  `${r.b16Speedup}x`,
  r.off.copyGBs,
  r.on.copyGBs,
]);
console.log(table(headers, rows));
const machine = describeMachine();
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/huge-pages.json',
  JSON.stringify({ machine, threads, context: CONTEXT, rounds, date: new Date().toISOString(), results }, null, 2),
);
writeFileSync(
  'bench/results/huge-pages.md',
  `# Huge pages off vs on (ctx ${CONTEXT}, ${threads} threads, median of ${rounds} processes each, alternating)\n\n` +
    `${machine.cpuModel}, ${machine.cores} cores; kernel THP mode ${machine.hugePages.kernelMode ?? 'n/a'}; ` +
    `on = GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE} (what bin/aligner.js and the extension set), off = ${HUGE_PAGES_SWITCH}=0.\n\n` +
    `${markdownTable(headers, rows)}\n`,
);
