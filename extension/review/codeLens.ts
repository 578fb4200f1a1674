// CodeLens above each pending hunk (Accept | Reject) and above each corrected region
// (Accept All | Reject All | Open as Diff, or Cancel while streaming).
import * as vscode from 'vscode';
import type { ReviewController } from './reviewController.js';
import { describeHunk } from './labels.js';

export class ReviewCodeLensProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  private readonly keys = new Map<string, string>();

  constructor(private readonly controller: ReviewController) {
    const emitter = new vscode.EventEmitter<void>();
    // Refresh only when the set of lenses changes (see ReviewSession.structureKey).
    controller.onDidChange((uri) => {
      const key = controller.session(uri)?.structureKey() ?? '';
      if (this.keys.get(uri.toString()) === key) return;
      if (key) this.keys.set(uri.toString(), key);
      else this.keys.delete(uri.toString());
      emitter.fire();
    });
    this.onDidChangeCodeLenses = emitter.event;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const session = this.controller.session(document.uri);
    if (!session) return [];
    const uri = document.uri.toString();
    const lenses: vscode.CodeLens[] = [];
    const at = (offset: number) => {
      const line = document.positionAt(Math.min(offset, document.getText().length)).line;
      return new vscode.Range(line, 0, line, 0);
    };
    for (const l of session.lenses()) {
      const range = at(l.offset);
      if (l.kind === 'streaming') {
        lenses.push(new vscode.CodeLens(range, { title: '$(sync~spin) Aligner: correcting…', command: '' }));
        lenses.push(new vscode.CodeLens(range, { title: 'Cancel', command: 'aligner.cancel', arguments: [uri] }));
      } else if (l.kind === 'region') {
        const n = session.hunksOfRegion(l.regionId).length;
        lenses.push(
          new vscode.CodeLens(range, {
            title: `Aligner: Accept All (${n})`,
            command: 'aligner.acceptAll',
            arguments: [uri, l.regionId],
          }),
        );
        lenses.push(
          new vscode.CodeLens(range, {
            title: 'Reject All',
            command: 'aligner.rejectAll',
            arguments: [uri, l.regionId],
          }),
        );
        lenses.push(
          new vscode.CodeLens(range, { title: 'Open as Diff', command: 'aligner.openDiff', arguments: [uri] }),
        );
      } else if (l.hunk) {
        const what = describeHunk(l.hunk);
        lenses.push(
          new vscode.CodeLens(range, {
            title: `✓ Accept ${what}`,
            tooltip: 'Apply this change',
            command: 'aligner.acceptHunk',
            arguments: [uri, l.hunk.id],
          }),
        );
        lenses.push(
          new vscode.CodeLens(range, {
            title: '✗ Reject',
            tooltip: `Discard ${what}`,
            command: 'aligner.rejectHunk',
            arguments: [uri, l.hunk.id],
          }),
        );
      }
    }
    return lenses;
  }
}
