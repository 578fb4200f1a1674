// Follows review sessions to notice when a corrected region has had every change accepted or
// rejected, and turns it into a training row. Pure (no vscode): it reads the review session's
// public state (regions, hunks) and is told which hunks the user accepted or rejected.
import { buildReviewRow, type DecidedHunk, type ReviewRow } from './reviewRows.js';

/** What the recorder reads of a ReviewSession (extension/review/reviewSession.ts). */
export interface SessionView {
  regions: ReadonlyMap<
    number,
    {
      id: number;
      requestId: string;
      start: number;
      originalText: string;
      question: string;
      status: 'streaming' | 'done';
    }
  >;
  hunksOfRegion(
    regionId: number,
  ): readonly { id: number; start: number; end: number; oldText: string; newText: string }[];
  readonly hunks: readonly { id: number }[];
}

interface Tracked {
  doc: string;
  question: string;
  original: string;
  /** Hunk id -> the hunk in offsets of the original text. */
  hunks: Map<number, Omit<DecidedHunk, 'accepted'>>;
  decided: Map<number, boolean>;
}

export class ReviewRecorder {
  /** By the region's requestId: unique, unlike region ids, which restart in every new session. */
  private readonly regions = new Map<string, Tracked>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /**
   * Notes the finished regions of a document's session and their hunks, while their offsets still
   * match the original text (right after the correction finished). Forgets regions that vanished
   * without a decision (cancelled, document closed).
   */
  observe(doc: string, session: SessionView | undefined): void {
    const live = new Set<string>();
    for (const r of session?.regions.values() ?? []) {
      live.add(r.requestId);
      if (r.status !== 'done' || this.regions.has(r.requestId)) continue;
      const hunks = new Map<number, Omit<DecidedHunk, 'accepted'>>();
      for (const h of session!.hunksOfRegion(r.id)) {
        hunks.set(h.id, { start: h.start - r.start, end: h.end - r.start, oldText: h.oldText, newText: h.newText });
      }
      this.regions.set(r.requestId, { doc, question: r.question, original: r.originalText, hunks, decided: new Map() });
    }
    for (const [id, t] of this.regions) if (t.doc === doc && !live.has(id)) this.regions.delete(id);
  }

  /**
   * The user accepted or rejected `hunkIds` of `doc`; `session` is the state after that. Returns the
   * rows of the regions this finished (every hunk decided).
   */
  decided(doc: string, hunkIds: readonly number[], accepted: boolean, session: SessionView | undefined): ReviewRow[] {
    const stillPending = new Set((session?.hunks ?? []).map((h) => h.id));
    const rows: ReviewRow[] = [];
    for (const [id, t] of this.regions) {
      if (t.doc !== doc) continue;
      for (const h of hunkIds) if (t.hunks.has(h) && !stillPending.has(h)) t.decided.set(h, accepted);
      if (t.decided.size < t.hunks.size) continue;
      this.regions.delete(id);
      const row = buildReviewRow(
        {
          question: t.question,
          original: t.original,
          hunks: [...t.hunks].map(([hid, h]) => ({ ...h, accepted: t.decided.get(hid)! })),
        },
        this.now(),
      );
      if (row) rows.push(row);
    }
    return rows;
  }
}
