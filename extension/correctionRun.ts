// The order of a correction command, without vscode: start the server, and only then read the
// spans from the document. A cold start takes seconds, and offsets taken before it would point at
// the wrong text once the user typed meanwhile. The question may be asked after that; if the
// document changes while it is asked, the command is refused rather than correcting stale offsets.

export interface CorrectionRunDeps<Span, Planned> {
  /** Starts (or reaches) the server; may take a while. */
  ensureServer(): Promise<unknown>;
  /** The spans to correct, read from the editor as it is now. */
  takeSpans(): Span[];
  /** The document's version, bumped by every edit. */
  documentVersion(): number;
  /** Infers or asks each span's question; undefined when the user cancelled. */
  plan(spans: Span[]): Promise<Planned[] | undefined>;
  correct(planned: Planned[]): Promise<void>;
  showError(message: string): void;
  showWarning(message: string): void;
  showInfo(message: string): void;
}

export type CorrectionRunOutcome = 'started' | 'no-server' | 'cancelled' | 'nothing-selected' | 'document-changed';

export async function runCorrectionFlow<Span, Planned>(
  deps: CorrectionRunDeps<Span, Planned>,
): Promise<CorrectionRunOutcome> {
  try {
    await deps.ensureServer();
  } catch (err) {
    deps.showError(err instanceof Error ? err.message : String(err));
    return 'no-server';
  }
  const version = deps.documentVersion();
  const spans = deps.takeSpans();
  const planned = spans.length ? await deps.plan(spans) : [];
  if (!planned) return 'cancelled';
  if (planned.length === 0) {
    deps.showInfo('select the answer to correct (or run "Aligner: Correct Document").');
    return 'nothing-selected';
  }
  if (deps.documentVersion() !== version) {
    deps.showWarning('the document changed while asking for the question; run the command again.');
    return 'document-changed';
  }
  await deps.correct(planned);
  return 'started';
}
