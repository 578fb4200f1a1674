// A button (toolkit: vscode-button).
import { h } from './dom.js';

export interface ButtonProps {
  label: string;
  onClick: () => void;
  appearance?: 'primary' | 'secondary';
  disabled?: boolean;
  title?: string;
  /** Stable hook for tests and CSS. */
  action?: string;
}

export function Button(p: ButtonProps): HTMLElement {
  const el = h('vscode-button', {
    appearance: p.appearance ?? 'secondary',
    disabled: p.disabled ?? false,
    title: p.title,
    'data-action': p.action,
  });
  el.textContent = p.label;
  el.addEventListener('click', () => {
    if (!el.hasAttribute('disabled')) p.onClick();
  });
  return el;
}
