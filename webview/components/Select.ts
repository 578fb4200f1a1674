// A drop-down (toolkit: vscode-dropdown + vscode-option).
import { h } from './dom.js';

export interface SelectOption {
  value: string;
  label: string;
}

export function Select(
  options: SelectOption[],
  value: string,
  onChange: (value: string) => void,
  name?: string,
): HTMLElement {
  const el = h('vscode-dropdown', { 'data-select': name, 'aria-label': name }) as HTMLElement & { value: string };
  for (const o of options) el.append(h('vscode-option', { value: o.value, selected: o.value === value }, o.label));
  // The dropdown picks its value from its options once they are connected: set it after that.
  requestAnimationFrame(() => {
    if (el.value !== value) el.value = value;
    el.addEventListener('change', () => {
      if (el.value !== value) onChange(el.value);
    });
  });
  return el;
}
