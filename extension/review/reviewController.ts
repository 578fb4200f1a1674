// Connects review sessions to VS Code: starts corrections (one request per selection), streams
// them into decorations, follows document edits, and accepts/rejects hunks. Nothing is written to
// the document until the user accepts; accepting writes one WorkspaceEdit (one undo step).
import * as vscode from 'vscode';
import { randomUUID } from 'node:crypto';
import type { ChatTurn, CorrectParams } from '../../server/protocol/index.js';
import { correctionOptions, type AlignerSettings } from '../config.js';
import type { AlignerConnection } from '../serverClient.js';
import type { Logger } from '../serverProcess.js';
import { acceptHunks, type EditApi } from './applyEdit.js';
import { ReviewDecorations } from './decorations.js';
import { ReviewSession, type SessionHunk } from './reviewSession.js';

export interface CorrectionSpan {
  start: number;
  end: number;
  question: string;
  context: ChatTurn[];
}

export interface ReviewHost {
  log: Logger;
  settings(): AlignerSettings;
  connection(): Promise<AlignerConnection>;
  /** Shows a server or apply error to the user, verbatim. */
  showError(message: string): void;
  showInfo(message: string): void;
}

const vscodeEditApi: EditApi<vscode.Uri, vscode.Position, vscode.WorkspaceEdit> = {
  createEdit: () => new vscode.WorkspaceEdit(),
  replace: (edit, uri, start, end, text) => edit.replace(uri, new vscode.Range(start, end), text),
  applyEdit: (edit) => vscode.workspace.applyEdit(edit),
};

export class ReviewController implements vscode.Disposable {
  private readonly sessions = new Map<string, ReviewSession>();
  private readonly decorations = new ReviewDecorations();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires when a document's review state changes (CodeLens and the diff view listen). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private renderTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly dirty = new Set<string>();
  private connectionForRequest = new Map<string, AlignerConnection>();

  constructor(private readonly host: ReviewHost) {
    this.disposables.push(
      this.decorations,
      this.changed,
      vscode.workspace.onDidChangeTextDocument((e) => this.onDocumentChanged(e)),
      vscode.workspace.onDidCloseTextDocument((doc) => this.discard(doc.uri, 'the document was closed')),
      vscode.window.onDidChangeVisibleTextEditors(() => this.renderAll()),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContextKeys()),
      vscode.window.onDidChangeTextEditorSelection(() => this.updateContextKeys()),
    );
  }

  session(uri: vscode.Uri): ReviewSession | undefined {
    return this.sessions.get(uri.toString());
  }

  private onDocumentChanged(e: vscode.TextDocumentChangeEvent): void {
    const s = this.session(e.document.uri);
    if (!s || e.contentChanges.length === 0) return;
    // contentChanges are given so that applying them in order is correct (each in the text left by the previous).
    for (const c of e.contentChanges) s.applyChange({ offset: c.rangeOffset, length: c.rangeLength, text: c.text });
    this.scheduleRender(e.document.uri);
  }

  /** Starts one correction request per span; resolves when all have finished. */
  async correct(editor: vscode.TextEditor, spans: CorrectionSpan[]): Promise<void> {
    const doc = editor.document;
    const key = doc.uri.toString();
    const settings = this.host.settings();
    const conn = await this.host.connection();
    let session = this.sessions.get(key);
    if (session && spans.some((sp) => session!.overlaps(sp.start, sp.end))) {
      this.host.showError(
        'This text already has a pending Aligner correction: accept or reject it first (or run "Aligner: Cancel").',
      );
      return;
    }
    if (!session) {
      session = new ReviewSession(settings.diffGranularity);
      this.sessions.set(key, session);
    }
    const text = doc.getText();
    const s = session;
    const runs = spans.map(async (span) => {
      const requestId = randomUUID();
      const region = s.addRegion(text, span.start, span.end, span.question, requestId);
      this.connectionForRequest.set(requestId, conn);
      this.scheduleRender(doc.uri);
      const params: CorrectParams = {
        requestId,
        question: span.question,
        answer: region.originalText,
        ...correctionOptions(settings),
        ...(span.context.length ? { context: span.context.slice(-50) } : {}),
      };
      const t0 = Date.now();
      try {
        const result = await conn.correct(params, (d) => {
          s.appendDelta(region.id, d.delta);
          this.scheduleRender(doc.uri);
        });
        if (result.finishReason === 'cancelled') {
          s.dropRegion(region.id);
          this.host.log.info(`correction ${requestId} cancelled`);
          return;
        }
        const { added, lost } = s.finishRegion(region.id, result.text, doc.getText());
        this.host.log.info(
          `correction ${requestId}: ${added.length} change(s), ${result.usage.completionTokens} tokens in ${Date.now() - t0} ms (${result.finishReason})`,
        );
        if (lost > 0)
          this.host.showError(
            `${lost} suggested change(s) were dropped: the text they apply to was edited while Aligner was correcting.`,
          );
        if (added.length === 0 && lost === 0) this.host.showInfo('Aligner suggests no changes to this text.');
        if (result.finishReason === 'length')
          this.host.showInfo(
            'The correction stopped at the maximum length (aligner.generation.maxNewTokens); its end may be missing.',
          );
      } catch (err) {
        s.dropRegion(region.id);
        this.host.showError(err instanceof Error ? err.message : String(err));
      } finally {
        this.connectionForRequest.delete(requestId);
        if (s.isEmpty) this.sessions.delete(key);
        this.scheduleRender(doc.uri);
      }
    });
    await Promise.all(runs);
  }

  /** Cancels the streaming corrections of one document (or of all documents). */
  async cancel(uri?: vscode.Uri): Promise<number> {
    const targets = uri ? [this.session(uri)].filter((s): s is ReviewSession => !!s) : [...this.sessions.values()];
    let n = 0;
    for (const s of targets) {
      for (const r of s.regions.values()) {
        if (r.status !== 'streaming') continue;
        const conn = this.connectionForRequest.get(r.requestId);
        n++;
        await conn?.cancel(r.requestId).catch((err: Error) => this.host.log.warn(`cancel failed: ${err.message}`));
      }
    }
    return n;
  }

  async accept(uri: vscode.Uri, hunkIds?: number[]): Promise<void> {
    const s = this.session(uri);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!s || !doc) return;
    const hunks = hunkIds ? s.hunks.filter((h) => hunkIds.includes(h.id)) : [...s.hunks];
    if (hunks.length === 0) return;
    const result = await acceptHunks(vscodeEditApi, doc, hunks);
    s.removeHunks([...result.applied, ...result.refused.map((r) => r.hunkId)]);
    s.refreshAnchors(doc.getText());
    if (result.refused.length) {
      this.host.showError(
        `Aligner did not apply ${result.refused.length} change(s): ${result.refused.map((r) => r.reason).join('; ')}.`,
      );
    }
    if (result.failure) this.host.showError(`Aligner could not apply the correction: ${result.failure}.`);
    this.afterChange(uri);
  }

  reject(uri: vscode.Uri, hunkIds?: number[]): void {
    const s = this.session(uri);
    if (!s) return;
    s.removeHunks(hunkIds ?? s.hunks.map((h) => h.id));
    this.afterChange(uri);
  }

  /** The hunk at the cursor of `editor` (or on its line). */
  hunkAtCursor(editor: vscode.TextEditor): SessionHunk | undefined {
    const s = this.session(editor.document.uri);
    if (!s) return undefined;
    const pos = editor.selection.active;
    const line = editor.document.lineAt(pos.line);
    const off = (p: vscode.Position) => editor.document.offsetAt(p);
    return s.hunkAt(off(pos), off(line.range.start), off(line.range.end));
  }

  /** Moves the cursor to the next (or previous) hunk and reveals it. */
  navigate(editor: vscode.TextEditor, direction: 1 | -1): void {
    const s = this.session(editor.document.uri);
    if (!s) return;
    const offset = editor.document.offsetAt(editor.selection.active);
    const h = direction === 1 ? s.nextHunk(offset) : s.previousHunk(offset);
    if (!h) return;
    const pos = editor.document.positionAt(h.start);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(
      new vscode.Range(pos, editor.document.positionAt(h.end)),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
  }

  private discard(uri: vscode.Uri, why: string): void {
    const s = this.session(uri);
    if (!s) return;
    if (s.isStreaming) this.host.log.info(`cancelling corrections: ${why}`);
    void this.cancel(uri);
    this.sessions.delete(uri.toString());
    this.afterChange(uri);
  }

  private afterChange(uri: vscode.Uri): void {
    const key = uri.toString();
    if (this.sessions.get(key)?.isEmpty) this.sessions.delete(key);
    this.scheduleRender(uri, 0);
  }

  /** Streaming deltas arrive fast; render at most every 50 ms. */
  private scheduleRender(uri: vscode.Uri, delay = 50): void {
    this.dirty.add(uri.toString());
    if (this.renderTimer && delay > 0) return;
    if (this.renderTimer) clearTimeout(this.renderTimer);
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const editor of vscode.window.visibleTextEditors) {
        if (keys.includes(editor.document.uri.toString()))
          this.decorations.render(editor, this.session(editor.document.uri)?.decorations());
      }
      for (const k of keys) this.changed.fire(vscode.Uri.parse(k));
      this.updateContextKeys();
    }, delay);
  }

  private renderAll(): void {
    for (const editor of vscode.window.visibleTextEditors)
      this.decorations.render(editor, this.session(editor.document.uri)?.decorations());
    this.updateContextKeys();
  }

  private lastKeys = '';
  private updateContextKeys(): void {
    const editor = vscode.window.activeTextEditor;
    const s = editor ? this.session(editor.document.uri) : undefined;
    const reviewActive = !!s && s.hunks.length > 0;
    const correcting = !!s && s.isStreaming;
    const keys = `${reviewActive}|${correcting}`;
    if (keys === this.lastKeys) return;
    this.lastKeys = keys;
    void vscode.commands.executeCommand('setContext', 'aligner.reviewActive', reviewActive);
    void vscode.commands.executeCommand('setContext', 'aligner.correcting', correcting);
  }

  /** True while any document has a correction streaming (for the status bar). */
  get anyStreaming(): boolean {
    return [...this.sessions.values()].some((s) => s.isStreaming);
  }

  dispose(): void {
    void this.cancel();
    if (this.renderTimer) clearTimeout(this.renderTimer);
    for (const d of this.disposables) d.dispose();
  }
}
