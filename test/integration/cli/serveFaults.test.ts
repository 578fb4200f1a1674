// `aligner serve` as users run it (the built CLI, a real child process) when things around it fail:
// its run registry cannot be written (it still serves corrections, with jobs disabled and health
// saying why), and its launcher is killed with SIGKILL (the relaunched server must not live on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { connectAligner } from '../../../server/transport/client.js';
import { ErrorCodes, HealthRequest, JobsListRequest } from '../../../server/protocol/index.js';
import { startServe, type ServeProcess } from '../../helpers/serveProcess.js';
import { jobInfo } from '../../helpers/jobInfo.js';
import { canMountTmpfs, mountTmpfs, unmount } from '../../helpers/tmpfs.js';

/** Corrections work, health says jobs are off and why, jobs/* answer JobsUnavailable with that reason. */
async function checkServesWithoutJobs(served: ServeProcess, reason: RegExp): Promise<void> {
  const client = await connectAligner(served.wsUrl, served.token);
  try {
    const health = await client.connection.sendRequest(HealthRequest);
    assert.equal(health.status, 'ready');
    assert.equal(health.jobs?.available, false);
    assert.match(health.jobs?.message ?? '', reason);
    await assert.rejects(
      client.connection.sendRequest(JobsListRequest),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.JobsUnavailable && reason.test(e.message),
    );
    const r = await client.correct({
      requestId: 'no-jobs',
      question: 'Q',
      answer: 'A',
      generation: { maxNewTokens: 4, temperature: 0 },
    });
    assert.ok(r.usage.completionTokens > 0);
  } finally {
    await client.close();
  }
}

test('a broken run registry (a file where its folder should be): serve starts, jobs off, health says why', async () => {
  const blocker = join(mkdtempSync(join(tmpdir(), 'aligner-broken-registry-')), 'runs');
  writeFileSync(blocker, 'not a folder');
  const served = await startServe(['--jobs-dir', blocker]);
  try {
    assert.match(served.output(), /jobs are disabled/);
    await checkServesWithoutJobs(served, /jobs are disabled: the run registry .* cannot be written/);
  } finally {
    assert.equal(await served.stop(), 0, served.output());
  }
});

test(
  'a read-only run registry (a real read-only tmpfs): serve starts, jobs off, health says EROFS',
  { skip: !canMountTmpfs && 'needs root to mount a tmpfs' },
  async () => {
    const mnt = mountTmpfs('size=1m')!;
    try {
      // A job that was running when its last server died: starting up repairs its record, a write.
      const id = 'eval-20260101-000000-abcdef';
      mkdirSync(join(mnt, 'runs', id), { recursive: true });
      writeFileSync(join(mnt, 'runs', id, 'job.json'), JSON.stringify(jobInfo({ id, status: 'running' })));
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const served = await startServe(['--jobs-dir', join(mnt, 'runs')]);
      try {
        assert.ok(served.ready, served.output());
        await checkServesWithoutJobs(served, /cannot be written \(EROFS/);
      } finally {
        assert.equal(await served.stop(), 0, served.output());
      }
    } finally {
      unmount(mnt);
    }
  },
);

/** Alive and not a zombie (a dead process whose new parent has not reaped it yet). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    if (existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

test(
  'kill -9 of the launcher: the relaunched server stops and frees its port',
  { skip: process.platform !== 'linux' && 'the huge-pages relaunch happens on Linux only' },
  async () => {
    // Without the tunable set, the launcher relaunches itself with it and waits for its child.
    const served = await startServe([], { GLIBC_TUNABLES: '', ALIGNER_HUGE_PAGES: '' });
    const launcher = served.child.pid!;
    const server = Number(served.listening.pid);
    const port = Number(served.listening.port);
    try {
      assert.notEqual(server, launcher, 'the launcher relaunched the server as its child');
      assert.ok(alive(server) && (await portOpen(port)));
      process.kill(launcher, 'SIGKILL');
      const deadline = Date.now() + 15_000;
      while (alive(server) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(alive(server), false, 'the server outlived its launcher');
      assert.equal(await portOpen(port), false, 'the port is free');
    } finally {
      if (alive(server)) process.kill(server, 'SIGKILL');
    }
  },
);
