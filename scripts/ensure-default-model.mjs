#!/usr/bin/env node
// Runs after `npm run build`: until the project ships a trained default model, models/default is a
// random-weight test model written locally (so `npm start` works on a fresh clone, offline).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const dir = 'models/default';
if (existsSync(`${dir}/onnx/model.onnx`)) process.exit(0);
const r = spawnSync(
  process.execPath,
  ['bin/aligner.js', 'make-test-model', '--type', 'llama', '--preset', 'tiny', '--out', dir],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
