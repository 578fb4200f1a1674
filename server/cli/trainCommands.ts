// `aligner train` and `aligner prepare-data`: thin launchers for the Python trainer
// (server/trainer, package aligner_trainer) in the project's venv. Arguments go through untouched, so
// the Python side's --help is the reference; stdio is inherited (stdout: JSON-lines events, stderr:
// human logs) and the exit code is the child's.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

const SETUP_HINT = 'run scripts/setup-python.sh from the repository root first (it creates .venv/ with the trainer)';

/** The repository root: the nearest folder above this module (server/cli in a checkout, dist/server/cli
 *  once compiled) that has both package.json and the trainer package. */
export function trainerRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'server', 'trainer', 'aligner_trainer')))
      return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** $ALIGNER_PYTHON, else the venv's interpreter (POSIX or Windows layout). */
export function venvPython(root: string): string | null {
  if (process.env.ALIGNER_PYTHON) return process.env.ALIGNER_PYTHON;
  for (const candidate of [join(root, '.venv', 'bin', 'python'), join(root, '.venv', 'Scripts', 'python.exe')]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Runs `python -m aligner_trainer <subcommand> <args>`; resolves with the exit code to use. */
export function runTrainer(subcommand: string, args: string[]): Promise<number> {
  const root = trainerRoot();
  if (root === null) {
    process.stderr.write(
      `aligner ${subcommand}: the Python trainer (server/trainer) is not part of this installation\n`,
    );
    return Promise.resolve(1);
  }
  const python = venvPython(root);
  if (python === null) {
    process.stderr.write(`aligner ${subcommand}: no Python environment at ${join(root, '.venv')}; ${SETUP_HINT}\n`);
    return Promise.resolve(1);
  }
  const trainerPath = join(root, 'server', 'trainer');
  const pythonPath = [trainerPath, process.env.PYTHONPATH]
    .filter(Boolean)
    .join(process.platform === 'win32' ? ';' : ':');
  return new Promise((resolve) => {
    const child = spawn(python, ['-m', 'aligner_trainer', subcommand, ...args], {
      stdio: 'inherit',
      env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1' },
    });
    // Ctrl-C reaches the whole process group; a SIGTERM sent to us alone is passed on so the
    // trainer is not orphaned (its checkpoints are atomic, so --resume picks up after either).
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onTerm = forward('SIGTERM');
    const onHup = forward('SIGHUP');
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    process.on('SIGINT', () => {}); // let the child handle it and report; we exit with its code
    child.on('error', (err) => {
      process.stderr.write(`aligner ${subcommand}: cannot start ${python}: ${err.message}; ${SETUP_HINT}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}

function passThrough(program: Command, name: string, description: string): void {
  program
    .command(name)
    .description(`${description} (Python trainer; \`aligner ${name} --help\` lists every option)`)
    .usage('[options]')
    .helpOption(false) // --help goes to the Python side, which knows the options
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action(async (args: string[]) => {
      process.exitCode = await runTrainer(name, args);
    });
}

export function registerTrainCommands(program: Command): void {
  passThrough(
    program,
    'train',
    'train an Aligner on Q-A-C JSONL: --data FILE [--val FILE] --out RUNDIR [--preset tiny|small|base | --base DIR] ' +
      '[--model-type llama|gemma|qwen2] [--max-steps N] [--warmup-identity 0.2] [--resume] [--dry-run]; ' +
      'progress as JSON lines on stdout',
  );
  passThrough(
    program,
    'prepare-data',
    'import, validate, dedup and split data: --format qac|hh-rlhf|pku-saferlhf|alpacaeval --input FILE... --out DIR',
  );
}
