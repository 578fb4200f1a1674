// Accepting hunks: re-anchor each against the current text, then apply all of them as ONE
// WorkspaceEdit (one undo step). Pure apart from the small `EditApi` the caller passes in,
// which in the extension wraps vscode.WorkspaceEdit / workspace.applyEdit and in tests is a fake.
import { reanchor, type Anchor } from './reanchor.js';

export interface AcceptableHunk extends Anchor {
  id: number;
  newText: string;
}

export interface PlannedEdit {
  hunkId: number;
  start: number;
  end: number;
  newText: string;
}

export interface Refusal {
  hunkId: number;
  reason: string;
}

/** Decides, against `text`, where each hunk applies, and which ones cannot be applied safely. */
export function planEdits(
  text: string,
  hunks: readonly AcceptableHunk[],
): { edits: PlannedEdit[]; refused: Refusal[] } {
  const edits: PlannedEdit[] = [];
  const refused: Refusal[] = [];
  for (const h of hunks) {
    const r = reanchor(text, h);
    if (r.ok) edits.push({ hunkId: h.id, start: r.start, end: r.end, newText: h.newText });
    else refused.push({ hunkId: h.id, reason: r.reason });
  }
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  // Two hunks re-anchored onto overlapping text cannot both be right: keep the first, refuse the next.
  const kept: PlannedEdit[] = [];
  for (const e of edits) {
    const prev = kept[kept.length - 1];
    if (prev && (e.start < prev.end || (e.start === prev.end && e.start === e.end && prev.start === prev.end))) {
      refused.push({ hunkId: e.hunkId, reason: 'it overlaps another change after the document was edited' });
    } else kept.push(e);
  }
  return { edits: kept, refused };
}

/** The document as the apply step needs it (vscode.TextDocument satisfies this). */
export interface EditTarget<Uri, Pos> {
  readonly uri: Uri;
  readonly version: number;
  getText(): string;
  positionAt(offset: number): Pos;
}

/** The few VS Code calls the apply step makes; one `createEdit` + one `applyEdit` per attempt. */
export interface EditApi<Uri, Pos, Edit> {
  createEdit(): Edit;
  replace(edit: Edit, uri: Uri, start: Pos, end: Pos, newText: string): void;
  applyEdit(edit: Edit): PromiseLike<boolean>;
}

export interface AcceptResult {
  applied: number[];
  refused: Refusal[];
  /** Set when VS Code rejected the edit (it does when the document changed in between). */
  failure?: string;
  attempts: number;
}

export async function acceptHunks<Uri, Pos, Edit>(
  api: EditApi<Uri, Pos, Edit>,
  doc: EditTarget<Uri, Pos>,
  hunks: readonly AcceptableHunk[],
  maxAttempts = 3,
): Promise<AcceptResult> {
  for (let attempt = 1; ; attempt++) {
    const version = doc.version;
    const { edits, refused } = planEdits(doc.getText(), hunks);
    if (edits.length === 0) return { applied: [], refused, attempts: attempt };
    const edit = api.createEdit();
    for (const e of edits) api.replace(edit, doc.uri, doc.positionAt(e.start), doc.positionAt(e.end), e.newText);
    if (await api.applyEdit(edit)) return { applied: edits.map((e) => e.hunkId), refused, attempts: attempt };
    // VS Code refuses an edit computed for an older version; re-plan against the new text.
    if (doc.version === version || attempt >= maxAttempts) {
      return {
        applied: [],
        refused,
        attempts: attempt,
        failure:
          doc.version === version
            ? 'VS Code did not apply the edit (is the document read-only?)'
            : 'the document kept changing while the correction was being applied; try again',
      };
    }
  }
}
