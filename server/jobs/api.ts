// What the transport needs from the job manager.
import type { JobDetail, JobEvent, JobInfo, JobsStartParams } from '../protocol/index.js';

export interface JobService {
  list(): JobInfo[];
  get(id: string): JobDetail;
  start(params: JobsStartParams): JobInfo;
  cancel(id: string): JobInfo;
  resume(id: string): JobInfo;
  on(event: 'status', listener: (job: JobInfo) => void): unknown;
  on(event: 'event', listener: (event: JobEvent) => void): unknown;
  off(event: 'status', listener: (job: JobInfo) => void): unknown;
  off(event: 'event', listener: (event: JobEvent) => void): unknown;
}
