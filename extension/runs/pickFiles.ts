// Choosing JSONL data files: the workspace's .jsonl files in a quick pick, or any files through the
// open dialog.
import * as vscode from 'vscode';

type Item = vscode.QuickPickItem & { files?: string[]; browse?: boolean; none?: boolean };

export interface PickFilesOptions {
  title: string;
  placeHolder: string;
  /** An extra first item that picks no file (e.g. "no validation file"). */
  none?: { label: string; description?: string };
  many?: boolean;
}

/** Resolves with the chosen paths ([] for the `none` item), or undefined when the user cancels. */
export async function pickJsonlFiles(o: PickFilesOptions): Promise<string[] | undefined> {
  const found = await vscode.workspace.findFiles('**/*.jsonl', '**/{node_modules,.git,.venv}/**', 200);
  const items: Item[] = [];
  if (o.none) items.push({ ...o.none, none: true });
  for (const uri of found.sort((a, b) => a.fsPath.localeCompare(b.fsPath)))
    items.push({ label: vscode.workspace.asRelativePath(uri), description: 'workspace', files: [uri.fsPath] });
  items.push({ label: `$(folder-opened) Choose file${o.many ? 's' : ''}…`, browse: true });
  const pick = await vscode.window.showQuickPick(items, {
    title: o.title,
    placeHolder: o.placeHolder,
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  if (pick.none) return [];
  if (pick.files) return pick.files;
  const uris = await vscode.window.showOpenDialog({
    title: o.title,
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: o.many ?? false,
    filters: { 'JSON Lines': ['jsonl'], 'All files': ['*'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    openLabel: 'Use',
  });
  return uris?.length ? uris.map((u) => u.fsPath) : undefined;
}

/** A folder through the open dialog (model folders). */
export async function pickFolder(title: string, openLabel: string): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, openLabel });
  return uris?.[0]?.fsPath;
}
