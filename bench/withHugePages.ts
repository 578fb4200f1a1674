// Launcher of the benchmarks: they measure what the server runs, with huge pages where it uses them
// (server/engine/hugePages.ts; ALIGNER_HUGE_PAGES=0 to compare). The relaunch happens here, before the
// benchmark's own modules (onnxruntime among them) are loaded; then the entry runs with its arguments.
//   node --import tsx bench/withHugePages.ts bench/all.bench.ts [ARGS]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { relaunchWithHugePages } from '../server/engine/hugePages.js';

const code = await relaunchWithHugePages();
if (code !== null) process.exit(code);
const [entry] = process.argv.splice(2, 1); // the entry then sees its own arguments from argv[2] on
if (!entry) throw new Error('usage: node --import tsx bench/withHugePages.ts ENTRY [ARGS]');
await import(pathToFileURL(resolve(entry)).href);
