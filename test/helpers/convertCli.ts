// `aligner convert ARGS` in this process (the command as the CLI registers it): what it printed on
// stdout. Errors reject, as commander's exitOverride makes them throw.
import { Command } from 'commander';
import { registerConvertCommand } from '../../server/cli/convertCommand.js';

export async function runConvertCli(args: string[]): Promise<string> {
  const program = new Command('aligner').exitOverride();
  registerConvertCommand(program);
  const write = process.stdout.write;
  let printed = '';
  process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['convert', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return printed;
}
