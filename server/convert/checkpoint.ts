// The weights of a Hugging Face checkpoint folder: model.safetensors, or shards listed in
// model.safetensors.index.json ({"weight_map": {tensor: file}}). Tensors are read lazily by name.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, type TensorInfo } from './safetensors.js';

export class Checkpoint {
  private readonly where = new Map<string, SafetensorsFile>();

  private constructor(
    readonly dir: string,
    private readonly files: SafetensorsFile[],
  ) {
    for (const f of files) for (const name of f.names()) this.where.set(name, f);
  }

  static open(dir: string): Checkpoint {
    const index = join(dir, 'model.safetensors.index.json');
    const single = join(dir, 'model.safetensors');
    if (existsSync(index)) {
      const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
      if (!map) throw new Error(`${index}: no weight_map`);
      const shardNames = [...new Set(Object.values(map))].sort();
      const files: SafetensorsFile[] = [];
      try {
        for (const s of shardNames) files.push(SafetensorsFile.open(join(dir, s)));
      } catch (err) {
        for (const f of files) f.close();
        throw err;
      }
      const ckpt = new Checkpoint(dir, files);
      for (const [name, shard] of Object.entries(map)) {
        if (ckpt.where.get(name)?.path !== join(dir, shard)) {
          ckpt.close();
          throw new Error(`${index}: tensor ${name} is not in ${shard}`);
        }
      }
      return ckpt;
    }
    if (existsSync(single)) return new Checkpoint(dir, [SafetensorsFile.open(single)]);
    const hint = existsSync(join(dir, 'pytorch_model.bin'))
      ? ' (only pytorch_model.bin found: re-save it with save_pretrained(safe_serialization=True))'
      : '';
    throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json${hint}`);
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): TensorInfo {
    const f = this.where.get(name);
    if (!f) throw new Error(`${this.dir}: the checkpoint has no tensor ${name}`);
    return f.info(name)!;
  }

  read(name: string): Float32Array {
    const f = this.where.get(name);
    if (!f) throw new Error(`${this.dir}: the checkpoint has no tensor ${name}`);
    return f.read(name);
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}
