// The `aligner` command: thin subcommands over the engine, transports and trainer.
import { Command, CommanderError } from 'commander';
import { SERVER_VERSION } from '../engine/version.js';
import { registerCorrectCommand } from './correctCommand.js';
import { registerServeCommand } from './serveCommand.js';
import { registerTestModelCommand } from './testModelCommand.js';
import { registerEvalCommand } from './evalCommand.js';
import { registerConvertCommand } from './convertCommand.js';
import { registerExportCommand } from './exportCommand.js';
import { registerTrainCommands } from './trainCommands.js';
import { registerExportDataCommand } from './exportDataCommand.js';

const program = new Command('aligner')
  .description('Aligner: correct LLM answers with a small local model')
  .version(SERVER_VERSION)
  .showHelpAfterError();

registerCorrectCommand(program);
registerServeCommand(program);
registerTestModelCommand(program);
registerEvalCommand(program);
registerConvertCommand(program);
registerExportCommand(program);
registerTrainCommands(program);
registerExportDataCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`aligner: ${(err as Error).message}\n`);
  process.exit(1);
}
