// "Aligner: Show Runs": the dashboard as one webview panel. The page is dist/webview.js + .css from
// the extension folder (the only local resource root), under the strict CSP of dashboardHtml.ts.
import * as vscode from 'vscode';
import type { JobInfo } from '../../server/protocol/index.js';
import type { Logger } from '../serverProcess.js';
import { DashboardHost } from './dashboardHost.js';
import { dashboardHtml } from './dashboardHtml.js';
import type { JobHub } from './jobHub.js';
import { readExampleRows } from './rowsReader.js';

export interface RunsPanelDeps {
  extensionUri: vscode.Uri;
  hub: JobHub;
  log: Logger;
  exportRun(trainJobId: string): Promise<void>;
  evaluate(exportJobId: string): Promise<void>;
  /** Shows a progress notification for a job the dashboard resumed. */
  track(job: JobInfo): void;
}

export class RunsPanel implements vscode.Disposable {
  private static current: RunsPanel | undefined;
  private readonly host: DashboardHost;
  private readonly disposables: vscode.Disposable[] = [];

  /** Opens the dashboard (or brings it forward), showing `jobId` when given. */
  static show(deps: RunsPanelDeps, jobId?: string): RunsPanel {
    const panel = RunsPanel.current ?? new RunsPanel(deps);
    panel.panel.reveal(undefined, false);
    if (jobId) panel.host.select(jobId);
    return panel;
  }

  /** The open dashboard, if any (commands tell it about the jobs they start). */
  static get open(): RunsPanel | undefined {
    return RunsPanel.current;
  }

  private readonly panel: vscode.WebviewPanel;

  private constructor(deps: RunsPanelDeps) {
    const dist = vscode.Uri.joinPath(deps.extensionUri, 'dist');
    this.panel = vscode.window.createWebviewPanel('aligner.runs', 'Aligner Runs', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [dist],
      // Live charts and the chosen run survive switching tabs, and job events reach a hidden panel.
      retainContextWhenHidden: true,
    });
    this.panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'icon.png');
    const webview = this.panel.webview;
    this.host = new DashboardHost({
      hub: deps.hub,
      post: (m) => void webview.postMessage(m),
      readRows: readExampleRows,
      exportRun: deps.exportRun,
      evaluate: deps.evaluate,
      track: deps.track,
      log: deps.log,
    });
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => void this.host.handle(m)),
      this.panel.onDidDispose(() => this.dispose()),
    );
    RunsPanel.current = this;
  }

  select(jobId: string): void {
    this.host.select(jobId);
  }

  dispose(): void {
    if (RunsPanel.current === this) RunsPanel.current = undefined;
    this.host.dispose();
    this.disposables.forEach((d) => d.dispose());
    this.panel.dispose();
  }
}
