// Training, export and evaluation jobs driven over the real WebSocket protocol: a tiny training job
// streams progress, is cancelled, resumed and finishes; its export (the converter, the shipped format)
// is hot-loaded; an evaluation job writes a summary with every judge, the LLM judge being this same
// server's OpenAI-compatible endpoint.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EngineHost } from '../../../server/engine/host.js';
import { JobManager } from '../../../server/jobs/jobManager.js';
import { startTransport } from '../../../server/transport/server.js';
import type { RunningServer } from '../../../server/transport/server.js';
import { connectAligner } from '../../../server/transport/client.js';
import type { AlignerClient } from '../../../server/transport/client.js';
import { generateToken } from '../../../server/transport/auth.js';
import {
  JobEventNotification,
  JobStatusNotification,
  JobsCancelRequest,
  JobsGetRequest,
  JobsResumeRequest,
  JobsStartRequest,
  JobsSubscribeRequest,
  ModelsListRequest,
} from '../../../server/protocol/index.js';
import type { JobEvent, JobInfo } from '../../../server/protocol/index.js';
import { SHIPPED_FORMAT } from '../../../server/convert/shippedFormat.js';
import { testModel } from '../../helpers/testModels.js';
import { factRows } from '../../helpers/factRows.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const hasTrainer = existsSync(join(ROOT, '.venv', 'bin', 'python'));
const dir = mkdtempSync(join(tmpdir(), 'aligner-jobs-'));

function writeJsonl(name: string, rows: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

const qac = writeJsonl('qac.jsonl', factRows(40));
const truthful = writeJsonl('truthfulqa.jsonl', [
  {
    question: 'What color is the sky?',
    best_answer: 'Blue',
    correct_answers: ['The sky is blue'],
    incorrect_answers: ['The sky is green'],
  },
]);
const upstream = writeJsonl('upstream.jsonl', [
  { question: 'Is ice frozen water?', answer: 'No.', upstream: 'toy-llm' },
]);

let engine: EngineHost;
let jobs: JobManager;
let server: RunningServer;
let client: AlignerClient;
let token: string;
const statuses = new Map<string, JobInfo[]>();
const events = new Map<string, JobEvent['event'][]>();
const waiters: (() => void)[] = [];

after(async () => {
  await client?.close();
  await server?.close();
  await jobs?.close();
  await engine?.close();
});

function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const poll = () => {
      const value = check();
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
        return true;
      }
      return false;
    };
    const waiter = () => {
      if (!poll()) waiters.push(waiter);
    };
    if (!poll()) waiters.push(waiter);
  });
}

const statusOf = (id: string) => statuses.get(id)?.at(-1)?.status;
const finished = (id: string, ms: number) =>
  until(
    () => (['succeeded', 'failed', 'cancelled'].includes(statusOf(id) ?? '') ? statusOf(id) : undefined),
    ms,
    `job ${id}`,
  );

test('server with a job manager, and a subscribed client', async () => {
  engine = new EngineHost({ threads: 1 });
  await engine.loadModel({ path: await testModel('llama') });
  jobs = new JobManager({
    registryDir: join(dir, 'runs'),
    cliPath: join(ROOT, 'bin', 'aligner.js'),
    service: engine,
    killGraceMs: 3000,
    // The data this test writes and the test models live under the temp folder.
    allowedRoots: [tmpdir()],
    allowedKeyEnvs: ['ALIGNER_TEST_JUDGE_KEY'],
  });
  token = generateToken();
  server = await startTransport({ service: engine, jobs, token, port: 0 });
  client = await connectAligner(server.wsUrl, token);
  client.connection.onNotification(JobStatusNotification, (job) => {
    statuses.set(job.id, [...(statuses.get(job.id) ?? []), job]);
    waiters.splice(0).forEach((w) => w());
  });
  client.connection.onNotification(JobEventNotification, (e) => {
    events.set(e.jobId, [...(events.get(e.jobId) ?? []), e.event]);
    waiters.splice(0).forEach((w) => w());
  });
  assert.deepEqual(await client.connection.sendRequest(JobsSubscribeRequest), { subscribed: true });
});

test(
  'a tiny training job streams progress, is cancelled, resumed and finishes; its export is hot-loaded',
  { skip: !hasTrainer && 'no .venv: run scripts/setup-python.sh' },
  async () => {
    const train = await client.connection.sendRequest(JobsStartRequest, {
      kind: 'train',
      name: 'tiny-jobs-test',
      config: { data: [qac], preset: 'tiny', maxSteps: 16, saveEvery: 4, batchSize: 4 },
    });
    assert.ok(['queued', 'running'].includes(train.status));
    // Cancel once a checkpoint exists, so the resume has something to continue from.
    const checkpoint = await until(
      () => events.get(train.id)?.find((e) => e.event === 'checkpoint'),
      240_000,
      'a checkpoint',
    );
    const cancelled = await client.connection.sendRequest(JobsCancelRequest, { jobId: train.id });
    assert.equal(cancelled.id, train.id);
    assert.equal(await finished(train.id, 60_000), 'cancelled');
    const steps = events.get(train.id)!.filter((e) => e.event === 'step');
    assert.ok(steps.length > 0 && typeof steps[0]!.loss === 'number', 'step events carry the loss');

    const resumed = await client.connection.sendRequest(JobsResumeRequest, { jobId: train.id });
    assert.ok(['queued', 'running'].includes(resumed.status));
    assert.equal(await finished(train.id, 240_000), 'succeeded');
    const detail = await client.connection.sendRequest(JobsGetRequest, { jobId: train.id });
    const done = detail.events.filter((e) => e.event === 'done');
    assert.equal(done.at(-1)?.step, 16, 'reached max steps');
    assert.ok(
      detail.events.some(
        (e) => e.event === 'resumed' || (e.event === 'step' && (e.step as number) > (checkpoint.step as number)),
      ),
      'continued after the checkpoint',
    );
    assert.match(detail.logTail, /aligner train/);

    const exp = await client.connection.sendRequest(JobsStartRequest, {
      kind: 'export',
      name: 'tiny-trained',
      config: { run: train.id },
      loadOnSuccess: true,
    });
    assert.equal(
      await finished(exp.id, 240_000),
      'succeeded',
      (await client.connection.sendRequest(JobsGetRequest, { jobId: exp.id })).logTail,
    );
    await until(() => events.get(exp.id)?.find((e) => e.event === 'model-loaded'), 60_000, 'hot-load');
    const models = await client.connection.sendRequest(ModelsListRequest);
    assert.ok(models.models.some((m) => m.id === 'tiny-trained'));
    assert.equal(models.defaultModel, 'tiny-trained');
    // The converter wrote it: the fast layout, in the shipped format (the job named no dtype).
    const exported = await client.connection.sendRequest(JobsGetRequest, { jobId: exp.id });
    const modelDir = exported.job.artifacts.modelDir!;
    const meta = JSON.parse(readFileSync(join(modelDir, 'aligner.json'), 'utf8'));
    assert.deepEqual(
      [meta.layout, meta.dtype, meta.quantization?.blockSize],
      ['fast', SHIPPED_FORMAT.dtype, SHIPPED_FORMAT.blockSize],
    );
    assert.equal(meta.template, 'correction', "the run's template");
    const result = exported.events.find((e) => e.event === 'done');
    assert.deepEqual([result?.path, result?.layout, result?.dtype], [modelDir, 'fast', SHIPPED_FORMAT.dtype]);
  },
);

test('an eval job writes the summary with every judge; the LLM judge is this server', async () => {
  process.env.ALIGNER_TEST_JUDGE_KEY = token;
  const standIn = basename(await testModel('llama')); // the random test model this server loaded first
  const job = await client.connection.sendRequest(JobsStartRequest, {
    kind: 'eval',
    config: {
      model: await testModel('llama'),
      data: [qac, truthful, upstream],
      judges: ['reference', 'preference', 'harmlessness', 'honesty', 'llm'],
      limit: 4,
      maxNewTokens: 8,
      judgeEndpoint: `${server.url}/v1`,
      judgeModel: standIn,
      judgeKeyEnv: 'ALIGNER_TEST_JUDGE_KEY',
      // The TruthfulQA prompts have no answer: this same server stands in as the upstream model too.
      upstreamEndpoint: `${server.url}/v1`,
      upstreamModel: standIn,
      upstreamKeyEnv: 'ALIGNER_TEST_JUDGE_KEY',
      alignerEndpoints: true,
    },
  });
  const status = await finished(job.id, 240_000);
  const detail = await client.connection.sendRequest(JobsGetRequest, { jobId: job.id });
  assert.equal(status, 'succeeded', detail.logTail);
  assert.ok(detail.events.some((e) => e.event === 'eval-progress'));
  const summary = detail.evalSummary as Record<string, unknown>;
  assert.ok(summary, 'summary.json is served with the job');
  const text = JSON.stringify(summary);
  for (const judge of ['reference', 'preference', 'harmlessness', 'honesty', 'llm'])
    assert.ok(text.includes(judge), `summary has ${judge}`);
  assert.ok(existsSync(join(detail.job.artifacts.evalDir!, 'summary.md')));
  assert.ok(
    !readFileSync(join(detail.job.artifacts.evalDir!, 'rows.jsonl'), 'utf8').includes(token),
    'the key is never written',
  );
});
