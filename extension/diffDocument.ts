// "Open as Diff": a read-only virtual document holding the text as it would be with every pending
// hunk accepted, shown with vscode.diff next to the real (still editable) document.
import * as vscode from 'vscode';
import type { ReviewController } from './review/reviewController.js';

export const PROPOSED_SCHEME = 'aligner-proposed';

/** aligner-proposed:/<original path>?<original uri>: the path keeps the file name (and language). */
export function proposedUri(original: vscode.Uri): vscode.Uri {
  return vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: original.path || '/untitled', query: original.toString() });
}

export class ProposedDocumentProvider implements vscode.TextDocumentContentProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  private readonly keys = new Map<string, string>();

  constructor(private readonly controller: ReviewController) {
    // The proposal changes with the hunks or the document, not with each streamed delta.
    controller.onDidChange((uri) => {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const key = `${controller.session(uri)?.structureKey() ?? ''}@${doc?.version ?? 0}`;
      if (this.keys.get(uri.toString()) === key) return;
      this.keys.set(uri.toString(), key);
      this.emitter.fire(proposedUri(uri));
    });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const original = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.query);
    if (!original) return '';
    const session = this.controller.session(original.uri);
    return session ? session.proposedText(original.getText()) : original.getText();
  }
}

export async function openAsDiff(doc: vscode.TextDocument): Promise<void> {
  const name = doc.uri.path.split('/').pop() || 'Untitled';
  await vscode.commands.executeCommand('vscode.diff', doc.uri, proposedUri(doc.uri), `${name} ↔ Aligner's correction`, {
    preserveFocus: true,
    preview: true,
    viewColumn: vscode.ViewColumn.Beside,
  });
}
