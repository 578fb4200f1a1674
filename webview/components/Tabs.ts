// Tabs (toolkit: vscode-panels). The panels element re-renders its own tab strip; we keep the
// content elements and report the active tab so the app can persist it.
import { h } from './dom.js';

export interface Tab {
  id: string;
  label: string;
  content: HTMLElement;
}

export function Tabs(tabs: Tab[], active: string, onChange: (id: string) => void): HTMLElement {
  const panels = h('vscode-panels', { activeid: `tab-${active}`, class: 'tabs' });
  for (const t of tabs) panels.append(h('vscode-panel-tab', { id: `tab-${t.id}`, 'data-tab': t.id }, t.label));
  for (const t of tabs) panels.append(h('vscode-panel-view', { id: `view-${t.id}`, class: 'tab-view' }, t.content));
  panels.addEventListener('change', (e) => {
    const id = (e.target as HTMLElement & { activeid?: string }).activeid;
    if (e.target === panels && id) onChange(id.replace(/^tab-/, ''));
  });
  return panels;
}
