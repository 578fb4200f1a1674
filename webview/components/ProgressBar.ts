// A determinate progress bar with its label. The toolkit only has a spinner (vscode-progress-ring),
// used while the total is unknown. The width is set through the CSSOM, which the webview's CSP allows.
import { h } from './dom.js';

export interface ProgressBarHandle {
  el: HTMLElement;
  update(fraction: number | null, label: string): void;
}

export function ProgressBar(fraction: number | null, label: string): ProgressBarHandle {
  const fill = h('div', { class: 'progress-fill' });
  const track = h(
    'div',
    { class: 'progress-track', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 },
    fill,
  );
  const ring = h('vscode-progress-ring', { class: 'progress-ring' });
  const text = h('span', { class: 'progress-label' });
  const el = h('div', { class: 'progress' }, track, ring, text);
  const update = (f: number | null, l: string) => {
    const known = f !== null;
    el.classList.toggle('indeterminate', !known);
    const pct = known ? Math.round(Math.max(0, Math.min(1, f)) * 1000) / 10 : 0;
    fill.style.width = `${pct}%`;
    if (known) track.setAttribute('aria-valuenow', String(pct));
    else track.removeAttribute('aria-valuenow');
    text.textContent = known ? `${pct.toFixed(pct % 1 ? 1 : 0)}% · ${l}` : l;
  };
  update(fraction, label);
  return { el, update };
}
