// What every headless Chromium of the e2e tier is launched with.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A fresh folder for Chromium's TMPDIR (the caller removes it). Chromium's singleton socket lives there
 * and a Unix socket path must stay under 108 bytes, which a run folder inside a deep checkout (CI
 * clones into a longer path than a workstation) overflows; so it is a short folder in the system temp dir.
 */
export const shortTempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
