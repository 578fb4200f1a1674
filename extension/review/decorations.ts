// Renders a session's DecorationSpec into an editor: removed text red and struck through, added
// text (not in the document yet) green as injected `after` text, not-yet-corrected text faded.
import * as vscode from 'vscode';
import type { DecorationSpec } from './reviewSession.js';

/** Injected text is one line: show line breaks as a visible symbol (the hover has the exact text). */
export function displayText(text: string): string {
  return text.replace(/\r?\n/g, '⏎');
}

export class ReviewDecorations implements vscode.Disposable {
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    textDecoration: 'line-through',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly added = vscode.window.createTextEditorDecorationType({
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly pending = vscode.window.createTextEditorDecorationType({ opacity: '0.55', fontStyle: 'italic' });
  private readonly progress = vscode.window.createTextEditorDecorationType({
    after: {
      contentText: ' ⟳ correcting…',
      color: new vscode.ThemeColor('editorCodeLens.foreground'),
      fontStyle: 'italic',
    },
  });

  render(editor: vscode.TextEditor, spec: DecorationSpec | undefined): void {
    const doc = editor.document;
    const range = (s: number, e: number) => new vscode.Range(doc.positionAt(s), doc.positionAt(e));
    editor.setDecorations(this.removed, spec ? spec.removed.map((r) => range(r.start, r.end)) : []);
    editor.setDecorations(
      this.added,
      spec
        ? spec.added.map((a) => ({
            range: range(a.at, a.at),
            hoverMessage: new vscode.MarkdownString()
              .appendText('Aligner suggests inserting:')
              .appendCodeblock(a.text, 'text'),
            renderOptions: {
              after: {
                contentText: displayText(a.text),
                backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
                color: new vscode.ThemeColor('editor.foreground'),
                border: '1px solid',
                borderColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
              },
            },
          }))
        : [],
    );
    editor.setDecorations(this.pending, spec ? spec.pending.map((p) => range(p.start, p.end)) : []);
    editor.setDecorations(this.progress, spec ? spec.progress.map((at) => range(at, at)) : []);
  }

  dispose(): void {
    this.removed.dispose();
    this.added.dispose();
    this.pending.dispose();
    this.progress.dispose();
  }
}
