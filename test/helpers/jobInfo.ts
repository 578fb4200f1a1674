// A job record as the server lists it (jobs/list), for tests of what shows jobs: a train job with no
// progress yet, overridden field by field.
import type { JobInfo } from '../../server/protocol/index.js';

export const jobInfo = (over: Partial<JobInfo> & Pick<JobInfo, 'id'>): JobInfo => ({
  kind: 'train',
  name: over.id,
  status: 'running',
  config: { data: ['/d.jsonl'] },
  createdAt: '2026-11-27T09:00:00.000Z',
  startedAt: null,
  endedAt: null,
  exitCode: null,
  latest: null,
  artifacts: {},
  error: null,
  resumable: false,
  ...over,
});
