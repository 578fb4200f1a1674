// A small typed ONNX graph builder on onnx-proto (protobufjs). onnx-proto is CommonJS and assigns
// its namespace at runtime, so under ESM only the default import works (named imports don't).
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

export const { onnx } = onnxProto;

export const DataType = {
  FLOAT: 1,
  INT64: 7,
  BOOL: 9,
} as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number };

/** Where large initializers go when the model uses external data. */
export interface ExternalDataSink {
  /** Path of the .onnx_data file to write. */
  path: string;
  /** Tensors of at least this many bytes go external (smaller ones stay inline). */
  thresholdBytes?: number;
  /** Offsets are aligned to this (page size), so ORT can mmap the data. */
  alignment?: number;
}

/**
 * Collects nodes, initializers and value infos. Initializers bound for external data are written
 * to the data file as soon as they are added, so the builder never holds every weight at once.
 */
export class GraphBuilder {
  private nodes: P.INodeProto[] = [];
  private initializers: P.ITensorProto[] = [];
  private inputs: P.IValueInfoProto[] = [];
  private outputs: P.IValueInfoProto[] = [];
  private counters = new Map<string, number>();
  private int64Cache = new Map<string, string>();
  private floatCache = new Map<string, string>();
  private fd: number | null = null;
  private offset = 0;

  constructor(private readonly external?: ExternalDataSink) {
    if (external) this.fd = openSync(external.path, 'w');
  }

  /** A fresh, deterministic value name like `prefix_3`. */
  uniqueName(prefix: string): string {
    const n = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, n + 1);
    return `${prefix}_${n}`;
  }

  input(name: string, elemType: DataTypeId, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: DataTypeId, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a node; returns its output names (generated from `name` unless given). */
  node(
    opType: string,
    inputs: string[],
    opts: { name?: string; outputs?: string[] | number; attrs?: Record<string, AttrValue> } = {},
  ): string[] {
    const name = opts.name ?? this.uniqueName(opType);
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({
      name,
      opType,
      input: inputs,
      output: outs,
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output convenience wrapper around node(). */
  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, name?: string): string {
    return this.node(opType, inputs, { attrs, name })[0];
  }

  /** A float32 initializer; `data` is used as-is (no copy unless it goes external). */
  initFloat(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (expected !== data.length)
      throw new Error(`initializer ${name}: dims ${dims} need ${expected} values, got ${data.length}`);
    const ext = this.external;
    if (ext && this.fd !== null && bytes.byteLength >= (ext.thresholdBytes ?? 1024)) {
      const align = ext.alignment ?? 4096;
      const pad = (align - (this.offset % align)) % align;
      if (pad) writeSync(this.fd, new Uint8Array(pad));
      this.offset += pad;
      writeSync(this.fd, bytes);
      this.initializers.push({
        name,
        dims,
        dataType: DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: basename(ext.path) },
          { key: 'offset', value: String(this.offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      this.offset += bytes.byteLength;
    } else {
      this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: bytes });
    }
    return name;
  }

  /** An int64 constant initializer (shapes, axes, indices); identical values are shared. */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const cached = this.int64Cache.get(key);
    if (cached) return cached;
    const name = this.uniqueName('const_i64');
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: new Uint8Array(raw.buffer) });
    this.int64Cache.set(key, name);
    return name;
  }

  /** A float32 scalar constant (shared by value); stored inline, it is tiny. */
  constFloat(value: number): string {
    const data = new Float32Array([value]);
    const key = String(data[0]);
    const cached = this.floatCache.get(key);
    if (cached) return cached;
    const name = this.uniqueName('const_f32');
    this.initializers.push({ name, dims: [], dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    this.floatCache.set(key, name);
    return name;
  }

  /** Serializes the model (opset 17, IR 8 unless told) and closes the external data file. */
  finish(
    meta: { graphName?: string; producer?: string; opset?: number; irVersion?: number; docString?: string } = {},
  ): Uint8Array {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    const model: P.IModelProto = {
      irVersion: meta.irVersion ?? 8,
      producerName: meta.producer ?? 'aligner-testmodel',
      producerVersion: '1',
      docString: meta.docString ?? '',
      opsetImport: [{ domain: '', version: meta.opset ?? 17 }],
      graph: {
        name: meta.graphName ?? 'main_graph',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A tensor value's name, element type and shape (numbers fixed, strings symbolic). */
export function valueInfo(name: string, elemType: number, dims: Dim[]): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** A node attribute: integers, integer lists, strings, or { float }. */
export function attribute(name: string, v: AttrValue): P.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.FLOAT, f: v.float };
}
