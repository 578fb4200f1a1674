// Example corrections side by side: the answer with removed words marked, the correction with added
// words marked (word diff), and the reference correction when the row has one.
import type { ExampleRow } from '../messages.js';
import { Button, h } from '../components/index.js';
import { sideBySide, type Segment } from '../data/wordDiff.js';

function diffText(segments: Segment[]): HTMLElement {
  return h(
    'div',
    { class: 'diff-text' },
    ...segments.map((s) => (s.kind === 'same' ? s.text : h(s.kind === 'added' ? 'ins' : 'del', {}, s.text))),
  );
}

export function Examples(
  rows: ExampleRow[] | undefined,
  error: string | undefined,
  onMore: (() => void) | null,
): HTMLElement {
  const section = h('section', { class: 'examples' }, h('h3', {}, 'Example corrections'));
  if (error) section.append(h('p', { class: 'error' }, error));
  else if (!rows) section.append(h('p', { class: 'muted' }, 'Loading examples…'));
  else if (rows.length === 0) section.append(h('p', { class: 'muted' }, 'No corrected rows yet.'));
  for (const r of rows ?? []) {
    const { before, after } = sideBySide(r.answer, r.correction);
    section.append(
      h(
        'article',
        { class: 'example', 'data-row': r.id },
        h('p', { class: 'example-question' }, h('span', { class: 'muted' }, `${r.upstream} · `), r.question),
        h(
          'div',
          { class: 'side-by-side' },
          h('div', { class: 'side' }, h('h4', {}, 'Answer'), diffText(before)),
          h('div', { class: 'side' }, h('h4', {}, 'Correction'), diffText(after)),
        ),
        r.reference !== undefined
          ? h(
              'details',
              { class: 'reference' },
              h('summary', {}, 'Reference correction'),
              h('div', { class: 'diff-text' }, r.reference),
            )
          : null,
      ),
    );
  }
  if (onMore) section.append(Button({ label: 'Show more examples', onClick: onMore, action: 'more-examples' }));
  return section;
}
