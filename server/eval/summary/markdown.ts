// summary.md: a headline table (improvement per upstream model and judge) and every judge's
// metrics per group, rendered generically from the JSON summary so new judges show up unaided.
import type { Stat } from '../metrics/bootstrap.js';
import type { GroupSummary } from './summarize.js';
import type { EvalSummary } from './types.js';

const isStat = (v: unknown): v is Stat =>
  typeof v === 'object' && v !== null && 'mean' in v && 'low' in v && 'high' in v && 'n' in v;

const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '–' : x.toFixed(digits));

export function formatStat(s: Stat, digits = 2): string {
  if (s.mean === null) return '–';
  if (s.low === null || s.high === null) return num(s.mean, digits);
  return `${num(s.mean, digits)} [${num(s.low, digits)}, ${num(s.high, digits)}]`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The headline metric of each judge: the paper-style improvement, or the preference accuracy. */
const HEADLINE: Record<string, { metric: string; label: string }> = {
  preference: { metric: 'accuracyPerTokenPct', label: 'preference accuracy %' },
};
const headlineOf = (judge: string) => HEADLINE[judge] ?? { metric: 'improvementPct', label: `${judge} improvement %` };

/** The headline table alone (the CLI prints it at the end of a run). */
export function headline(summary: EvalSummary): string[] {
  const groups = Object.entries(summary.groups.byUpstream);
  const judgeNames = [
    ...new Set(
      groups.flatMap(([, g]) =>
        Object.entries(g.judges)
          .filter(([name, j]) => isStat(j[headlineOf(name).metric]))
          .map(([name]) => name),
      ),
    ),
  ];
  const head = ['upstream', 'rows', 'copy rate %', ...judgeNames.map((j) => headlineOf(j).label)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [name, g] of groups) {
    const copy = g.judges.basic?.copyRatePct;
    const cells = [
      cell(name),
      `${g.evaluated}/${g.rows}`,
      isStat(copy) ? formatStat(copy, 1) : '–',
      ...judgeNames.map((j) => {
        const s = g.judges[j]?.[headlineOf(j).metric];
        return isStat(s) ? formatStat(s, 1) : '–';
      }),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function groupTable(g: GroupSummary): string[] {
  const lines = ['| judge | metric | mean [95% CI] | n |', '|---|---|---|---|'];
  for (const [judge, s] of Object.entries(g.judges)) {
    for (const [metric, v] of Object.entries(s)) {
      if (metric === 'n') continue;
      if (isStat(v)) lines.push(`| ${judge} | ${metric} | ${formatStat(v)} | ${v.n} |`);
      else if (typeof v === 'number') lines.push(`| ${judge} | ${metric} | ${num(v)} | ${s.n} |`);
      else if (v && typeof v === 'object') {
        const parts = Object.entries(v as Record<string, unknown>).map(([k, c]) => `${k} ${String(c)}`);
        lines.push(`| ${judge} | ${metric} | ${cell(parts.join(', '))} | ${s.n} |`);
      }
    }
  }
  return lines;
}

function section(title: string, g: GroupSummary): string[] {
  const kinds = Object.entries(g.kinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `### ${cell(title)}`,
    '',
    `${g.evaluated} of ${g.rows} rows evaluated, ${g.errors} failed; kinds: ${kinds}.` +
      Object.entries(g.judgeErrors)
        .map(([j, n]) => ` The ${j} judge could not judge ${n} row(s).`)
        .join(''),
    '',
    ...groupTable(g),
    '',
  ];
}

export function renderSummaryMarkdown(summary: EvalSummary): string {
  const lines = [
    '# Aligner evaluation',
    '',
    `Model: \`${summary.model.path ?? summary.model.id}\`. Judges: ${summary.settings.judges.join(', ')}. ` +
      `Intervals: percentile bootstrap, ${summary.settings.bootstrap} resamples, seed ${summary.settings.seed}.` +
      (summary.complete ? '' : ' **Incomplete run**: rerun with the same --out to finish.'),
    '',
    '## Inputs',
    '',
    '| file | rows | kinds | invalid lines |',
    '|---|---|---|---|',
    ...summary.inputs.map(
      (i) =>
        `| ${cell(i.source)} | ${i.rows} | ${cell(
          Object.entries(i.kinds)
            .map(([k, n]) => `${k} ${n}`)
            .join(', '),
        )} | ${i.invalidCount} |`,
    ),
    '',
    '## Improvement per upstream model',
    '',
    'Improvement = % of rows where the correction is better minus % where it is worse; preference accuracy =',
    '% of pairs where the model finds the chosen answer likelier per token (see docs/eval.md). Mean [95% CI].',
    '',
    ...headline(summary),
    '',
    '## Per upstream model',
    '',
    ...Object.entries(summary.groups.byUpstream).flatMap(([k, g]) => section(k, g)),
    '## Per source file',
    '',
    ...Object.entries(summary.groups.bySource).flatMap(([k, g]) => section(k, g)),
    '## Overall',
    '',
    ...section('all rows', summary.groups.overall),
  ];
  return lines.join('\n');
}
