// End to end, in a real VS Code (code-server) driven through headless Chromium, with the packaged
// .vsix: the user's steps from the palette to the saved file. The expected text comes from the same
// server asked directly over its protocol (greedy decoding), with the same hunk choices applied by
// the project's hunk module. Run with `npm run test:e2e` (scripts/e2e-run.sh prepares everything): it
// runs this file in the newest VS Code and in the oldest one that engines.vscode admits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { validateSettings, type AlignerSettings } from '../../extension/config.js';
import { applyHunks, computeHunks, type RawHunk } from '../../extension/review/hunks.js';
import { describeHunk } from '../../extension/review/labels.js';
import { inferQuestion, trimSpan } from '../../extension/questionInference.js';
import { CORPUS } from '../../server/testmodel/corpus.js';
import {
  QUIET_WORKBENCH_SETTINGS,
  findPids,
  loadTools,
  removeRunFolder,
  startCodeServer,
  vscodeTarget,
  type CodeServer,
} from './codeServer.js';
import { startDirectServer, type DirectServer } from './directServer.js';
import { Workbench, runInWorkbench } from './workbench.js';

const root = join(import.meta.dirname, '../..');
const target = vscodeTarget();
const runRoot = join(root, '.e2e/runs', `${target}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const shots = join(root, 'test-results', target); // one folder per VS Code
const inVsCode = ` (${target} VS Code)`; // in the test names
const model = process.env.ALIGNER_E2E_MODEL ?? join(root, '.e2e/models/tiny-llama');
// A bigger (17M) random model for the kill test: it streams slowly enough (tens of tokens/s) that the
// server can be killed mid-stream on any machine; the tiny one can finish 1500 tokens in a second.
const slowModel = process.env.ALIGNER_E2E_SLOW_MODEL ?? join(root, '.e2e/models/llama-17m');
const QUESTION = 'Can you explain this?';
const t0 = Date.now();
const step = (m: string) => console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

function findVsix(): string {
  if (process.env.ALIGNER_VSIX) return process.env.ALIGNER_VSIX;
  const f = readdirSync(join(root, 'dist')).filter((n) => n.endsWith('.vsix'));
  if (!f.length) throw new Error('no .vsix in dist/: run `npm run package`');
  return join(root, 'dist', f[0]!);
}

/** The VS Code user settings of a scenario, and the same settings as the extension reads them. */
function scenarioSettings(
  modelPath: string,
  maxNewTokens: number,
): { user: Record<string, unknown>; aligner: AlignerSettings } {
  const aligner = { 'model.path': modelPath, 'generation.maxNewTokens': maxNewTokens, 'diff.granularity': 'word' };
  const user: Record<string, unknown> = {
    ...QUIET_WORKBENCH_SETTINGS,
    'editor.wordWrap': 'on',
    'editor.minimap.enabled': false,
  };
  for (const [k, v] of Object.entries(aligner)) user[`aligner.${k}`] = v;
  const r = validateSettings((k) => (aligner as Record<string, unknown>)[k]);
  assert.deepEqual(r.problems, []);
  return { user, aligner: r.settings };
}

/** The document, the answer's span as the extension computes it, and the inferred question. */
function qaDocument(answer: string) {
  const text = `Q: ${QUESTION}\nA: ${answer}\n`;
  const selStart = text.indexOf('A: ') + 3; // the UI selects from here to the end
  const span = trimSpan(text, selStart, text.length);
  const q = inferQuestion(text, span.start, span.end);
  assert.equal(q?.question, QUESTION);
  assert.equal(text.slice(span.start, span.end), answer);
  return { text, span };
}

/** Answers to try, from the test tokenizer's corpus (so the model's vocabulary covers them). */
function candidateAnswers(): string[] {
  return CORPUS.split('\n')
    .filter((l) => l.length > 80 && l.length < 400)
    .map((l) => l.replace(/^.*?(ASSISTANT|##Correction|##Answer): /, ''));
}

let tools: ReturnType<typeof loadTools>;
let vsix: string;

before(() => {
  tools = loadTools(root);
  vsix = findVsix();
  for (const m of [model, slowModel]) assert.ok(existsSync(join(m, 'config.json')), `no test model at ${m}`);
  mkdirSync(runRoot, { recursive: true });
  mkdirSync(shots, { recursive: true });
  step(`${target} VS Code ${tools.vscode}; vsix ${vsix}; model ${model}; run folder ${runRoot}`);
});

after(() => removeRunFolder(runRoot));

async function withVsCode(
  name: string,
  settings: Record<string, unknown>,
  fileText: string,
  body: (wb: Workbench, cs: CodeServer) => Promise<void>,
) {
  const runDir = join(runRoot, name);
  const workspace = join(runDir, 'ws');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'answer.md'), fileText);
  const cs = await startCodeServer({ tools, runDir, vsix, workspace, settings });
  step(`${name}: code-server ${cs.codeServerVersion} up at ${cs.url}`);
  const wb = await Workbench.openVsCode(tools, runDir, cs, shots);
  step(`${name}: the workbench runs VS Code ${cs.vscodeVersion} (${target})`);
  await runInWorkbench(wb, cs, `${name}-failure`, () => body(wb, cs));
}

async function waitForFile(path: string, expected: string, timeoutMs = 10_000): Promise<string> {
  let disk = '';
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    disk = readFileSync(path, 'utf8');
    if (disk === expected) break;
  }
  return disk;
}

test(`correct a selection, accept one change, reject another, save${inVsCode}`, { timeout: 300_000 }, async () => {
  const { aligner, user } = scenarioSettings(model, 96);
  // A random-weight model writes noise: pick an answer whose correction splits into >= 2 hunks with
  // distinct labels, so that "accept one, reject another" is meaningful and their lenses unambiguous.
  const direct: DirectServer = await startDirectServer(root, model, aligner, runRoot);
  let chosen: { answer: string; corrected: string; hunks: RawHunk[] } | undefined;
  let untitled: { text: string; expected: string } | undefined;
  try {
    for (const answer of candidateAnswers()) {
      const corrected = await direct.correct(QUESTION, answer);
      const hunks = computeHunks(answer, corrected, 'word');
      const labels = hunks.map(describeHunk);
      if (
        hunks.length >= 2 &&
        new Set(labels.slice(0, 2)).size === 2 &&
        labels.slice(2).every((l) => l !== labels[0] && l !== labels[1])
      ) {
        chosen = { answer, corrected, hunks };
        break;
      }
    }
    // A second, unsaved document: "Question:" header, the answer below it, accepted with the keyboard.
    const answer2 = candidateAnswers().find((a) => a !== chosen?.answer)!;
    const text2 = `Question: ${QUESTION}\n\n${answer2}`;
    untitled = { text: text2, expected: text2.replace(answer2, await direct.correct(QUESTION, answer2)) };
  } finally {
    await direct.stop();
  }
  assert.ok(chosen, 'no candidate answer gave two distinct hunks');
  const { answer, hunks } = chosen;
  const { text, span } = qaDocument(answer);
  const expected = text.slice(0, span.start) + applyHunks(answer, hunks, (_h, i) => i === 0) + text.slice(span.end);
  step(`answer with ${hunks.length} hunks: accept "${describeHunk(hunks[0]!)}", reject "${describeHunk(hunks[1]!)}"`);

  await withVsCode('accept-reject', user, text, async (wb, cs) => {
    await wb.openFile('answer.md', 'Q: Can you explain');
    await wb.selectToEnd(2, 3);
    await wb.runCommand('Aligner: Correct Selection');
    step('ran "Aligner: Correct Selection"');
    await wb.codeLens('Aligner: Accept All').first().waitFor({ timeout: 180_000 });
    const accepts = wb.codeLens('✓ Accept');
    assert.equal(await accepts.count(), hunks.length, 'one Accept lens per expected hunk');
    await wb
      .statusItem(/Aligner: .*\(cpu\)/)
      .first()
      .waitFor({ timeout: 10_000 });
    await wb.screenshot('1-review');
    step(`review shows ${hunks.length} hunks`);

    await wb
      .codeLens(`✓ Accept ${describeHunk(hunks[0]!)}`)
      .first()
      .click();
    await waitForCount(accepts, hunks.length - 1);
    await wb.codeLensAfter(`✓ Accept ${describeHunk(hunks[1]!)}`).click();
    await waitForCount(accepts, hunks.length - 2);
    await wb.screenshot('2-after-accept-and-reject');
    step('accepted one hunk, rejected another');

    await wb.save();
    const disk = await waitForFile(join(cs.workspace, 'answer.md'), expected);
    assert.equal(disk, expected);
    step('saved file equals the expected text');

    // Untitled, never saved: select the answer, correct, open the diff beside, accept all by keyboard.
    await wb.page.keyboard.press('Control+n');
    await wb.page.locator('.editor-instance .view-lines').first().waitFor();
    await wb.page.keyboard.insertText(untitled!.text);
    await wb.selectToEnd(3, 0);
    await wb.runCommand('Aligner: Correct Selection');
    await wb.codeLens('Aligner: Accept All').first().waitFor({ timeout: 60_000 });
    await wb.runCommand('Aligner: Open as Diff');
    await wb.page
      .locator('.monaco-diff-editor .editor.modified .view-lines', { hasText: 'Question: Can you explain' })
      .first()
      .waitFor({ timeout: 30_000 });
    await wb.screenshot('2b-untitled-review-with-diff');
    await wb.page.keyboard.press('Control+Shift+Enter'); // Accept All, only while a review is active
    await waitForCount(wb.codeLens('Aligner: Accept All'), 0);
    const shown = await wb.page
      .locator('.editor-group-container')
      .first()
      .locator('.editor-instance .view-lines')
      .first()
      .innerText();
    const norm = (t: string) => t.replace(/[\s\u00a0]+/g, ' ').trim();
    assert.equal(norm(shown), norm(untitled!.expected));
    await wb.screenshot('2c-untitled-accepted');
    step('untitled document: corrected, diff opened beside, accepted with Ctrl+Shift+Enter');
  });
});

test(
  `accept a correction of several changes, then one Undo restores the original text exactly${inVsCode}`,
  { timeout: 300_000 },
  async () => {
    const { aligner, user } = scenarioSettings(model, 96);
    // Several hunks, so that "Accept All" writes several replacements and one Undo must take them all back.
    const direct = await startDirectServer(root, model, aligner, runRoot);
    let chosen: { answer: string; hunks: RawHunk[] } | undefined;
    try {
      for (const answer of candidateAnswers()) {
        const hunks = computeHunks(answer, await direct.correct(QUESTION, answer), 'word');
        if (hunks.length >= 2) {
          chosen = { answer, hunks };
          break;
        }
      }
    } finally {
      await direct.stop();
    }
    assert.ok(chosen, 'no candidate answer gave two hunks');
    const { answer, hunks } = chosen;
    const { text, span } = qaDocument(answer);
    const corrected = text.slice(0, span.start) + applyHunks(answer, hunks, () => true) + text.slice(span.end);
    assert.notEqual(corrected, text);
    step(`undo: answer with ${hunks.length} hunks`);

    await withVsCode('undo', user, text, async (wb, cs) => {
      const file = join(cs.workspace, 'answer.md');
      await wb.openFile('answer.md', 'Q: Can you explain');
      await wb.selectToEnd(2, 3);
      await wb.runCommand('Aligner: Correct Selection');
      await wb.codeLens('Aligner: Accept All').first().waitFor({ timeout: 180_000 });
      // The scenario's model (aligner.model.path from the user settings), not the bundled default.
      await wb
        .statusItem(`Aligner: ${basename(model)} (cpu)`)
        .first()
        .waitFor({ timeout: 10_000 });
      assert.equal(await wb.codeLens('✓ Accept').count(), hunks.length, 'one Accept lens per expected hunk');
      await wb.codeLens('Aligner: Accept All').first().click();
      await waitForCount(wb.codeLens('✓ Accept'), 0);
      await wb.dirtyTab().first().waitFor({ timeout: 10_000 }); // edited, not saved (auto-save is off)
      await wb.save();
      assert.equal(await waitForFile(file, corrected), corrected);
      await wb.screenshot('2d-undo-accepted');
      step(`accepted all ${hunks.length} changes and saved`);

      // One Undo in the editor (the keyboard, as a user does), then save: the file is the original, byte for byte.
      await wb.lines.click();
      await wb.page.keyboard.press('Control+z');
      await wb.dirtyTab().first().waitFor({ timeout: 10_000 });
      await wb.page.keyboard.press('Control+s');
      assert.equal(await waitForFile(file, text), text);
      assert.equal(await wb.codeLens('Accept').count(), 0, 'the undo brought no review back');
      await wb.screenshot('2e-undone');
      step('one Undo restored the original text exactly');
    });
  },
);

test(
  `the server dies mid-stream: the document is untouched, and the next correction works${inVsCode}`,
  { timeout: 300_000 },
  async () => {
    const MAX = 1600; // with the 17M model: several seconds of streaming, time to kill the server in the middle
    const { aligner, user } = scenarioSettings(slowModel, MAX);
    // An answer whose correction runs to the token limit (the random model stops early on some), so
    // the stream lasts seconds and the server can be killed in the middle of it.
    const direct = await startDirectServer(root, slowModel, aligner, runRoot);
    let answer = '';
    let corrected = '';
    try {
      for (const candidate of candidateAnswers()) {
        const r = await direct.correctFull(QUESTION, candidate);
        if (r.finishReason === 'length') {
          answer = candidate;
          corrected = r.text;
          step(
            `answer whose correction streams ${r.usage.completionTokens} tokens (${r.timings.decodeTokensPerSecond.toFixed(0)} tokens/s directly)`,
          );
          break;
        }
      }
    } finally {
      await direct.stop();
    }
    assert.ok(answer, 'no candidate answer gave a long correction');
    const { text, span } = qaDocument(answer);
    const expected = text.slice(0, span.start) + corrected + text.slice(span.end);

    await withVsCode('server-dies', user, text, async (wb, cs) => {
      await wb.openFile('answer.md', 'Q: Can you explain');
      await wb.selectToEnd(2, 3);
      await wb.runCommand('Aligner: Correct Selection');
      // The "correcting…" lens is a label (no command); its "Cancel" neighbour is a link.
      await wb.codeLens('Cancel').first().waitFor({ timeout: 180_000 });
      await wb.page.waitForTimeout(300); // let some deltas stream in
      await wb.screenshot('3-streaming');
      assert.ok(await wb.codeLens('Cancel').count(), 'still streaming when the server is killed (else raise MAX)');
      const pids = findPids(['aligner.js', 'serve', cs.userDataDir]);
      assert.equal(pids.length, 1, `exactly one extension server process (found ${pids.join(',')})`);
      process.kill(pids[0]!, 'SIGKILL');
      step(`killed the server (pid ${pids[0]}) mid-stream`);

      await wb
        .notification(/connection to the Aligner server was lost|killed by SIGKILL/)
        .first()
        .waitFor({ timeout: 30_000 });
      await waitForCount(wb.codeLens('Cancel'), 0);
      assert.equal(await wb.dirtyTab().count(), 0, 'the document was never modified');
      assert.equal(await wb.codeLens('Accept').count(), 0, 'no hunks from the broken stream');
      assert.equal(readFileSync(join(cs.workspace, 'answer.md'), 'utf8'), text);
      await wb.screenshot('4-after-server-died');

      // The extension restarts its server (backoff 0.5 s): a new pid, and the status bar is ready again.
      for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 250))) {
        const now = findPids(['aligner.js', 'serve', cs.userDataDir]);
        if (now.length === 1 && now[0] !== pids[0]) break;
        if (Date.now() > end) throw new Error('the server was not restarted');
      }
      await wb
        .statusItem(/Aligner: .*\(cpu\)/)
        .first()
        .waitFor({ timeout: 60_000 });
      step('server restarted');

      await wb.selectToEnd(2, 3);
      await wb.runCommand('Aligner: Correct Selection');
      await wb.codeLens('Aligner: Accept All').first().waitFor({ timeout: 120_000 });
      await wb.codeLens('Aligner: Accept All').first().click();
      await waitForCount(wb.codeLens('✓ Accept'), 0);
      await wb.save();
      const disk = await waitForFile(join(cs.workspace, 'answer.md'), expected);
      await wb.screenshot('5-corrected-after-restart');
      assert.equal(disk, expected);
      step('the correction after the restart was applied and saved');
    });
  },
);

async function waitForCount(locator: ReturnType<Workbench['codeLens']>, n: number, timeoutMs = 20_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 100))) {
    const c = await locator.count();
    if (c === n) return;
    if (Date.now() > end) throw new Error(`expected ${n} of ${locator.toString()}, found ${c}`);
  }
}
