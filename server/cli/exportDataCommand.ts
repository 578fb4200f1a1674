// `aligner export-data`: an eval run's or the recorded reviews' corrections -> a JSONL dataset for
// TRL's SFTTrainer (sft) or DPOTrainer (dpo), to train the upstream model on them.
import type { Command } from 'commander';
import { oneOf } from './options.js';
import { describeSkips, EXPORT_FORMATS, exportData, type ExportFormat } from '../exportData/index.js';

interface ExportDataFlags {
  from: string;
  format: ExportFormat;
  out: string;
}

const KIND_TEXT = { 'eval-run': 'eval run', reviews: 'reviews' } as const;

export function registerExportDataCommand(program: Command): void {
  program
    .command('export-data')
    .description(
      'write the corrections of an eval run or of recorded reviews as SFT rows (chat messages) or ' +
        'DPO pairs (correction over original) in the formats TRL reads',
    )
    .requiredOption(
      '--from <path>',
      'an `aligner eval` output folder (or its rows.jsonl), or a reviews.jsonl (or the folder that holds it)',
    )
    .requiredOption('--format <format>', 'sft ({messages}) or dpo ({prompt, chosen, rejected})', oneOf(EXPORT_FORMATS))
    .requiredOption('--out <file>', 'JSONL file to write (replaced whole, never the source)')
    .action((f: ExportDataFlags) => {
      const r = exportData(f);
      const skips = describeSkips(r.skipped);
      if (skips) process.stderr.write(`aligner: export-data: ${skips}\n`);
      process.stdout.write(`wrote ${r.rows} ${f.format} rows from the ${KIND_TEXT[r.kind]} ${f.from} to ${f.out}\n`);
    });
}
