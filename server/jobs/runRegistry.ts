// The run registry on disk: one folder per job under <stateDir>/runs/<id>/ holding job.json (config,
// status), events.jsonl (every JSON progress event) and log.txt (the child's stderr). It outlives
// server and editor restarts; a job that was running when its server died is marked interrupted.
// Folders are 0700 and files 0600: configs, logs and eval rows hold the user's text.
// Every write goes through `RegistryWrites`, so tests can make the disk full or read-only.
import * as nodeFs from 'node:fs';
import { existsSync, readdirSync, readFileSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JobInfo } from '../protocol/index.js';

/** The writes the registry makes; node:fs by default. */
export type RegistryWrites = Pick<
  typeof nodeFs,
  'mkdirSync' | 'writeFileSync' | 'renameSync' | 'appendFileSync' | 'unlinkSync' | 'chmodSync'
>;

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** An fs error as one line for users: "ENOSPC: no space left on device, write". */
export function describeFsError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class RunRegistry {
  constructor(
    readonly root: string,
    private readonly fs: RegistryWrites = nodeFs,
  ) {
    const existed = existsSync(root);
    this.fs.mkdirSync(root, { recursive: true, mode: DIR_MODE });
    // A folder we made is ours to lock down; one the user named may be shared on purpose.
    if (!existed) this.fs.chmodSync(root, DIR_MODE);
  }

  /** Throws (with the fs error) when a record cannot be written here: read-only, full, not a folder. */
  checkWritable(): void {
    const probe = join(this.root, `.write-probe-${process.pid}`);
    this.fs.writeFileSync(probe, 'probe\n', { mode: FILE_MODE });
    this.fs.unlinkSync(probe);
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Writes job.json atomically (temp file + rename), so a crash never leaves half a record. */
  save(job: JobInfo): void {
    const dir = this.dir(job.id);
    this.fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    const tmp = join(dir, `job.json.${process.pid}.tmp`);
    try {
      this.fs.writeFileSync(tmp, JSON.stringify(job, null, 2), { mode: FILE_MODE });
      this.fs.renameSync(tmp, join(dir, 'job.json'));
    } catch (err) {
      // A half-written temp file on a full disk would only take more space.
      try {
        this.fs.unlinkSync(tmp);
      } catch {
        // never written, or the disk is gone altogether
      }
      throw err;
    }
  }

  loadAll(): JobInfo[] {
    const jobs: JobInfo[] = [];
    for (const id of readdirSync(this.root)) {
      const file = join(this.root, id, 'job.json');
      if (!existsSync(file)) continue;
      try {
        jobs.push(JSON.parse(readFileSync(file, 'utf8')) as JobInfo);
      } catch {
        // a damaged record is skipped, not fatal
      }
    }
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  appendEvent(id: string, event: Record<string, unknown>): void {
    this.fs.appendFileSync(join(this.dir(id), 'events.jsonl'), JSON.stringify(event) + '\n', { mode: FILE_MODE });
  }

  appendLog(id: string, data: string | Buffer): void {
    this.fs.appendFileSync(this.logFile(id), data, { mode: FILE_MODE });
  }

  events(id: string): Record<string, unknown>[] {
    const file = join(this.dir(id), 'events.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  logFile(id: string): string {
    return join(this.dir(id), 'log.txt');
  }

  /** The last `bytes` of the job's log. */
  logTail(id: string, bytes = 16_384): string {
    const file = this.logFile(id);
    if (!existsSync(file)) return '';
    const size = statSync(file).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8');
  }
}
