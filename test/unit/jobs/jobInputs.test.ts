// What a client may name in jobs/* and models/load: files inside the folders the user gave the
// server (links resolved first), API-key variables the user allowed, http(s) endpoints only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobManager } from '../../../server/jobs/jobManager.js';
import { PathPolicy, keyEnvAllowed } from '../../../server/jobs/pathPolicy.js';
import type { EngineError } from '../../../server/engine/api.js';
import { ErrorCodes } from '../../../server/protocol/index.js';
import type { EvalJobConfig } from '../../../server/protocol/index.js';
import { fakeCli, release, statusOf } from './fakeJobs.js';
import { startHarness, RawClient, authHeaders } from '../transport/helpers.js';

const base = mkdtempSync(join(tmpdir(), 'aligner-job-inputs-'));
after(() => rmSync(base, { recursive: true, force: true }));
const allowed = join(base, 'workspace');
const elsewhere = join(base, 'elsewhere');
mkdirSync(join(allowed, 'model'), { recursive: true });
mkdirSync(elsewhere);
const data = join(allowed, 'rows.jsonl');
writeFileSync(data, '{}\n');
writeFileSync(join(elsewhere, 'secret.jsonl'), '{}\n');
symlinkSync(join(elsewhere, 'secret.jsonl'), join(allowed, 'innocent.jsonl'));
const registry = join(base, 'runs');

const jobs = new JobManager({
  registryDir: registry,
  cliPath: fakeCli(),
  allowedRoots: [allowed],
  allowedKeyEnvs: ['MY_JUDGE_TOKEN'],
  log: () => {},
});
after(() => jobs.close());

const evalWith = (config: Partial<EvalJobConfig>) =>
  jobs.start({ kind: 'eval', config: { model: join(allowed, 'model'), data: [data], ...config } });
const invalid = (pattern: RegExp) => (e: EngineError) => e.code === ErrorCodes.InvalidParams && pattern.test(e.message);

test('inputs outside the allowed folders are refused: /etc/shadow, a sibling folder, a link out, ..', () => {
  assert.throws(() => evalWith({ data: ['/etc/shadow'] }), invalid(/eval data \/etc\/shadow is outside the folders/));
  assert.throws(() => evalWith({ data: [join(elsewhere, 'secret.jsonl')] }), invalid(/outside the folders/));
  assert.throws(() => evalWith({ data: [join(allowed, 'innocent.jsonl')] }), invalid(/outside the folders/));
  assert.throws(() => evalWith({ data: [join(allowed, '..', 'elsewhere', 'secret.jsonl')] }), invalid(/outside/));
  assert.throws(() => evalWith({ model: '/usr' }), invalid(/model folder \/usr is outside/));
  assert.throws(() => evalWith({ data: [join(allowed, 'missing.jsonl')] }), invalid(/does not exist/));
  assert.throws(
    () => jobs.start({ kind: 'train', config: { data: [data], base: '/etc' } }),
    invalid(/base model \/etc is outside/),
  );
  assert.throws(
    () => jobs.start({ kind: 'export', config: { run: '/root' } }),
    invalid(/run folder \/root is outside/),
  );
  assert.deepEqual(jobs.list(), [], 'nothing refused was queued');
});

test('API-key variables: HOME and other server variables are refused; *_API_KEY and allowed names pass', async () => {
  for (const name of ['HOME', 'PATH', 'ALIGNER_STATE_DIR', 'AWS_SECRET_ACCESS_KEY']) {
    assert.throws(() => evalWith({ judgeKeyEnv: name }), invalid(/not an allowed key variable/), name);
    assert.throws(() => evalWith({ upstreamKeyEnv: name }), invalid(/not an allowed key variable/), name);
  }
  assert.equal(keyEnvAllowed('OPENAI_API_KEY', new Set()), true);
  assert.equal(keyEnvAllowed('MY_JUDGE_TOKEN', new Set(['MY_JUDGE_TOKEN'])), true);
  const ok = evalWith({
    judgeKeyEnv: 'MY_JUDGE_TOKEN',
    upstreamKeyEnv: 'OPENAI_API_KEY',
    judgeEndpoint: 'https://judge.example/v1',
    judgeModel: 'j',
  });
  await statusOf(jobs, ok.id, ['running']);
  release(registry, ok.id, '0');
  await statusOf(jobs, ok.id, ['succeeded']);
});

test('endpoints must be http(s) URLs without credentials', () => {
  for (const url of ['file:///etc/passwd', 'data:text/plain,x', 'ftp://host/v1', 'https://user:pw@host/v1']) {
    assert.throws(() => evalWith({ judgeEndpoint: url, judgeModel: 'j' }), invalid(/judgeEndpoint must/), url);
    assert.throws(() => evalWith({ upstreamEndpoint: url, upstreamModel: 'u' }), invalid(/upstreamEndpoint must/), url);
  }
});

test('the job runs on the resolved paths it was allowed', async () => {
  const job = evalWith({});
  assert.deepEqual((job.config as EvalJobConfig).data, [data]);
  await statusOf(jobs, job.id, ['running']);
  release(registry, job.id, '0');
  await statusOf(jobs, job.id, ['succeeded']);
});

test('models/load over the WebSocket is confined the same way', async () => {
  const h = await startHarness({ modelPaths: new PathPolicy([allowed]) });
  const c = await RawClient.open(h.server.wsUrl, { headers: authHeaders(h.token) });
  try {
    await c.call(1, 'initialize', { protocolVersion: 1 });
    const outside = await c.call(2, 'models/load', { path: '/etc' });
    assert.equal(outside.error.code, ErrorCodes.InvalidParams);
    assert.match(outside.error.message, /model folder \/etc is outside the folders this server may read/);
    const template = await c.call(3, 'models/load', { path: join(allowed, 'model'), chatTemplatePath: '/etc/passwd' });
    assert.match(template.error.message, /chat template \/etc\/passwd is outside/);
    const inside = await c.call(4, 'models/load', { path: join(allowed, 'model') });
    assert.equal(inside.error, undefined);
  } finally {
    c.ws.close();
    await h.close();
  }
});
