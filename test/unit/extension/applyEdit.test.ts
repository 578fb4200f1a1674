// Accepting hunks against a small fake of the VS Code objects the apply step uses:
// a document with a version, a WorkspaceEdit that records replacements, and applyEdit that,
// like VS Code, refuses an edit computed for an older document version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptHunks, planEdits, type AcceptableHunk, type EditApi } from '../../../extension/review/applyEdit.js';
import { computeHunks, applyHunks } from '../../../extension/review/hunks.js';
import { contextAround } from '../../../extension/review/reanchor.js';

class FakeDoc {
  version = 1;
  readonly uri = 'untitled:Untitled-1';
  undoStack: string[] = [];
  constructor(public text: string) {}
  getText() {
    return this.text;
  }
  positionAt(offset: number) {
    return offset; // positions are offsets in the fake
  }
  /** Someone types: a change the review must survive. */
  type(offset: number, deleteCount: number, insert: string) {
    this.text = this.text.slice(0, offset) + insert + this.text.slice(offset + deleteCount);
    this.version++;
  }
}

interface FakeEdit {
  versionAtCreation: number;
  replacements: { start: number; end: number; text: string }[];
}

function fakeApi(doc: FakeDoc, beforeApply?: () => void) {
  const calls = { applyEdit: 0, created: 0 };
  const api: EditApi<string, number, FakeEdit> = {
    createEdit: () => {
      calls.created++;
      return { versionAtCreation: doc.version, replacements: [] };
    },
    replace: (edit, _uri, start, end, text) => edit.replacements.push({ start, end, text }),
    applyEdit: async (edit) => {
      calls.applyEdit++;
      beforeApply?.();
      beforeApply = undefined;
      if (edit.versionAtCreation !== doc.version) return false; // VS Code: the document changed
      doc.undoStack.push(doc.text);
      for (const r of [...edit.replacements].sort((a, b) => b.start - a.start))
        doc.type(r.start, r.end - r.start, r.text);
      doc.version = edit.versionAtCreation + 1;
      return true;
    },
  };
  return { api, calls };
}

function hunksFor(text: string, corrected: string): AcceptableHunk[] {
  return computeHunks(text, corrected, 'word').map((h, i) => ({
    ...h,
    id: i + 1,
    ...contextAround(text, h.start, h.end),
  }));
}

const original = 'Paris is the capitol of Germany. It has many musuems.';
const corrected = 'Paris is the capital of France. It has many museums.';

test('accept all: one WorkspaceEdit, one applyEdit call, one undo step, text equals the correction', async () => {
  const doc = new FakeDoc(original);
  const hunks = hunksFor(original, corrected);
  assert.equal(hunks.length, 3);
  const { api, calls } = fakeApi(doc);
  const r = await acceptHunks(api, doc, hunks);
  assert.deepEqual(r.applied, [1, 2, 3]);
  assert.equal(calls.created, 1);
  assert.equal(calls.applyEdit, 1);
  assert.equal(doc.undoStack.length, 1);
  assert.equal(doc.text, corrected);
  assert.equal(doc.undoStack[0], original);
});

test('accept a subset: only those hunks change the text', async () => {
  const doc = new FakeDoc(original);
  const hunks = hunksFor(original, corrected);
  const { api } = fakeApi(doc);
  await acceptHunks(api, doc, [hunks[0]!, hunks[2]!]);
  assert.equal(doc.text, 'Paris is the capital of Germany. It has many museums.');
  assert.equal(
    doc.text,
    applyHunks(original, hunks, (_h, i) => i !== 1),
  );
});

test('version conflict: the user types between planning and applying; re-planned, applied to the right text', async () => {
  const doc = new FakeDoc(original);
  const hunks = hunksFor(original, corrected);
  const { api, calls } = fakeApi(doc, () => doc.type(0, 0, 'Note: '));
  const r = await acceptHunks(api, doc, hunks);
  assert.equal(calls.applyEdit, 2);
  assert.equal(r.attempts, 2);
  assert.equal(doc.text, 'Note: ' + corrected);
});

test('a hunk whose text the user rewrote is refused, the others still apply', async () => {
  const doc = new FakeDoc(original);
  const hunks = hunksFor(original, corrected);
  doc.type(original.indexOf('Germany'), 'Germany'.length, 'Spain');
  const { api } = fakeApi(doc);
  const r = await acceptHunks(
    api,
    doc,
    hunks.map((h) => (h.oldText === 'Germany' ? { ...h, touched: true } : h)),
  );
  assert.deepEqual(
    r.refused.map((x) => x.hunkId),
    [2],
  );
  assert.match(r.refused[0]!.reason, /"Germany"/);
  assert.equal(doc.text, 'Paris is the capital of Spain. It has many museums.');
});

test('a document that keeps changing gives up with a clear failure instead of looping', async () => {
  const doc = new FakeDoc(original);
  const hunks = hunksFor(original, corrected);
  const api: EditApi<string, number, FakeEdit> = {
    createEdit: () => ({ versionAtCreation: doc.version, replacements: [] }),
    replace: () => undefined,
    applyEdit: async () => {
      doc.type(0, 0, '.');
      return false;
    },
  };
  const r = await acceptHunks(api, doc, hunks);
  assert.equal(r.applied.length, 0);
  assert.match(r.failure ?? '', /kept changing/);
});

test('planEdits never lets two hunks land on overlapping text', () => {
  const text = 'aaa bbb aaa';
  const h = (id: number, start: number): AcceptableHunk => ({
    id,
    start,
    end: start + 3,
    oldText: 'aaa',
    newText: 'X',
    before: '',
    after: '',
    touched: true,
  });
  const plan = planEdits(text, [h(1, 0), h(2, 0)]);
  assert.equal(plan.edits.length, 1);
  assert.equal(plan.refused.length, 1);
});
