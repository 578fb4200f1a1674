// Line charts over chart.js, coloured from VS Code's theme variables and recoloured when the theme
// changes. Data is replaced in place and redrawn without animation, so live updates do not flicker.
import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { h } from '../components/index.js';
import type { Point } from '../data/series.js';

Chart.register(
  LineController,
  ScatterController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  Tooltip,
  Legend,
);

export interface SeriesSpec {
  label: string;
  /** A theme colour variable, e.g. "--vscode-charts-blue". */
  color: string;
  points: Point[];
  /** Points only (eval loss), no line. */
  pointsOnly?: boolean;
  dashed?: boolean;
}

export interface ChartHandle {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  update(series: SeriesSpec[]): void;
  destroy(): void;
}

const FALLBACK: Record<string, string> = {
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#999999',
  '--vscode-panel-border': 'rgba(128,128,128,0.35)',
};

function themeColor(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || FALLBACK[name] || '#888888';
}

/** Redraws of the charts on screen, run when the theme changes. */
const live = new Set<() => void>();

function dataset(s: SeriesSpec): ChartDataset<'line', Point[]> {
  const color = themeColor(s.color);
  return {
    label: s.label,
    data: s.points,
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    borderDash: s.dashed ? [6, 4] : [],
    showLine: !s.pointsOnly,
    pointRadius: s.pointsOnly ? 4 : s.points.length > 60 ? 0 : 2,
    pointHoverRadius: 5,
    tension: 0,
  };
}

function applyTheme(chart: Chart): void {
  const fg = themeColor('--vscode-foreground');
  const muted = themeColor('--vscode-descriptionForeground');
  const grid = themeColor('--vscode-panel-border');
  const font = getComputedStyle(document.body).getPropertyValue('--vscode-font-family').trim();
  chart.options.color = fg;
  if (font) Chart.defaults.font.family = font;
  for (const scale of Object.values(chart.options.scales ?? {})) {
    if (!scale) continue;
    scale.grid = { ...scale.grid, color: grid };
    scale.ticks = { ...scale.ticks, color: muted };
    if ('title' in scale && scale.title) scale.title.color = muted;
  }
}

/** A chart of y over training step. */
export function LineChart(opts: {
  title: string;
  yTitle: string;
  logY?: boolean;
  name: string;
  series: SeriesSpec[];
}): ChartHandle {
  const canvas = h('canvas', { 'aria-label': opts.title, role: 'img' });
  const el = h(
    'figure',
    { class: 'chart', 'data-chart': opts.name },
    h('figcaption', {}, opts.title),
    h('div', { class: 'chart-box' }, canvas),
  );
  let specs = opts.series;
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: specs.map(dataset) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      plugins: { legend: { display: specs.length > 1, labels: { boxWidth: 12 } } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
        y: { type: opts.logY ? 'logarithmic' : 'linear', title: { display: true, text: opts.yTitle } },
      },
    },
  });
  const update = (series: SeriesSpec[]) => {
    specs = series;
    const next = series.map(dataset);
    // Same datasets: swap the data arrays in place (keeps hidden/visible legend state).
    if (next.length === chart.data.datasets.length) next.forEach((d, i) => Object.assign(chart.data.datasets[i]!, d));
    else chart.data.datasets = next;
    chart.options.plugins!.legend!.display = series.length > 1;
    chart.update('none');
  };
  const redraw = () => {
    applyTheme(chart);
    update(specs);
  };
  redraw();
  live.add(redraw);
  return {
    el,
    canvas,
    update,
    destroy() {
      live.delete(redraw);
      chart.destroy();
    },
  };
}

/** VS Code swaps the body's theme class (vscode-light, vscode-dark, vscode-high-contrast…) on a theme change. */
export function watchTheme(): void {
  new MutationObserver(() => live.forEach((redraw) => redraw())).observe(document.body, {
    attributes: true,
    attributeFilter: ['class'],
  });
}
