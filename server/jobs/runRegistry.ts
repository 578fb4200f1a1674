// The run registry on disk: one folder per job under <stateDir>/runs/<id>/ holding job.json (config,
// status), events.jsonl (every JSON progress event) and log.txt (the child's stderr). It outlives
// server and editor restarts; a job that was running when its server died is marked interrupted.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  openSync,
  readSync,
  closeSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { JobInfo } from '../protocol/index.js';

export class RunRegistry {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Writes job.json atomically (temp file + rename), so a crash never leaves half a record. */
  save(job: JobInfo): void {
    const dir = this.dir(job.id);
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `job.json.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(job, null, 2));
    renameSync(tmp, join(dir, 'job.json'));
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
    appendFileSync(join(this.dir(id), 'events.jsonl'), JSON.stringify(event) + '\n');
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
