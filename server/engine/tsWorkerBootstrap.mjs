// Development only (tests and benchmarks run the TypeScript sources through tsx): module hooks are
// per thread, so the engine worker registers tsx itself before loading worker.ts.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
