// The correction command's order (no VS Code): the spans are read once the server is ready, so text
// typed during a cold start cannot shift them onto the wrong words; a document edited while the
// question is asked is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCorrectionFlow, type CorrectionRunDeps } from '../../../extension/correctionRun.js';

type Span = { start: number; end: number };

/** A document with a selection over `selected`, where typing inserts before it. */
function fakeEditor(text: string, selected: string) {
  const doc = { text, version: 1 };
  const selection = () => {
    const start = doc.text.indexOf(selected);
    return { start, end: start + selected.length };
  };
  const type = (insert: string) => {
    doc.text = insert + doc.text;
    doc.version++;
  };
  return { doc, selection, type };
}

function deps(
  editor: ReturnType<typeof fakeEditor>,
  over: Partial<CorrectionRunDeps<Span, string>> = {},
): CorrectionRunDeps<Span, string> & { corrected: string[][]; messages: string[] } {
  const corrected: string[][] = [];
  const messages: string[] = [];
  return {
    corrected,
    messages,
    ensureServer: async () => {},
    takeSpans: () => [editor.selection()],
    documentVersion: () => editor.doc.version,
    plan: async (spans) => spans.map((s) => editor.doc.text.slice(s.start, s.end)),
    correct: async (planned) => void corrected.push(planned),
    showError: (m) => messages.push(`error: ${m}`),
    showWarning: (m) => messages.push(`warning: ${m}`),
    showInfo: (m) => messages.push(`info: ${m}`),
    ...over,
  };
}

test('text typed while the server starts: the spans are taken after it is ready, over the selected text', async () => {
  const editor = fakeEditor('Q: Is the sky blue?\nA: No, it is green.', 'No, it is green.');
  const d = deps(editor, {
    // A cold start, during which the user types above the answer.
    ensureServer: async () => editor.type('Some notes typed meanwhile.\n'),
  });
  assert.equal(await runCorrectionFlow(d), 'started');
  assert.deepEqual(d.corrected, [['No, it is green.']]);
});

test('the document changes while the question is asked: refused, nothing is corrected', async () => {
  const editor = fakeEditor('An answer.', 'An answer.');
  const d = deps(editor, {
    plan: async (spans) => {
      editor.type('x');
      return spans.map(() => 'question');
    },
  });
  assert.equal(await runCorrectionFlow(d), 'document-changed');
  assert.deepEqual(d.corrected, []);
  assert.match(d.messages[0]!, /^warning: the document changed/);
});

test('no server: the error is shown and no spans are taken', async () => {
  const editor = fakeEditor('text', 'text');
  let taken = false;
  const d = deps(editor, {
    ensureServer: async () => {
      throw new Error('the server did not start');
    },
    takeSpans: () => ((taken = true), []),
  });
  assert.equal(await runCorrectionFlow(d), 'no-server');
  assert.equal(taken, false);
  assert.deepEqual(d.messages, ['error: the server did not start']);
});

test('nothing selected once the server is ready: says how to select', async () => {
  const editor = fakeEditor('text', 'text');
  const d = deps(editor, { takeSpans: () => [] });
  assert.equal(await runCorrectionFlow(d), 'nothing-selected');
  assert.match(d.messages[0]!, /^info: select the answer/);
});
