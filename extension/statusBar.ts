// The status bar item: server starting / ready (model + execution provider) / error / correcting.
import * as vscode from 'vscode';
import type { ServerState } from './serverManager.js';

export function describeState(
  state: ServerState,
  correcting: boolean,
): { text: string; tooltip: string; error: boolean } {
  switch (state.kind) {
    case 'stopped':
      return {
        text: '$(circle-slash) Aligner',
        tooltip: 'Aligner server: stopped (starts on the first correction)',
        error: false,
      };
    case 'starting':
      return {
        text: state.loading ? '$(loading~spin) Aligner: loading model' : '$(loading~spin) Aligner: starting',
        tooltip: `Aligner server: ${state.loading ? 'loading the model' : 'starting'}${state.attempt ? ` (attempt ${state.attempt + 1})` : ''}`,
        error: false,
      };
    case 'ready': {
      const model = state.model ?? 'no model';
      return {
        text: correcting
          ? `$(sync~spin) Aligner: correcting`
          : `$(check) Aligner: ${model} (${state.executionProvider})`,
        tooltip:
          `Aligner server ready at ${state.url}\nModel: ${model}\nExecution provider: ${state.executionProvider}` +
          (state.jobsUnavailable ? `\nTraining and evaluation: ${state.jobsUnavailable}` : ''),
        error: false,
      };
    }
    case 'error':
      return {
        text: '$(error) Aligner: error',
        tooltip: `${state.message}${state.retryInMs !== null ? `\nRetrying in ${Math.round(state.retryInMs / 100) / 10} s` : ''}`,
        error: true,
      };
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('aligner.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'Aligner';
    this.item.command = 'aligner.showMenu';
    this.update({ kind: 'stopped' }, false);
    this.item.show();
  }

  update(state: ServerState, correcting: boolean): void {
    const d = describeState(state, correcting);
    this.item.text = d.text;
    this.item.tooltip = d.tooltip;
    this.item.backgroundColor = d.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
