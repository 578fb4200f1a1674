// A small typed ONNX graph builder on onnx-proto (protobufjs), used by the test-model writer and the
// converter: standard and contrib-op (com.microsoft) nodes, fp32/fp16/int/uint8 initializers, and
// external data written as tensors are added (so a large model never sits in memory whole).
// onnx-proto is CommonJS and assigns its namespace at runtime: under ESM only the default import works.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

export const { onnx } = onnxProto;

export const TensorType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type TensorTypeId = (typeof TensorType)[keyof typeof TensorType];
export const MS_DOMAIN = 'com.microsoft';

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number };

/** Where large initializers go when the model uses external data. */
export interface ExternalDataSink {
  /** Path of the .onnx_data file to write. */
  path: string;
  /** Tensors of at least this many bytes go to the data file (default 1 KiB). */
  thresholdBytes?: number;
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
  private domains = new Set<string>();
  private counters = new Map<string, number>();
  private consts = new Map<string, string>();
  private fd: number | null = null;
  private offset = 0;
  /** Bytes of all initializers, inline and external. */
  weightBytes = 0;

  constructor(private readonly external?: ExternalDataSink) {
    if (external) this.fd = openSync(external.path, 'w');
  }

  /** A fresh, deterministic value name like `prefix_3`. */
  fresh(prefix: string): string {
    const n = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, n + 1);
    return `${prefix}_${n}`;
  }

  input(name: string, type: TensorTypeId, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: TensorTypeId, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Adds a node; `outputs` names its outputs (use '' to skip an optional one) or counts them. */
  node(
    opType: string,
    inputs: string[],
    opts: { attrs?: Record<string, AttrValue>; outputs?: string[] | number; domain?: string } = {},
  ): string[] {
    const name = this.fresh(opType);
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${name}_out${i}`);
    if (opts.domain) this.domains.add(opts.domain);
    this.nodes.push({
      name,
      opType,
      domain: opts.domain ?? '',
      input: inputs,
      output: outs,
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, output?: string): string {
    return this.node(opType, inputs, { attrs, outputs: output ? [output] : 1 })[0];
  }

  /** A com.microsoft contrib op with one output. */
  ms(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, output?: string): string {
    return this.node(opType, inputs, { attrs, outputs: output ? [output] : 1, domain: MS_DOMAIN })[0];
  }

  /** An initializer from raw little-endian bytes; large ones go to the external data file. */
  initializer(name: string, type: TensorTypeId, dims: number[], data: ArrayBufferView): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.weightBytes += bytes.byteLength;
    const ext = this.external;
    if (ext && this.fd !== null && bytes.byteLength >= (ext.thresholdBytes ?? 1024)) {
      // page-aligned offsets let ORT map the data file
      const pad = (4096 - (this.offset % 4096)) % 4096;
      if (pad) writeSync(this.fd, new Uint8Array(pad));
      this.offset += pad;
      for (let done = 0; done < bytes.byteLength;)
        done += writeSync(this.fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
      this.initializers.push({
        name,
        dims,
        dataType: type,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: basename(ext.path) },
          { key: 'offset', value: String(this.offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      this.offset += bytes.byteLength;
    } else {
      this.initializers.push({ name, dims, dataType: type, rawData: bytes });
    }
    return name;
  }

  f32(name: string, dims: number[], data: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (expected !== data.length)
      throw new Error(`initializer ${name}: dims ${dims} need ${expected} values, got ${data.length}`);
    return this.initializer(name, TensorType.FLOAT, dims, data);
  }

  /** Shared small constants (shapes, axes, scalars), deduplicated by value. */
  constI64(values: number[], dims: number[] = [values.length]): string {
    return this.cached(`i64:${dims}:${values}`, () =>
      this.initializer(this.fresh('const_i64'), TensorType.INT64, dims, BigInt64Array.from(values.map(BigInt))),
    );
  }

  constF32(value: number): string {
    return this.cached(`f32:${Math.fround(value)}`, () =>
      this.initializer(this.fresh('const_f32'), TensorType.FLOAT, [], new Float32Array([value])),
    );
  }

  private cached(key: string, make: () => string): string {
    let name = this.consts.get(key);
    if (!name) this.consts.set(key, (name = make()));
    return name;
  }

  /** Serializes the model and closes the external data file. */
  finish(meta: { producer?: string; docString?: string; opset?: number } = {}): Uint8Array {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    const opsetImport = [{ domain: '', version: meta.opset ?? 17 }];
    for (const d of [...this.domains].sort()) opsetImport.push({ domain: d, version: 1 });
    const model: P.IModelProto = {
      irVersion: 8,
      producerName: meta.producer ?? 'aligner',
      producerVersion: '1',
      docString: meta.docString ?? '',
      opsetImport,
      graph: {
        name: 'main_graph',
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
