// A status label with a coloured dot for the tone. Not the toolkit's vscode-tag/vscode-badge: their
// template carries an inline style attribute, which the webview's strict CSP refuses.
import { h } from './dom.js';

export type Tone = 'neutral' | 'running' | 'success' | 'error' | 'warning';

export function Badge(text: string, tone: Tone = 'neutral'): HTMLElement {
  return h('span', { class: `badge tone-${tone}`, 'data-status': text }, h('span', { class: 'dot' }), text);
}

/** The tone of a job status. */
export function statusTone(status: string): Tone {
  switch (status) {
    case 'running':
    case 'queued':
      return 'running';
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'error';
    case 'cancelled':
    case 'interrupted':
      return 'warning';
    default:
      return 'neutral';
  }
}
