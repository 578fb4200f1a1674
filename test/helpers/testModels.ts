// Random-weight test models written once per test process into a temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModel } from '../../server/testmodel/writeTestModel.js';
import type { TestModelOptions, TestModelType } from '../../server/testmodel/writeTestModel.js';

const root = mkdtempSync(join(tmpdir(), 'aligner-test-models-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const made = new Map<string, Promise<string>>();

export function testModel(type: TestModelType, extra: Partial<TestModelOptions> = {}): Promise<string> {
  const key = `${type}-${JSON.stringify(extra)}`;
  let dir = made.get(key);
  if (!dir) {
    const outDir = join(root, `${type}-${made.size}`);
    dir = writeTestModel({ type, outDir, ...extra }).then(() => outDir);
    made.set(key, dir);
  }
  return dir;
}

export const MODEL_TYPES: TestModelType[] = ['llama', 'gemma', 'qwen2'];
