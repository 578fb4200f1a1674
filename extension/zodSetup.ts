// Imported first by main.ts. zod probes whether it may compile validators with `new Function`, and
// that probe reads `navigator`, which VS Code's extension host turns into a logged
// PendingMigrationError. Jitless validation skips the probe (and settings validation is not hot).
import { z } from 'zod';

z.config({ jitless: true });
