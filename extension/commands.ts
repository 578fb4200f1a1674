// Every command the extension contributes. Thin: find the editor and the text, then hand over to
// the review controller or the server manager.
import * as vscode from 'vscode';
import type { AlignerSettings } from './config.js';
import { KEYS } from './config.js';
import { openAsDiff } from './diffDocument.js';
import { findLastAnswer, inferQuestion, stripLeadingMarker, trimSpan } from './questionInference.js';
import type { CorrectionSpan, ReviewController } from './review/reviewController.js';
import { runCorrectionFlow } from './correctionRun.js';
import type { ServerManager } from './serverManager.js';

export interface CommandDeps {
  controller: ReviewController;
  manager: ServerManager;
  settings(): AlignerSettings;
  log: { show(): void };
  secrets: vscode.SecretStorage;
  bundledModelPath: string;
  /** Told about every accept/reject (learning from reviews records the finished ones). */
  reviews?: ReviewDecisions;
}

export interface ReviewDecisions {
  /** Right before hunks of `uri` are accepted or rejected. */
  before(uri: vscode.Uri): void;
  /** `hunkIds` were accepted (or rejected); the session now shows what is left. */
  after(uri: vscode.Uri, hunkIds: number[], accepted: boolean): void;
}

export const SECRET_TOKEN_KEY = 'aligner.externalServerToken';

type Span = { start: number; end: number };

function activeEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) void vscode.window.showErrorMessage('Aligner: open a text editor first.');
  return editor;
}

/** Resolves a CodeLens argument (a URI string) or falls back to the active editor's document. */
function targetUri(arg: unknown): vscode.Uri | undefined {
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (arg instanceof vscode.Uri) return arg;
  return vscode.window.activeTextEditor?.document.uri;
}

async function askQuestion(value: string | undefined): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: 'Aligner: question',
    prompt: 'The question (or instruction) the selected text answers. Aligner corrects the answer for it.',
    placeHolder: 'e.g. How do I reverse a list in Python?',
    value,
    ignoreFocusOut: true,
  });
}

/**
 * Builds the correction spans for an editor: each non-empty selection (trimmed, without a leading
 * "Assistant:" marker), with its inferred question. `forceAsk` always asks (Correct with Question…).
 */
async function spansFor(
  editor: vscode.TextEditor,
  spans: Span[],
  forceAsk: boolean,
): Promise<CorrectionSpan[] | undefined> {
  const text = editor.document.getText();
  const out: CorrectionSpan[] = [];
  let asked: string | undefined;
  for (const raw of spans) {
    const trimmed = trimSpan(text, raw.start, raw.end);
    const span = stripLeadingMarker(text, trimmed.start, trimmed.end);
    if (span.end <= span.start) continue;
    const inferred = inferQuestion(text, span.start, span.end);
    let question = inferred?.question;
    if (forceAsk || question === undefined) {
      asked ??= await askQuestion(question);
      if (asked === undefined) return undefined; // the user pressed Escape
      question = asked;
    }
    out.push({ ...span, question, context: inferred?.context ?? [] });
  }
  return out;
}

/** `takeSpans` is called once the server is ready, so the offsets match the text as it is then. */
async function runCorrection(
  deps: CommandDeps,
  editor: vscode.TextEditor,
  takeSpans: () => Span[],
  forceAsk: boolean,
): Promise<void> {
  await runCorrectionFlow({
    ensureServer: () => deps.manager.ensure(),
    takeSpans,
    documentVersion: () => editor.document.version,
    plan: (spans) => spansFor(editor, spans, forceAsk),
    correct: (planned) => deps.controller.correct(editor, planned),
    showError: (message) =>
      void vscode.window.showErrorMessage(`Aligner: ${message}`, 'Show Log').then((pick) => {
        if (pick) deps.log.show();
      }),
    showWarning: (message) => void vscode.window.showWarningMessage(`Aligner: ${message}`),
    showInfo: (message) => void vscode.window.showInformationMessage(`Aligner: ${message}`),
  });
}

function selectionSpans(editor: vscode.TextEditor): Span[] {
  const doc = editor.document;
  return editor.selections
    .filter((s) => !s.isEmpty)
    .map((s) => ({ start: doc.offsetAt(s.start), end: doc.offsetAt(s.end) }));
}

/** The whole document, or only its last answer when it is a transcript / Q&A. */
function documentSpan(editor: vscode.TextEditor): Span {
  const text = editor.document.getText();
  return findLastAnswer(text) ?? { start: 0, end: text.length };
}

/** Accepts or rejects hunks of `uri` (all of them when `hunkIds` is undefined), telling `deps.reviews`. */
async function decide(
  deps: CommandDeps,
  uri: vscode.Uri,
  hunkIds: number[] | undefined,
  accept: boolean,
): Promise<void> {
  const ids = hunkIds ?? deps.controller.session(uri)?.hunks.map((h) => h.id) ?? [];
  deps.reviews?.before(uri);
  if (accept) await deps.controller.accept(uri, hunkIds);
  else deps.controller.reject(uri, hunkIds);
  deps.reviews?.after(uri, ids, accept);
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { controller, manager } = deps;
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  const regionHunks = (uri: vscode.Uri, regionId: unknown) =>
    typeof regionId === 'number'
      ? controller
          .session(uri)
          ?.hunksOfRegion(regionId)
          .map((h) => h.id)
      : undefined;

  return [
    reg('aligner.correctSelection', async () => {
      const editor = activeEditor();
      if (editor) await runCorrection(deps, editor, () => selectionSpans(editor), false);
    }),
    reg('aligner.correctDocument', async () => {
      const editor = activeEditor();
      if (editor) await runCorrection(deps, editor, () => [documentSpan(editor)], false);
    }),
    reg('aligner.correctWithQuestion', async () => {
      const editor = activeEditor();
      if (!editor) return;
      await runCorrection(
        deps,
        editor,
        () => {
          const spans = selectionSpans(editor);
          return spans.length ? spans : [documentSpan(editor)];
        },
        true,
      );
    }),
    reg('aligner.cancel', async (uri?: unknown) => {
      const n = await controller.cancel(typeof uri === 'string' ? vscode.Uri.parse(uri) : undefined);
      if (n === 0) void vscode.window.showInformationMessage('Aligner: nothing is being corrected.');
    }),
    reg('aligner.acceptAll', async (uri?: unknown, regionId?: unknown) => {
      const target = targetUri(uri);
      if (target) await decide(deps, target, regionHunks(target, regionId), true);
    }),
    reg('aligner.rejectAll', async (uri?: unknown, regionId?: unknown) => {
      const target = targetUri(uri);
      if (target) await decide(deps, target, regionHunks(target, regionId), false);
    }),
    reg('aligner.acceptHunk', async (uri?: unknown, hunkId?: unknown) => {
      if (typeof hunkId === 'number') return decide(deps, targetUri(uri)!, [hunkId], true);
      const editor = activeEditor();
      const h = editor && controller.hunkAtCursor(editor);
      if (editor && h) await decide(deps, editor.document.uri, [h.id], true);
      else if (editor) void vscode.window.showInformationMessage('Aligner: no suggested change at the cursor.');
    }),
    reg('aligner.rejectHunk', async (uri?: unknown, hunkId?: unknown) => {
      if (typeof hunkId === 'number') return decide(deps, targetUri(uri)!, [hunkId], false);
      const editor = activeEditor();
      const h = editor && controller.hunkAtCursor(editor);
      if (editor && h) await decide(deps, editor.document.uri, [h.id], false);
      else if (editor) void vscode.window.showInformationMessage('Aligner: no suggested change at the cursor.');
    }),
    reg('aligner.nextHunk', () => {
      const editor = activeEditor();
      if (editor) controller.navigate(editor, 1);
    }),
    reg('aligner.previousHunk', () => {
      const editor = activeEditor();
      if (editor) controller.navigate(editor, -1);
    }),
    reg('aligner.openDiff', async (uri?: unknown) => {
      const target = targetUri(uri);
      const doc = target && vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
      if (doc) await openAsDiff(doc);
    }),
    reg('aligner.selectModel', () => selectModel(deps)),
    reg('aligner.startServer', () =>
      manager.ensure().catch((e: Error) => vscode.window.showErrorMessage(`Aligner: ${e.message}`)),
    ),
    reg('aligner.stopServer', () => manager.stop()),
    reg('aligner.restartServer', () =>
      manager.restart().catch((e: Error) => vscode.window.showErrorMessage(`Aligner: ${e.message}`)),
    ),
    reg('aligner.setServerToken', async () => {
      const token = await vscode.window.showInputBox({
        title: 'Aligner: external server token',
        prompt:
          "The bearer token of the external Aligner server (stored in VS Code's secret storage). Leave empty to remove it.",
        password: true,
        ignoreFocusOut: true,
      });
      if (token === undefined) return;
      if (token) await deps.secrets.store(SECRET_TOKEN_KEY, token.trim());
      else await deps.secrets.delete(SECRET_TOKEN_KEY);
      if (deps.settings().serverMode === 'external') await manager.restart().catch(() => undefined);
    }),
    reg('aligner.showLog', () => deps.log.show()),
    reg('aligner.showMenu', async () => {
      const items: (vscode.QuickPickItem & { command: string })[] = [
        { label: '$(refresh) Restart Server', command: 'aligner.restartServer' },
        { label: '$(debug-stop) Stop Server', command: 'aligner.stopServer' },
        { label: '$(package) Select Model…', command: 'aligner.selectModel' },
        { label: '$(graph-line) Show Runs', command: 'aligner.showRuns' },
        { label: '$(beaker) Train Aligner…', command: 'aligner.train' },
        { label: '$(output) Show Log', command: 'aligner.showLog' },
        { label: '$(gear) Settings', command: 'workbench.action.openSettings' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'Aligner' });
      if (pick)
        await vscode.commands.executeCommand(
          pick.command,
          ...(pick.command === 'workbench.action.openSettings' ? ['aligner'] : []),
        );
    }),
  ];
}

async function selectModel(deps: CommandDeps): Promise<void> {
  type Item = vscode.QuickPickItem & { path?: string; browse?: boolean };
  const items: Item[] = [{ label: 'Bundled default model', description: deps.bundledModelPath, path: '' }];
  const conn = deps.manager.connection;
  if (conn) {
    const listed = await conn.listModels().catch(() => null);
    for (const m of listed?.models ?? [])
      items.push({ label: m.id, description: `${m.modelType}, ${m.executionProvider} — ${m.path}`, path: m.path });
  }
  items.push({ label: '$(folder-opened) Choose a model folder…', browse: true });
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Aligner: select model',
    placeHolder: `Current: ${deps.settings().modelPath || 'bundled default'}`,
  });
  if (!pick) return;
  let path = pick.path ?? '';
  if (pick.browse) {
    const folder = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Use this model folder',
    });
    if (!folder?.[0]) return;
    path = folder[0].fsPath;
  }
  if (deps.settings().serverMode === 'external') {
    // An external server loads it itself; the bundled one is restarted by the settings change.
    const c = await deps.manager.ensure();
    const info = await c.loadModel({ path: path || deps.bundledModelPath, makeDefault: true });
    void vscode.window.showInformationMessage(`Aligner: model ${info.id} loaded.`);
  }
  await vscode.workspace.getConfiguration('aligner').update(KEYS.modelPath, path, vscode.ConfigurationTarget.Global);
}
