// Training and the runs dashboard, end to end with a real server and the real Python trainer:
//  1. In a real VS Code (code-server): "Aligner: Train Aligner…" from the palette (a tiny preset, a
//     few steps, data the test writes), then "Aligner: Show Runs": the dashboard follows the run live
//     to "succeeded".
//  2. The built dashboard bundle in headless Chromium (test/e2e/dashboardHarness.ts) renders that
//     real run, and a real export and evaluation, with the numbers the server reports.
// Screenshots land in test-results/. Run with `npm run test:e2e`. In the newest VS Code only: its pass
// in the oldest VS Code (scripts/e2e-run.sh) skips this file, whose jobs and dashboard do not depend on
// the VS Code version.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import type { JobDetail } from '../../server/protocol/index.js';
import { connect, type AlignerConnection } from '../../extension/serverClient.js';
import { ServerProcess, buildLaunchSpec } from '../../extension/serverProcess.js';
import { JobHub } from '../../extension/runs/jobHub.js';
import { fmtLoss, fmtNumber, fmtStat, type Stat } from '../../webview/data/format.js';
import { judgeRows, parseSummary, upstreamRows } from '../../webview/data/summary.js';
import { QUIET_WORKBENCH_SETTINGS, loadTools, removeRunFolder, startCodeServer, vscodeTarget } from './codeServer.js';
import { factRows } from '../helpers/factRows.js';
import { openDashboardHarness } from './dashboardHarness.js';
import { Workbench, runInWorkbench } from './workbench.js';

const root = join(import.meta.dirname, '../..');
const runRoot = join(root, '.e2e/runs', `runs-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const shots = join(root, 'test-results');
const model = process.env.ALIGNER_E2E_MODEL ?? join(root, '.e2e/models/tiny-llama');
const hasTrainer = existsSync(join(root, '.venv', 'bin', 'python'));
const skip =
  vscodeTarget() === 'oldest'
    ? 'the newest VS Code only'
    : !hasTrainer && 'no .venv with the trainer: run scripts/setup-python.sh';
const RUN_NAME = 'e2e-tiny';
const t0 = Date.now();
const step = (m: string) => console.log(`[runs-e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const silent = {
  info() {},
  warn: (m: string) => console.log(`[host] ${m}`),
  error: (m: string) => console.log(`[host] ${m}`),
};

let proc: ServerProcess;
let conn: AlignerConnection;
let wsUrl = '';
let token = '';
const data = join(runRoot, 'data');

/** Q-A-C rows the test writes itself: corrections fix a stated fact or keep a good answer. */
function writeData(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  writeFileSync(join(dir, 'qac.jsonl'), jsonl(factRows(40, 'Question')));
  writeFileSync(join(dir, 'val.jsonl'), jsonl(factRows(6, 'Check')));
}

function findVsix(): string {
  if (process.env.ALIGNER_VSIX) return process.env.ALIGNER_VSIX;
  const f = readdirSync(join(root, 'dist')).filter((n) => n.endsWith('.vsix'));
  if (!f.length) throw new Error('no .vsix in dist/: run `npm run package`');
  return join(root, 'dist', f[0]!);
}

async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  for (const end = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 250))) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

const finished = (id: string, timeoutMs = 240_000) =>
  until(`job ${id}`, timeoutMs, async () => {
    const d = await conn.getJob(id);
    return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(d.job.status) ? d : undefined;
  });

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  writeData(data);
  // An external server from the repository: its jobs run the Python trainer in .venv (the packaged
  // extension carries no trainer). The extension in code-server connects to it in "external" mode.
  const state = join(runRoot, 'state');
  mkdirSync(state, { recursive: true });
  proc = new ServerProcess(silent);
  const spec = buildLaunchSpec(
    {
      nodePath: process.execPath,
      extensionRoot: root,
      modelPath: model,
      port: 0,
      tokenFile: join(state, 'server.token'),
      executionProvider: 'cpu',
      // The data, the workspace and code-server's storage (reviews.jsonl) live in the run folder; the
      // second evaluation reads the test model.
      allowRoots: [runRoot, model],
    },
    { ...process.env, ALIGNER_STATE_DIR: state },
  );
  const ev = await proc.start(spec, 120_000, () => undefined);
  wsUrl = ev.wsUrl;
  token = readFileSync(ev.tokenFile || join(state, 'server.token'), 'utf8').trim();
  conn = await connect(wsUrl, token, 'e2e');
  await until('the model', 60_000, async () => ((await conn.health()).status === 'ready' ? true : undefined));
  step(`server ${wsUrl}, run folder ${runRoot}`);
});

after(async () => {
  conn?.dispose();
  await proc?.stop();
  removeRunFolder(runRoot);
});

const USER_SETTINGS = (url: string) => ({
  ...QUIET_WORKBENCH_SETTINGS,
  'aligner.server.mode': 'external',
  'aligner.server.url': url,
  'aligner.generation.maxNewTokens': 32,
  'aligner.learning.recordReviews': true,
});

test(
  'in VS Code: a finished review is recorded for learning; Train Aligner… from the palette; Show Runs follows the run live',
  { skip, timeout: 300_000 },
  async () => {
    const tools = loadTools(root);
    const runDir = join(runRoot, 'code-server');
    const workspace = join(runDir, 'ws');
    writeData(workspace);
    writeFileSync(join(workspace, 'answer.md'), 'Q: Is the sky blue?\nA: No, the sky is green.\n');
    const cs = await startCodeServer({ tools, runDir, vsix: findVsix(), workspace, settings: USER_SETTINGS(wsUrl) });
    const wb = await Workbench.openVsCode(tools, runDir, cs, shots);
    step(`code-server ${cs.codeServerVersion} (VS Code ${cs.vscodeVersion}) up at ${cs.url}`);
    await runInWorkbench(
      wb,
      cs,
      'runs-failure',
      async () => {
        await wb.runCommand('Aligner: Set External Server Token');
        await wb.answer('bearer token', token);

        // Learning from reviews (on in this profile): correct, accept all, and the row is in reviews.jsonl.
        await wb.openFile('answer.md', 'Q: Is the sky blue?');
        await wb.selectToEnd(2, 3);
        await wb.runCommand('Aligner: Correct Selection');
        await wb.codeLens('Aligner: Accept All').first().waitFor({ timeout: 120_000 });
        await wb.codeLens('Aligner: Accept All').first().click();
        const reviews = join(cs.userDataDir, 'User/globalStorage/aligner-vscode.aligner-vscode/reviews.jsonl');
        const recorded = await until('the review row', 20_000, () =>
          existsSync(reviews)
            ? (JSON.parse(readFileSync(reviews, 'utf8').split('\n')[0]!) as Record<string, string>)
            : undefined,
        );
        assert.equal(recorded.question, 'Is the sky blue?');
        assert.equal(recorded.answer, 'No, the sky is green.');
        assert.equal(recorded.source, 'review');
        assert.notEqual(recorded.correction, recorded.answer, 'every change was accepted');
        await wb.runCommand('Aligner: Train from My Reviews');
        await wb
          .notification(/1 reviewed correction is recorded; training needs at least 20/)
          .first()
          .waitFor({ timeout: 30_000 });
        step('a finished review was recorded; training on 1 row was refused');

        await wb.runCommand('Aligner: Train Aligner');
        await wb.pick('qac.jsonl');
        await wb.pick('val.jsonl');
        await wb.pick('tiny', /^tiny/);
        await wb.pick('Max steps', 'Max steps: none');
        await wb.answer('optimizer steps', '30');
        await wb.pick('Batch size', 'Max steps: 30');
        await wb.answer('Examples per optimizer step', '4');
        await wb.pick('Continue', 'Batch size: 4');
        await wb.answer('A name for this run', RUN_NAME);
        await wb.page.locator('.monaco-dialog-box', { hasText: 'Length: 30 steps' }).waitFor({ timeout: 30_000 });
        await wb.screenshot('6-train-confirm');
        await wb.dialogButton('Start Training');
        step('started the training run from the palette');

        // The progress notification shows the step and ETA while it runs.
        const progress = wb.notification(/Training e2e-tiny/);
        await progress.first().waitFor({ timeout: 60_000 });
        await wb.runCommand('Aligner: Show Runs');
        const frame: Frame = await wb.webviewFrame('[data-table="runs"]');
        step('the dashboard is open');
        await frame.locator('vscode-data-grid-row', { hasText: RUN_NAME }).first().waitFor({ timeout: 30_000 });

        // Live: the step shown in the dashboard increases until the run succeeds.
        const steps: number[] = [];
        let notified = '';
        let announced = false;
        const finishedNote = wb.notification(/Training “e2e-tiny” finished/);
        // Toasts hide by themselves after a while: watch for them while polling the dashboard.
        await until('the run to succeed in the dashboard and its notification', 240_000, async () => {
          const text = await frame
            .locator('.stat[data-stat="step"] .stat-value')
            .first()
            .textContent()
            .catch(() => null);
          const n = Number(/^(\d+)/.exec(text ?? '')?.[1]);
          if (Number.isFinite(n) && n !== steps.at(-1)) {
            steps.push(n);
            if (steps.length === 2) await wb.screenshot('7-dashboard-live');
          }
          const note = await progress
            .first()
            .textContent({ timeout: 100 })
            .catch(() => null);
          if (note && /step \d+\/30/.test(note)) notified = note;
          announced ||= (await finishedNote.count()) > 0;
          return announced && (await frame.locator('.run-detail[data-status="succeeded"]').count()) ? true : undefined;
        });
        step(`steps seen in the dashboard: ${steps.join(', ')}`);
        assert.ok(steps.length >= 2, `the step count updated live (saw ${steps.join(', ')})`);
        assert.deepEqual(
          [...steps].sort((a, b) => a - b),
          steps,
          'steps only increase',
        );
        assert.equal(steps.at(-1), 30);
        assert.match(notified, /step \d+\/30 · loss [\d.]+/, 'the progress notification showed the step and loss');
        assert.ok(await frame.locator('canvas').count(), 'the loss and learning-rate charts are drawn');
        await frame
          .locator('vscode-data-grid-row', { hasText: RUN_NAME })
          .locator('.badge', { hasText: 'succeeded' })
          .waitFor({ timeout: 10_000 });
        await wb.screenshot('8-dashboard-succeeded');
      },
      async () => {
        await wb.runCommand('Notifications: Show Notifications', 1);
        await wb.screenshot('runs-failure-notifications');
      },
    );
  },
);

test('the dashboard renders real run data in headless Chromium', { skip, timeout: 300_000 }, async () => {
  // The training run from the first test, or a fresh one when it did not run.
  let train = (await conn.listJobs()).find((j) => j.name === RUN_NAME && j.status === 'succeeded');
  if (!train) {
    const started = await conn.startJob({
      kind: 'train',
      name: RUN_NAME,
      config: {
        data: [join(data, 'qac.jsonl')],
        val: join(data, 'val.jsonl'),
        preset: 'tiny',
        maxSteps: 30,
        saveEvery: 6,
        batchSize: 4,
      },
    });
    train = (await finished(started.id)).job;
  }
  assert.equal(train.status, 'succeeded');
  const exp = await conn.startJob({ kind: 'export', name: `${RUN_NAME}-model`, config: { run: train.id } });
  const expDone = await finished(exp.id);
  assert.equal(expDone.job.status, 'succeeded', expDone.logTail);
  const ev = await conn.startJob({
    kind: 'eval',
    name: 'e2e-eval',
    config: {
      model: exp.id,
      data: [join(data, 'qac.jsonl')],
      judges: ['reference', 'preference', 'harmlessness'],
      limit: 8,
      maxNewTokens: 24,
    },
  });
  const evDone = await finished(ev.id);
  assert.equal(evDone.job.status, 'succeeded', evDone.logTail);
  // A second evaluation, of the random-weight test model, to compare with.
  const ev2 = await conn.startJob({
    kind: 'eval',
    name: 'e2e-eval-random',
    config: {
      model,
      data: [join(data, 'qac.jsonl')],
      judges: ['reference', 'preference', 'harmlessness'],
      limit: 8,
      maxNewTokens: 24,
    },
  });
  const ev2Done = await finished(ev2.id);
  assert.equal(ev2Done.job.status, 'succeeded', ev2Done.logTail);
  const trainDetail: JobDetail = await conn.getJob(train.id);
  step(`real jobs: ${train.id}, ${exp.id}, ${ev.id}, ${ev2.id}`);

  const hub = new JobHub({ ensure: async () => conn, log: silent });
  const tmp = join(runRoot, 'harness');
  mkdirSync(tmp, { recursive: true });
  const h = await openDashboardHarness({ root, chromiumPath: loadTools(root).chromium, hub, tmpDir: tmp });
  try {
    const page = h.page;
    const row = (id: string) => page.locator(`vscode-data-grid-row[data-key="${id}"]`);
    await row(train.id).waitFor({ timeout: 30_000 });
    assert.equal(
      await page.locator('[data-table="runs"] vscode-data-grid-row[data-key]').count(),
      (await conn.listJobs()).length,
    );

    // A training run: progress, the real last step's loss and eval loss, and drawn curves.
    await row(train.id).click();
    await page.locator(`.run-detail[data-job="${train.id}"] canvas`).first().waitFor({ timeout: 30_000 });
    const stat = (k: string) => page.locator(`.stat[data-stat="${k}"] .stat-value`).textContent();
    const lastStep = trainDetail.events.filter((e) => e.event === 'step').at(-1)!;
    const lastEval = trainDetail.events.filter((e) => e.event === 'eval').at(-1)!;
    assert.equal(await stat('step'), '30 / 30');
    assert.equal(await stat('loss'), fmtLoss(lastStep.loss as number));
    assert.equal(await stat('eval loss'), fmtLoss(lastEval.eval_loss as number));
    assert.match((await page.locator('.progress-label').textContent()) ?? '', /^100% · step 30\/30/);
    const inked = await page.locator('[data-chart="loss"] canvas').evaluate((c: HTMLCanvasElement) => {
      const { width, height } = c;
      const px = c.getContext('2d')!.getImageData(0, 0, width, height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return { width, height, n };
    });
    assert.ok(
      inked.width > 200 && inked.height > 100 && inked.n > 2000,
      `the loss chart is drawn (${JSON.stringify(inked)})`,
    );
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

    // An evaluation: the tables carry the summary's numbers, the examples the rows' texts, as word diffs.
    await row(ev.id).click();
    await page.locator('[data-table="per-upstream"]').waitFor({ timeout: 30_000 });
    const summary = parseSummary(evDone.evalSummary)!;
    const gridText = async (name: string) =>
      (await page.locator(`[data-table="${name}"]`).innerText()).replace(/\s+/g, ' ');
    const perUpstream = await gridText('per-upstream');
    const expectedUpstream = upstreamRows(summary);
    assert.ok(expectedUpstream.length > 0);
    for (const r of expectedUpstream)
      for (const cell of [r.upstream, r.judge, fmtStat(r.improvement), r.counts])
        assert.ok(perUpstream.includes(cell), `per-upstream shows ${cell}`);
    const perJudge = await gridText('per-judge');
    for (const r of judgeRows(summary.overall))
      assert.ok(
        perJudge.includes(fmtStat(r.value, r.metric === 'tokens/s' ? 0 : 1)),
        `per-judge shows ${r.judge} ${fmtStat(r.value)}`,
      );
    const records = readFileSync(join(evDone.job.artifacts.evalDir!, 'rows.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    await page.locator('.example').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.example').count(), Math.min(10, records.length));
    assert.equal(await page.locator('.example').first().getAttribute('data-row'), records[0]!.id);
    assert.ok(((await page.locator('.example-question').first().textContent()) ?? '').endsWith(records[0]!.question!));
    assert.ok((await page.locator('.example ins, .example del').count()) > 0, 'the examples show word diffs');
    await page.screenshot({ path: join(shots, 'dashboard-eval.png'), fullPage: true });

    // "Use this model" loads the export into the server as its default model.
    await row(exp.id).click();
    await page.locator('vscode-button[data-action="use-model"]').click();
    await page.locator('.notice.visible', { hasText: `${RUN_NAME}-model is loaded` }).waitFor({ timeout: 60_000 });
    assert.equal((await conn.listModels()).defaultModel, `${RUN_NAME}-model`);

    // Compare: the two evaluations side by side, with the difference of their headline measures.
    await page.locator('vscode-panel-tab[data-tab="compare"]').click();
    const choose = async (which: 'a' | 'b', name: string) => {
      await page.locator(`[data-select="compare-${which}"]`).click();
      await page.locator(`[data-select="compare-${which}"] vscode-option`, { hasText: `eval · ${name} (` }).click();
    };
    await choose('a', 'e2e-eval');
    await choose('b', 'e2e-eval-random');
    await page.locator('[data-table="compare-eval"]').waitFor({ timeout: 30_000 });
    const compared = await gridText('compare-eval');
    const [sa, sb] = [summary, parseSummary(ev2Done.evalSummary)!].map(
      (x) => x.overall.judges.reference!.improvementPct as Stat,
    );
    assert.ok(
      compared.includes(`reference improvement % ${fmtStat(sa)} ${fmtStat(sb)} ${fmtNumber(sb!.mean! - sa!.mean!)}`),
      compared,
    );
    await page.screenshot({ path: join(shots, 'dashboard-compare.png'), fullPage: true });

    assert.deepEqual(await h.cspViolations(), [], 'nothing breaks the strict CSP');
    assert.deepEqual(h.errors, []);
    step('the dashboard rendered the real train, export and eval runs');
  } finally {
    await h.close();
  }
});
