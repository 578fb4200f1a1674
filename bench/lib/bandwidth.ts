// STREAM-like memory bandwidth in plain JS, one thread, over Float64Arrays far larger than the caches.
// Bytes counted as STREAM does: copy moves 16 B per element (read a, write c), triad 24 B
// (read b and c, write a); write-allocate traffic is not counted.

export interface BandwidthResult {
  arrayMiB: number;
  reps: number;
  /** c.set(a), a native memcpy. GB/s (1e9 B/s), best of `reps`. */
  copyGBs: number;
  /** a[i] = b[i] + s * c[i], a JIT-compiled JS loop. GB/s, best of `reps`. */
  triadGBs: number;
  /** The same triad on 3 x 128 KiB arrays (in cache): when it is not far above triadGBs, the loop is CPU-limited. */
  triadInCacheGBs: number;
}

// One module-level function, so V8 optimizes it once (warmed up on small arrays) before it is timed.
function triad(a: Float64Array, b: Float64Array, c: Float64Array, s: number): void {
  for (let i = 0; i < a.length; i++) a[i] = b[i]! + s * c[i]!;
}

function bestGBs(bytes: number, reps: number, kernel: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    kernel();
    best = Math.min(best, performance.now() - t0);
  }
  return bytes / (best / 1000) / 1e9;
}

export function measureBandwidth(arrayMiB = 512, reps = 5): BandwidthResult {
  const m = 16384; // 128 KiB per array
  const [x, y, z] = [new Float64Array(m), new Float64Array(m), new Float64Array(m)];
  for (let i = 0; i < 500; i++) triad(x, y, z, 3); // warm-up: let V8 optimize the loop
  const triadInCacheGBs = bestGBs(24 * m * 100, reps, () => {
    for (let i = 0; i < 100; i++) triad(x, y, z, 3);
  });

  const n = (arrayMiB * 1024 * 1024) / 8;
  const a = new Float64Array(n).fill(1);
  const b = new Float64Array(n).fill(2);
  const c = new Float64Array(n).fill(3);
  const copyGBs = bestGBs(16 * n, reps, () => c.set(a));
  const triadGBs = bestGBs(24 * n, reps, () => triad(a, b, c, 3));
  if (a[n - 1] !== 2 + 3 * c[n - 1]!) throw new Error('triad produced a wrong result');
  return { arrayMiB, reps, copyGBs, triadGBs, triadInCacheGBs };
}

// Copy run by `threads` worker threads at once (each on its own arrays), as the engine's intra-op
// threads read weights together: one JS thread's memcpy can understate what the memory system gives.
// Workers meet at a barrier before each repetition; a repetition's time runs from the first start to
// the last finish. A CommonJS script evaluated by the worker, so it needs no file of its own.
const COPY_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { sab, n, reps, threads } = workerData;
const sync = new Int32Array(sab); // [arrived, generation]
const a = new Float64Array(n).fill(1);
const c = new Float64Array(n);
const spans = [];
for (let r = 0; r < reps; r++) {
  const generation = Atomics.load(sync, 1);
  if (Atomics.add(sync, 0, 1) === threads - 1) {
    Atomics.store(sync, 0, 0);
    Atomics.add(sync, 1, 1);
    Atomics.notify(sync, 1);
  } else Atomics.wait(sync, 1, generation);
  const t0 = performance.timeOrigin + performance.now();
  c.set(a);
  spans.push([t0, performance.timeOrigin + performance.now()]);
}
parentPort.postMessage(spans);
`;

/** GB/s of `threads` simultaneous copies of `arrayMiB` MiB each (16 B per element, as copyGBs), best of `reps`. */
export async function measureParallelCopy(threads: number, arrayMiB = 512, reps = 5): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const n = (arrayMiB * 1024 * 1024) / 8;
  const sab = new SharedArrayBuffer(8);
  const spans = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<[number, number][]>((resolve, reject) => {
          const w = new Worker(COPY_WORKER, { eval: true, workerData: { sab, n, reps, threads } });
          w.once('message', (m: [number, number][]) => resolve(m));
          w.once('error', reject);
        }),
    ),
  );
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const start = Math.min(...spans.map((s) => s[r]![0]));
    const end = Math.max(...spans.map((s) => s[r]![1]));
    best = Math.min(best, end - start);
  }
  return (threads * 16 * n) / (best / 1000) / 1e9;
}
