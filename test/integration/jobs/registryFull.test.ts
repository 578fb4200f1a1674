// The run registry on a real 1 MiB tmpfs that fills up while an eval job runs, over the real
// protocol: the job ends failed and the same server still completes corrections. Before, the failed
// registry write in the job's exit handler threw and took the server (and this process) down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHost } from '../../../server/engine/host.js';
import { JobManager } from '../../../server/jobs/jobManager.js';
import { startTransport } from '../../../server/transport/server.js';
import { connectAligner } from '../../../server/transport/client.js';
import { generateToken } from '../../../server/transport/auth.js';
import { JobStatusNotification, JobsStartRequest, JobsSubscribeRequest } from '../../../server/protocol/index.js';
import type { JobInfo } from '../../../server/protocol/index.js';
import { testModel } from '../../helpers/testModels.js';
import { factRows } from '../../helpers/factRows.js';
import { canMountTmpfs, fill, mountTmpfs, unmount } from '../../helpers/tmpfs.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test(
  'registry on a full 1 MiB tmpfs: the eval job ends failed, a correction on the same server completes',
  { skip: !canMountTmpfs && 'needs root to mount a tmpfs', timeout: 120_000 },
  async () => {
    const mnt = mountTmpfs('size=1m')!;
    cleanup.push(() => unmount(mnt));
    const dataDir = mkdtempSync(join(tmpdir(), 'aligner-full-data-'));
    const data = join(dataDir, 'qac.jsonl');
    writeFileSync(
      data,
      factRows(40)
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );

    const engine = new EngineHost({ threads: 1 });
    cleanup.push(() => engine.close());
    const model = await testModel('llama');
    await engine.loadModel({ path: model });
    const jobs = new JobManager({
      registryDir: join(mnt, 'runs'),
      cliPath: join(ROOT, 'bin', 'aligner.js'),
      service: engine,
      allowedRoots: [tmpdir()],
      killGraceMs: 2000,
      log: () => {},
    });
    cleanup.push(() => jobs.close());
    const token = generateToken();
    const server = await startTransport({ service: engine, jobs, token, log: () => {} });
    cleanup.push(() => server.close());
    const client = await connectAligner(server.wsUrl, token);
    cleanup.push(() => client.close());

    const ended = new Map<string, JobInfo>();
    let onEnd: (() => void) | undefined;
    client.connection.onNotification(JobStatusNotification, (job) => {
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) ended.set(job.id, job);
      onEnd?.();
    });
    await client.connection.sendRequest(JobsSubscribeRequest);
    const job = await client.connection.sendRequest(JobsStartRequest, {
      kind: 'eval',
      config: { model, data: [data], judges: ['reference'], limit: 20, maxNewTokens: 16 },
    });
    fill(mnt); // the job is recorded; now nothing more fits: not its rows, logs or final record
    const final = await new Promise<JobInfo>((resolve) => {
      onEnd = () => ended.has(job.id) && resolve(ended.get(job.id)!);
      onEnd();
    });
    assert.equal(final.status, 'failed');
    assert.ok(final.error, 'the job says why it failed');
    console.log(`# the eval job failed: ${final.error}`);

    const r = await client.correct({
      requestId: 'after-full-disk',
      question: 'Is the sky blue?',
      answer: 'No.',
      generation: { maxNewTokens: 8, temperature: 0 },
    });
    assert.ok(r.usage.completionTokens > 0);
  },
);
