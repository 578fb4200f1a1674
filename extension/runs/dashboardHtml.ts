// The dashboard page. Strict CSP: no remote content, only our own nonce'd script and stylesheet
// from the extension folder (`cspSource` is webview.cspSource; the URIs come from asWebviewUri).
// No vscode import: the e2e harness renders the same page outside VS Code.
import { randomBytes } from 'node:crypto';

export interface DashboardPage {
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce?: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function dashboardHtml(p: DashboardPage): string {
  const nonce = p.nonce ?? newNonce();
  const csp = [
    "default-src 'none'",
    `img-src ${p.cspSource} data:`,
    // The nonce lets the toolkit's FAST runtime add its one feature-probe <style> (it reads the
    // csp-nonce meta below); every other style comes from our stylesheet.
    `style-src ${p.cspSource} 'nonce-${nonce}'`,
    `font-src ${p.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(p.styleUri)}">
<title>Aligner Runs</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${attr(p.scriptUri)}"></script>
</body>
</html>`;
}
