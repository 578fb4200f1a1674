// The bundled server's upstream LLM and remote Aligner, VS Code side: settings read from the user's
// own (application-scope) configuration, API keys in SecretStorage, a command to set the keys, and a
// server restart when any of them changes. The pure logic is in backendSettings.ts.
import * as vscode from 'vscode';
import {
  BACKEND_KEYS,
  SECRET_REMOTE_ALIGNER_KEY,
  SECRET_UPSTREAM_KEY,
  backendLaunch,
  readBackendSettings,
} from './backendSettings.js';
import type { ServerManager } from './serverManager.js';

/** The serve flags and environment for the bundled server. */
export async function bundledBackendLaunch(
  secrets: vscode.SecretStorage,
  warn: (message: string) => void,
): Promise<{ args: string[]; env: Record<string, string> }> {
  const cfg = vscode.workspace.getConfiguration('aligner');
  // User settings only: a workspace must not redirect your text (and key) to another server.
  const { settings, problems } = readBackendSettings((key) => cfg.inspect(key)?.globalValue);
  for (const problem of problems) warn(problem);
  return backendLaunch(settings, {
    upstream: await secrets.get(SECRET_UPSTREAM_KEY),
    remoteAligner: await secrets.get(SECRET_REMOTE_ALIGNER_KEY),
  });
}

export function registerBackendSettings(
  secrets: vscode.SecretStorage,
  manager: ServerManager,
  log: { info(message: string): void },
): vscode.Disposable[] {
  const restart = (why: string) => {
    if (manager.state.kind === 'stopped') return; // the next start reads them anyway
    log.info(`${why}: restarting the server`);
    void manager.restart().catch(() => undefined);
  };
  return [
    vscode.commands.registerCommand('aligner.setBackendKey', async () => {
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'Upstream LLM API key', secret: SECRET_UPSTREAM_KEY },
          { label: 'Remote Aligner API key', secret: SECRET_REMOTE_ALIGNER_KEY },
        ],
        { title: 'Aligner: which API key?' },
      );
      if (!pick) return;
      const key = await vscode.window.showInputBox({
        title: `Aligner: ${pick.label}`,
        prompt: "Stored in VS Code's secret storage and given to the bundled server only. Leave empty to remove it.",
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key.trim()) await secrets.store(pick.secret, key.trim());
      else await secrets.delete(pick.secret);
      restart(`${pick.label} changed`);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (Object.values(BACKEND_KEYS).some((k) => e.affectsConfiguration(`aligner.${k}`))) {
        restart('upstream or remote Aligner settings changed');
      }
    }),
  ];
}
