// How much CPU other processes took while the benchmark ran (Linux /proc/stat), since this machine
// is shared and the figures are only as clean as the cores they got.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

interface Snapshot {
  wallMs: number;
  /** All cores' busy time (USER_HZ = 100 ticks/s), or null off Linux. */
  busyS: number | null;
  /** This process's CPU time (all its threads, the engine worker included). */
  ownS: number;
}

function snapshot(): Snapshot {
  let busyS: number | null = null;
  if (existsSync('/proc/stat')) {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = ticks[3]! + ticks[4]!; // idle + iowait
    busyS = (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
  }
  const cpu = process.cpuUsage();
  return { wallMs: performance.now(), busyS, ownS: (cpu.user + cpu.system) / 1e6 };
}

export class LoadMeter {
  private last = snapshot();
  private readonly first = this.last;

  private static others(a: Snapshot, b: Snapshot): number | null {
    if (a.busyS === null || b.busyS === null) return null;
    const cores = (b.busyS - a.busyS - (b.ownS - a.ownS)) / ((b.wallMs - a.wallMs) / 1000);
    return Math.min(availableParallelism(), Math.max(0, cores));
  }

  /** Cores' worth of CPU other processes used since the previous lap (null off Linux). */
  lap(): number | null {
    const now = snapshot();
    const cores = LoadMeter.others(this.last, now);
    this.last = now;
    return cores;
  }

  /** The same since the meter was made. */
  total(): number | null {
    return LoadMeter.others(this.first, snapshot());
  }
}
