// The runs dashboard outside VS Code: the built webview bundle (dist/webview.js + .css) in the same
// page and CSP the extension serves, in headless Chromium. Only VS Code's webview plumbing is stubbed:
// `acquireVsCodeApi().postMessage` goes to the extension's real DashboardHost (validation, jobs over
// the real server connection, rows.jsonl reading), and its replies come back as message events.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DashboardHost, type DashboardHostDeps } from '../../extension/runs/dashboardHost.js';
import { dashboardHtml } from '../../extension/runs/dashboardHtml.js';
import { readExampleRows } from '../../extension/runs/rowsReader.js';
import type { HostMessage } from '../../webview/messages.js';
import { CHROMIUM_ARGS, shortTempDir } from './chromiumLaunch.js';

const ORIGIN = 'https://aligner-dashboard.test';

/** A few of the variables VS Code's Dark Modern theme sets on a webview's <html>. */
const DARK_THEME: Record<string, string> = {
  '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-editor-font-family': '"Droid Sans Mono", monospace',
  '--vscode-editor-font-size': '13px',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-errorForeground': '#f85149',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-progressBar-background': '#0078d4',
  '--vscode-input-background': '#313131',
  '--vscode-scrollbarSlider-background': 'rgba(121, 121, 121, 0.4)',
  '--vscode-editorWidget-background': '#202020',
  '--vscode-textLink-foreground': '#4daafc',
  '--vscode-textCodeBlock-background': '#2b2b2b',
  '--vscode-textBlockQuote-background': '#2b2b2b',
  '--vscode-list-inactiveSelectionBackground': '#37373d',
  '--vscode-diffEditor-insertedTextBackground': 'rgba(156, 204, 44, 0.2)',
  '--vscode-diffEditor-removedTextBackground': 'rgba(255, 0, 0, 0.2)',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-testing-iconPassed': '#73c991',
  '--vscode-testing-iconFailed': '#f14c4c',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
};

export interface DashboardHarness {
  page: Page;
  host: DashboardHost;
  /** Every message the webview sent to the host, in order. */
  sent: unknown[];
  /** Content Security Policy violations reported by the page. */
  cspViolations(): Promise<string[]>;
  errors: string[];
  close(): Promise<void>;
}

export async function openDashboardHarness(o: {
  root: string;
  chromiumPath: string;
  hub: DashboardHostDeps['hub'];
  tmpDir: string;
  log?: DashboardHostDeps['log'];
}): Promise<DashboardHarness> {
  const shortTmp = shortTempDir('aligner-dash-');
  const browser: Browser = await chromium.launch({
    executablePath: o.chromiumPath,
    headless: true,
    env: { ...process.env, TMPDIR: shortTmp, HOME: o.tmpDir } as Record<string, string>,
    args: CHROMIUM_ARGS,
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });

  const files: Record<string, [string, string]> = {
    '/dist/webview.js': [join(o.root, 'dist/webview.js'), 'text/javascript'],
    '/dist/webview.css': [join(o.root, 'dist/webview.css'), 'text/css'],
  };
  const html = dashboardHtml({
    cspSource: ORIGIN,
    scriptUri: `${ORIGIN}/dist/webview.js`,
    styleUri: `${ORIGIN}/dist/webview.css`,
  });
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/' || path === '/index.html') return route.fulfill({ body: html, contentType: 'text/html' });
    const f = files[path];
    return f ? route.fulfill({ body: readFileSync(f[0]), contentType: f[1] }) : route.fulfill({ status: 404 });
  });

  // Host -> webview: in order, as message events (what VS Code's webview.postMessage delivers).
  let chain: Promise<unknown> = Promise.resolve();
  const post = (m: HostMessage) => {
    chain = chain.then(() =>
      page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), m).catch(() => undefined),
    );
  };
  const log = o.log ?? {
    info() {},
    warn: (m: string) => errors.push(`host: ${m}`),
    error: (m: string) => errors.push(`host: ${m}`),
  };
  const host = new DashboardHost({
    hub: o.hub,
    post,
    readRows: readExampleRows,
    exportRun: async () => undefined,
    evaluate: async () => undefined,
    log,
  });
  const sent: unknown[] = [];
  await page.exposeFunction('__alignerToHost', (m: unknown) => {
    sent.push(m);
    void host.handle(m);
  });
  // A string, not a function: the test runner's transpiler would add helpers the page does not have.
  await page.addInitScript(`(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '') + ' ' + e.sourceFile + ':' + e.lineNumber));
    let state;
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__alignerToHost(m),
      getState: () => state,
      setState: (s) => { state = s; },
    });
    // VS Code puts the theme's colours on <html> and a theme class on <body>.
    const theme = ${JSON.stringify(DARK_THEME)};
    const apply = () => {
      for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
      document.body?.classList.add('vscode-dark');
    };
    if (document.documentElement) apply();
    document.addEventListener('readystatechange', apply);
  })()`);
  await page.goto(`${ORIGIN}/`);
  return {
    page,
    host,
    sent,
    errors,
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
    async close() {
      host.dispose();
      await browser.close();
      rmSync(shortTmp, { recursive: true, force: true });
    },
  };
}
