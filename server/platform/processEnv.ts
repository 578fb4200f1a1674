// The environment a server process is started with: huge pages for the engine's memory (see
// server/engine/hugePages.ts for why) and the parent's pid it watches (server/cli/parentWatch.ts).
// Shared by the `aligner` launcher, the engine and the VS Code extension, which starts the bundled
// server: it imports nothing of ours, so the extension can use it without reaching into the engine.

/** The launcher's pid, for a child that must stop when its parent dies. */
export const PARENT_PID_ENV = 'ALIGNER_PARENT_PID';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';
/** Set to 0 to keep 4 KiB pages (for side-by-side measurements, or if a kernel misbehaves). */
export const HUGE_PAGES_SWITCH = 'ALIGNER_HUGE_PAGES';

export function hugePagesActive(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.GLIBC_TUNABLES ?? '').split(':').some((t) => t.startsWith('glibc.malloc.hugetlb='));
}

/**
 * The environment variables a child process needs for huge pages, merged into `env`'s own
 * GLIBC_TUNABLES; empty when they do not apply (not Linux, switched off, or already set).
 */
export function hugePagesEnv(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): { GLIBC_TUNABLES?: string } {
  if (platform !== 'linux' || env[HUGE_PAGES_SWITCH] === '0' || hugePagesActive(env)) return {};
  const tunables = [env.GLIBC_TUNABLES, HUGE_PAGES_TUNABLE].filter(Boolean).join(':');
  return { GLIBC_TUNABLES: tunables };
}
