// The state of one document's pending corrections: regions being corrected (one per selection)
// and the hunks waiting for Accept/Reject. Pure (no vscode): everything is in document offsets,
// kept current by feeding it every document change; the vscode side only renders it.
import { computeHunks, previewHunks, type Granularity } from './hunks.js';
import { contextAround, reanchor, shiftForChange, type OffsetChange } from './reanchor.js';
import type { AcceptableHunk } from './applyEdit.js';

export interface SessionHunk extends AcceptableHunk {
  regionId: number;
}

export interface Region {
  id: number;
  requestId: string;
  start: number;
  end: number;
  /** An edit landed inside the region while it was being corrected. */
  touched?: boolean;
  originalText: string;
  /** Document text around the region when it was selected (anchors hunks if the region is edited). */
  before: string;
  after: string;
  question: string;
  corrected: string;
  status: 'streaming' | 'done';
}

export interface DecorationSpec {
  removed: { start: number; end: number; hunkId: number }[];
  added: { at: number; text: string; hunkId: number }[];
  /** Original text the streaming correction has not reached yet. */
  pending: { start: number; end: number }[];
  /** Ends of regions still streaming (where a "correcting…" marker goes). */
  progress: number[];
}

export interface LensSpec {
  offset: number;
  kind: 'streaming' | 'region' | 'hunk';
  regionId: number;
  hunk?: SessionHunk;
}

export class ReviewSession {
  readonly regions = new Map<number, Region>();
  private hunkList: SessionHunk[] = [];
  private nextRegionId = 1;
  private nextHunkId = 1;

  constructor(public granularity: Granularity) {}

  get hunks(): readonly SessionHunk[] {
    return this.hunkList;
  }

  get isEmpty(): boolean {
    return this.regions.size === 0 && this.hunkList.length === 0;
  }

  get isStreaming(): boolean {
    return [...this.regions.values()].some((r) => r.status === 'streaming');
  }

  /** True when [start, end) overlaps a region still being corrected or a pending hunk. */
  overlaps(start: number, end: number): boolean {
    const hit = (s: number, e: number) =>
      (start < e && s < end) || (start === end && s <= start && start <= e) || (s === e && start <= s && s <= end);
    return (
      [...this.regions.values()].some((r) => hit(r.start, r.end)) || this.hunkList.some((h) => hit(h.start, h.end))
    );
  }

  addRegion(docText: string, start: number, end: number, question: string, requestId: string): Region {
    const region: Region = {
      id: this.nextRegionId++,
      requestId,
      start,
      end,
      originalText: docText.slice(start, end),
      ...contextAround(docText, start, end),
      question,
      corrected: '',
      status: 'streaming',
    };
    this.regions.set(region.id, region);
    return region;
  }

  regionByRequest(requestId: string): Region | undefined {
    return [...this.regions.values()].find((r) => r.requestId === requestId);
  }

  appendDelta(regionId: number, delta: string): void {
    const r = this.regions.get(regionId);
    if (r && r.status === 'streaming') r.corrected += delta;
  }

  /**
   * The correction is complete: compute its hunks. Anchors come from the text as it was when the
   * region was selected; if the user edited inside the region meanwhile, each hunk is re-found now
   * and those whose text is gone are dropped (returned in `lost`).
   */
  finishRegion(regionId: number, finalText: string, docText: string): { added: SessionHunk[]; lost: number } {
    const r = this.regions.get(regionId);
    if (!r) return { added: [], lost: 0 };
    r.status = 'done';
    r.corrected = finalText;
    const snapshot = r.before + r.originalText + r.after;
    const offsetInSnapshot = r.before.length;
    const added: SessionHunk[] = [];
    let lost = 0;
    for (const raw of computeHunks(r.originalText, finalText, this.granularity)) {
      const s = offsetInSnapshot + raw.start;
      const e = offsetInSnapshot + raw.end;
      let hunk: SessionHunk = {
        id: this.nextHunkId++,
        regionId,
        start: r.start + raw.start,
        end: r.start + raw.end,
        oldText: raw.oldText,
        newText: raw.newText,
        ...contextAround(snapshot, s, e),
      };
      if (r.touched) {
        const found = reanchor(docText, { ...hunk, touched: true });
        if (!found.ok) {
          lost++;
          continue;
        }
        hunk = { ...hunk, start: found.start, end: found.end };
      }
      added.push(hunk);
    }
    this.hunkList.push(...added);
    this.hunkList.sort((a, b) => a.start - b.start);
    if (!this.hunkList.some((h) => h.regionId === regionId)) this.regions.delete(regionId);
    return { added, lost };
  }

  /** Failure or cancel: forget the region (nothing was ever written to the document). */
  dropRegion(regionId: number): void {
    this.regions.delete(regionId);
    this.hunkList = this.hunkList.filter((h) => h.regionId !== regionId);
  }

  /** Follow one document change (VS Code's contentChanges, applied in the order given). */
  applyChange(change: OffsetChange): void {
    for (const [id, r] of this.regions) this.regions.set(id, shiftForChange(r, change));
    this.hunkList = this.hunkList.map((h) => shiftForChange(h, change));
  }

  /** After an accept, hunks that still sit on their text get fresh context (their old context may
   *  have included text that an accepted neighbour just replaced). */
  refreshAnchors(docText: string): void {
    this.hunkList = this.hunkList.map((h) =>
      !h.touched && docText.slice(h.start, h.end) === h.oldText
        ? { ...h, ...contextAround(docText, h.start, h.end) }
        : h,
    );
  }

  removeHunks(ids: Iterable<number>): void {
    const drop = new Set(ids);
    this.hunkList = this.hunkList.filter((h) => !drop.has(h.id));
    for (const [id, r] of this.regions) {
      if (r.status === 'done' && !this.hunkList.some((h) => h.regionId === id)) this.regions.delete(id);
    }
  }

  hunksOfRegion(regionId: number): SessionHunk[] {
    return this.hunkList.filter((h) => h.regionId === regionId);
  }

  /** The hunk under the cursor, else the first one on the cursor's line [lineStart, lineEnd]. */
  hunkAt(offset: number, lineStart = offset, lineEnd = offset): SessionHunk | undefined {
    return (
      this.hunkList.find((h) => h.start <= offset && offset <= h.end) ??
      this.hunkList.find((h) => h.start <= lineEnd && h.end >= lineStart)
    );
  }

  nextHunk(offset: number): SessionHunk | undefined {
    return this.hunkList.find((h) => h.start > offset) ?? this.hunkList[0];
  }

  previousHunk(offset: number): SessionHunk | undefined {
    const before = this.hunkList.filter((h) => h.start < offset);
    return before[before.length - 1] ?? this.hunkList[this.hunkList.length - 1];
  }

  decorations(): DecorationSpec {
    const spec: DecorationSpec = { removed: [], added: [], pending: [], progress: [] };
    for (const r of this.regions.values()) {
      if (r.status !== 'streaming') continue;
      spec.progress.push(r.end);
      if (r.touched) {
        spec.pending.push({ start: r.start, end: r.end });
        continue;
      }
      const preview = previewHunks(r.originalText, r.corrected, this.granularity);
      for (const h of preview.hunks) {
        if (h.oldText) spec.removed.push({ start: r.start + h.start, end: r.start + h.end, hunkId: 0 });
        if (h.newText) spec.added.push({ at: r.start + h.end, text: h.newText, hunkId: 0 });
      }
      if (r.start + preview.pendingFrom < r.end)
        spec.pending.push({ start: r.start + preview.pendingFrom, end: r.end });
    }
    for (const h of this.hunkList) {
      if (h.oldText) spec.removed.push({ start: h.start, end: h.end, hunkId: h.id });
      if (h.newText) spec.added.push({ at: h.end, text: h.newText, hunkId: h.id });
    }
    return spec;
  }

  lenses(): LensSpec[] {
    const out: LensSpec[] = [];
    for (const r of this.regions.values()) {
      const first = this.hunkList.find((h) => h.regionId === r.id);
      out.push({
        offset: r.status === 'streaming' ? r.start : Math.min(r.start, first?.start ?? r.start),
        kind: r.status === 'streaming' ? 'streaming' : 'region',
        regionId: r.id,
      });
    }
    for (const h of this.hunkList) out.push({ offset: h.start, kind: 'hunk', regionId: h.regionId, hunk: h });
    return out;
  }

  /** Changes only when regions start/finish or hunks come and go, not on every streamed delta:
   *  CodeLens and the diff view refresh on this (VS Code debounces CodeLens refreshes, so a
   *  refresh every few milliseconds would postpone them until the stream ends). */
  structureKey(): string {
    const regions = [...this.regions.values()].map((r) => `${r.id}${r.status[0]}`).join(',');
    return `${regions}|${this.hunkList.map((h) => h.id).join(',')}`;
  }

  /** The document text with every pending hunk accepted (for Open as Diff). */
  proposedText(docText: string): string {
    let out = '';
    let pos = 0;
    for (const h of this.hunkList) {
      if (h.start < pos || docText.slice(h.start, h.end) !== h.oldText) continue;
      out += docText.slice(pos, h.start) + h.newText;
      pos = h.end;
    }
    return out + docText.slice(pos);
  }
}
