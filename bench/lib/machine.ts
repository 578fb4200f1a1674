// The machine a benchmark ran on, recorded with its figures.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import { hugePagesActive } from '../../server/platform/processEnv.js';
import { round } from './stats.js';

/** The CPU's vendor/family/model from /proc/cpuinfo (the model name alone is often just "AMD EPYC"). */
function cpuId(): string | null {
  if (!existsSync('/proc/cpuinfo')) return null;
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(info)?.[1];
  return `${field('vendor_id')} family ${field('cpu family')} model ${field('model')}`;
}

/** The kernel's transparent-huge-page mode ("madvise" is what glibc's hugetlb tunable needs). */
function thpMode(): string | null {
  const f = '/sys/kernel/mm/transparent_hugepage/enabled';
  return existsSync(f) ? (/\[(\w+)\]/.exec(readFileSync(f, 'utf8'))?.[1] ?? null) : null;
}

export function describeMachine() {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpuId: cpuId(),
    cores: availableParallelism(),
    memoryGiB: round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntimeNode: ort.env.versions.node ?? 'unknown',
    loadAverageAtStart: loadavg().map((x) => round(x)),
    /** Whether this process asked glibc for huge pages (server/engine/hugePages.ts), and the kernel's mode. */
    hugePages: { requested: hugePagesActive(), kernelMode: thpMode() },
  };
}
