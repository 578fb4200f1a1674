#!/usr/bin/env node
// The import rules that keep the tree readable (`npm run check:cycles`, run by .ci/run; ARCHITECTURE.md):
//   1. no import cycle in server/, extension/ or webview/ (madge, as
//      `npx madge --circular --extensions ts server extension webview`);
//   2. the "never" arrows of ARCHITECTURE.md: below, each part and what it must not import.
import madge from 'madge';

/** [files, forbidden imports, except]: a file matching `from` may not import a path matching `never`. */
const NEVER = [
  // Test models are for tests; the `aligner make-test-model` command, whose job is to write them, is the exception.
  [/^server\/(?!testmodel\/)/, /^server\/testmodel\//, /^server\/cli\/testModelCommand\.ts$/],
  [/^server\/protocol\//, /^(?!server\/protocol\/)/],
  [/^server\/engine\//, /^server\/(transport|proxy|jobs|cli)\//],
  [/^server\//, /^(extension|webview)\//],
  // The extension talks to the server through the protocol and the client only.
  [/^extension\//, /^server\/(?!protocol\/|platform\/|transport\/client\.ts$)/],
  [/^webview\//, /^(extension\/|server\/(?!protocol\/))/],
];

const graph = await madge(['server', 'extension', 'webview'], {
  baseDir: process.cwd(),
  fileExtensions: ['ts'],
  excludeRegExp: [/^server\/trainer\//],
});
let failed = false;

const cycles = graph.circular();
for (const cycle of cycles) console.error(`import cycle: ${cycle.join(' -> ')} -> ${cycle[0]}`);
failed ||= cycles.length > 0;

const deps = graph.obj();
for (const [file, imports] of Object.entries(deps))
  for (const [from, never, except] of NEVER) {
    if (!from.test(file) || except?.test(file)) continue;
    for (const dep of imports.filter((d) => never.test(d))) {
      console.error(`${file} imports ${dep}, an arrow ARCHITECTURE.md says never exists`);
      failed = true;
    }
  }

const skipped = graph.warnings().skipped;
if (skipped.length > 0) console.error(`could not resolve: ${skipped.join(', ')}`);
console.log(
  failed ? 'check:cycles failed' : `check:cycles: ${Object.keys(deps).length} files, no cycle, no forbidden import`,
);
process.exit(failed ? 1 : 0);
