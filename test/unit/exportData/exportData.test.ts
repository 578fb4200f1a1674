// `aligner export-data`: eval runs and reviews -> TRL's SFT and DPO rows, the rows it skips and why,
// clear errors for a bad source, and an output that is written whole and never over the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSkips, exportData, readSource, type DpoRow, type SftRow } from '../../../server/exportData/index.js';
import type { RowRecord } from '../../../server/eval/types.js';

const made: string[] = [];
process.on('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'aligner-export-data-'));
  made.push(dir);
  return dir;
};
const jsonl = (rows: readonly unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const readRows = <T>(path: string): T[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);

const rec = (id: string, fields: Partial<RowRecord>): RowRecord => ({
  id,
  source: 'qac.jsonl',
  line: 1,
  kind: 'qac',
  upstream: 'gpt',
  question: `question ${id}`,
  answer: `answer ${id}`,
  correction: `corrected ${id}`,
  finishReason: 'stop',
  ...fields,
});

/** An eval run folder: one good row with dialogue context, then one row of each kind that is skipped. */
function evalRun(): string {
  const dir = tmp();
  const rows: unknown[] = [
    rec('a', {
      context: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
      ],
    }),
    rec('b', { error: 'upstream down' }), // failed, then retried below: the retry counts
    rec('c', { error: 'prompt too long', permanent: true, correction: undefined, finishReason: undefined }),
    rec('d', { finishReason: 'length' }),
    rec('e', { correction: '  answer   e ' }), // a copy, whitespace aside
    rec('f', { correction: undefined, finishReason: undefined }),
    rec('b', {}),
  ];
  writeFileSync(join(dir, 'rows.jsonl'), jsonl(rows) + '{"id":"g","sour'); // a torn last line
  writeFileSync(join(dir, 'run.json'), '{"version":1,"settings":{}}\n');
  return dir;
}

function reviewsFile(dir = tmp()): string {
  const path = join(dir, 'reviews.jsonl');
  const base = { source: 'review', timestamp: '2026-11-27T10:00:00.000Z' };
  writeFileSync(
    path,
    jsonl([
      {
        question: 'Reverse a list?',
        answer: 'list.reverse() returns it.',
        correction: 'list.reverse() works in place.',
        ...base,
      },
      { question: 'Sort?', answer: 'Use sorted().', correction: 'Use sorted().', ...base }, // every change rejected
      { question: 'Empty?', answer: 'x', correction: '  ', ...base },
      { note: 'not a review' },
    ]),
  );
  return path;
}

test('an eval run exports its corrections as SFT conversations, earlier turns first', () => {
  const run = evalRun();
  const out = join(tmp(), 'sft.jsonl');
  const r = exportData({ from: run, format: 'sft', out });
  assert.equal(r.kind, 'eval-run');
  const rows = readRows<SftRow>(out);
  assert.deepEqual(rows[0], {
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'question a' },
      { role: 'assistant', content: 'corrected a' },
    ],
  });
  // b (its retry succeeded) and e (a copy still teaches the model to keep a right answer) stay.
  assert.deepEqual(
    rows.map((x) => x.messages.at(-1)!.content),
    ['corrected a', 'corrected b', '  answer   e '],
  );
  assert.deepEqual(r.skipped, { errored: 1, truncated: 1, incomplete: 1, unchanged: 0, unreadable: 1 });
});

test('an eval run exports (correction over original) DPO pairs and leaves out unchanged answers', () => {
  const out = join(tmp(), 'dpo.jsonl');
  const r = exportData({ from: evalRun(), format: 'dpo', out });
  const rows = readRows<DpoRow>(out);
  assert.deepEqual(rows[1], {
    prompt: [{ role: 'user', content: 'question b' }],
    chosen: [{ role: 'assistant', content: 'corrected b' }],
    rejected: [{ role: 'assistant', content: 'answer b' }],
  });
  assert.equal(rows.length, 2);
  assert.equal(rows[0]!.prompt.length, 3);
  assert.deepEqual(r.skipped, { errored: 1, truncated: 1, incomplete: 1, unchanged: 1, unreadable: 1 });
  assert.equal(
    describeSkips(r.skipped),
    '5 rows skipped: 1 errored, 1 truncated at --max-new-tokens, 1 without a question, answer or correction, ' +
      '1 unchanged (the correction equals the answer: no preference), 1 not readable as a row',
  );
});

test("an eval run's rows.jsonl can be named directly", () => {
  const src = readSource(join(evalRun(), 'rows.jsonl'));
  assert.equal(src.kind, 'eval-run');
  assert.equal(src.pairs.length, 3);
});

test('recorded reviews export as SFT and DPO rows, from the file or the folder that holds it', () => {
  const file = reviewsFile();
  const sftOut = join(tmp(), 'sft.jsonl');
  const sft = exportData({ from: file, format: 'sft', out: sftOut });
  assert.equal(sft.kind, 'reviews');
  assert.deepEqual(readRows<SftRow>(sftOut), [
    {
      messages: [
        { role: 'user', content: 'Reverse a list?' },
        { role: 'assistant', content: 'list.reverse() works in place.' },
      ],
    },
    {
      messages: [
        { role: 'user', content: 'Sort?' },
        { role: 'assistant', content: 'Use sorted().' },
      ],
    },
  ]);
  assert.deepEqual(sft.skipped, { errored: 0, truncated: 0, incomplete: 1, unchanged: 0, unreadable: 1 });

  const dpoOut = join(tmp(), 'dpo.jsonl');
  const dpo = exportData({ from: join(file, '..'), format: 'dpo', out: dpoOut });
  assert.equal(dpo.kind, 'reviews');
  assert.deepEqual(readRows<DpoRow>(dpoOut), [
    {
      prompt: [{ role: 'user', content: 'Reverse a list?' }],
      chosen: [{ role: 'assistant', content: 'list.reverse() works in place.' }],
      rejected: [{ role: 'assistant', content: 'list.reverse() returns it.' }],
    },
  ]);
  assert.equal(dpo.skipped.unchanged, 1);
});

test('a Q-A-C row with an HH-RLHF context gets alternating turns ending with the question', () => {
  const path = join(tmp(), 'qac.jsonl');
  writeFileSync(
    path,
    jsonl([
      {
        question: 'And now?',
        answer: 'No.',
        correction: 'Yes.',
        context: '\n\nHuman: Hi\n\nHuman: There?\n\nAssistant: Yes',
      },
    ]),
  );
  assert.deepEqual(readSource(path).pairs[0]!.prompt, [
    { role: 'user', content: 'Hi\n\nThere?' },
    { role: 'assistant', content: 'Yes' },
    { role: 'user', content: 'And now?' },
  ]);
});

test('a missing or unrecognised source gets one clear line', () => {
  const dir = tmp();
  const out = join(dir, 'out.jsonl');
  const fails = (from: string, re: RegExp) =>
    assert.throws(
      () => exportData({ from, format: 'sft', out }),
      (e: Error) => re.test(e.message) && !e.message.includes('\n'),
    );
  fails(join(dir, 'nope'), /no such file or folder/);
  mkdirSync(join(dir, 'empty'));
  fails(join(dir, 'empty'), /neither rows\.jsonl \(an aligner eval run\) nor reviews\.jsonl/);
  writeFileSync(join(dir, 'blank.jsonl'), '\n\n');
  fails(join(dir, 'blank.jsonl'), /no JSON rows/);
  writeFileSync(join(dir, 'other.jsonl'), jsonl([{ prompt: 'p', completion: 'c' }]));
  fails(join(dir, 'other.jsonl'), /not an eval run's rows\.jsonl .* nor a reviews\.jsonl/);
  assert.equal(existsSync(out), false);
});

test('nothing to export is an error that says why, and writes no file', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'rows.jsonl'), jsonl([rec('a', { error: 'boom' }), rec('b', { correction: 'answer b' })]));
  const out = join(dir, 'dpo.jsonl');
  assert.throws(
    () => exportData({ from: dir, format: 'dpo', out }),
    /nothing to export from .*\(2 rows skipped: 1 errored, 1 unchanged/,
  );
  assert.equal(existsSync(out), false);
});

test('the output never replaces a file of the source, and replaces an old output whole', () => {
  const run = evalRun();
  const before = readFileSync(join(run, 'rows.jsonl'), 'utf8');
  for (const name of ['rows.jsonl', 'run.json', 'summary.json']) {
    assert.throws(
      () => exportData({ from: run, format: 'sft', out: join(run, name) }),
      /is a file of the --from source/,
    );
  }
  assert.throws(
    () => exportData({ from: run, format: 'sft', out: join(run, 'x', '..', 'rows.jsonl') }),
    /--from source/,
  );
  assert.throws(() => exportData({ from: run, format: 'sft', out: run }), /is a folder/);
  const reviews = reviewsFile();
  assert.throws(() => exportData({ from: reviews, format: 'dpo', out: reviews }), /--from source/);
  assert.equal(readFileSync(join(run, 'rows.jsonl'), 'utf8'), before);

  // A missing parent folder is made; an old, longer output is replaced, not overwritten in place.
  const out = join(tmp(), 'nested', 'sft.jsonl');
  mkdirSync(join(out, '..'));
  writeFileSync(out, 'an old export that is longer than the new one\n'.repeat(100));
  exportData({ from: run, format: 'sft', out });
  assert.equal(readRows<SftRow>(out).length, 3);
  assert.deepEqual(readdirSync(join(out, '..')), ['sft.jsonl'], 'no temporary file is left behind');
  const fresh = join(tmp(), 'a', 'b', 'sft.jsonl');
  exportData({ from: run, format: 'sft', out: fresh });
  assert.equal(readRows<SftRow>(fresh).length, 3);
});

test('the CLI reports rows on stdout, skips on stderr, and errors as one line with exit 1', () => {
  const main = join(import.meta.dirname, '..', '..', '..', 'server', 'cli', 'main.ts');
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', main, 'export-data', ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });
  const run = evalRun();
  const out = join(tmp(), 'dpo.jsonl');
  const ok = cli('--from', run, '--format', 'dpo', '--out', out);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `wrote 2 dpo rows from the eval run ${run} to ${out}\n`);
  assert.match(ok.stderr, /^aligner: export-data: 5 rows skipped: 1 errored, 1 truncated/);

  const bad = cli('--from', join(run, 'nope'), '--format', 'sft', '--out', out);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, `aligner: --from ${join(run, 'nope')}: no such file or folder\n`);
  const badFormat = cli('--from', run, '--format', 'kto', '--out', out);
  assert.notEqual(badFormat.status, 0);
  assert.match(badFormat.stderr, /must be one of sft, dpo/);
});
