// Entry point of the runs dashboard webview (bundled by esbuild into dist/webview.js + dist/webview.css).
import './styles.css';
import { App, type VsCodeApi } from './app.js';
import { registerToolkit } from './components/index.js';
import { watchTheme } from './views/charts.js';

declare function acquireVsCodeApi(): VsCodeApi;

registerToolkit();
watchTheme();
new App(acquireVsCodeApi(), document.getElementById('app') ?? document.body).start();
