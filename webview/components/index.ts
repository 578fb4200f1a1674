// Our component layer over the webview UI toolkit (see toolkit.ts for why it is wrapped).
export { Badge, statusTone, type Tone } from './Badge.js';
export { Button, type ButtonProps } from './Button.js';
export { DataTable, type Column, type DataTableProps } from './DataTable.js';
export { append, h, replace, type Child } from './dom.js';
export { ProgressBar, type ProgressBarHandle } from './ProgressBar.js';
export { Select, type SelectOption } from './Select.js';
export { Tabs, type Tab } from './Tabs.js';
export { registerToolkit } from './toolkit.js';
