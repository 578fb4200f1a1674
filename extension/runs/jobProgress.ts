// A started job as a VS Code progress notification: step, loss and ETA while it runs, Cancel sends
// jobs/cancel. Resolves with the job's final state (re-read after a server restart, which sends no
// notification for the jobs it interrupted).
import * as vscode from 'vscode';
import type { JobInfo } from '../../server/protocol/index.js';
import { isFinal, jobProgress, withEvent } from '../../webview/data/progress.js';
import type { JobHub } from './jobHub.js';

const VERB = { train: 'Training', export: 'Exporting', eval: 'Evaluating' } as const;

export function trackJob(hub: JobHub, started: JobInfo): Promise<JobInfo> {
  return Promise.resolve(
    vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Aligner: ${VERB[started.kind]} ${started.name}`,
        cancellable: true,
      },
      (progress, token) =>
        new Promise<JobInfo>((resolve) => {
          let job = started;
          const events: Record<string, unknown>[] = [];
          let reported = 0;
          const report = () => {
            const p = jobProgress(job, events);
            const pct = p.fraction === null ? reported : Math.round(p.fraction * 100);
            progress.report({ message: p.text, increment: Math.max(0, pct - reported) });
            reported = Math.max(reported, pct);
          };
          const finish = (final: JobInfo) => {
            if (!isFinal(final.status)) return;
            offs.forEach((off) => off());
            resolve(final);
          };
          const refresh = (conn: { getJob(id: string): Promise<{ job: JobInfo }> }) =>
            conn.getJob(started.id).then(
              (d) => {
                job = d.job;
                report();
                finish(d.job);
              },
              () => undefined,
            );
          const offs = [
            hub.onEvent((e) => {
              if (e.jobId !== started.id) return;
              events.push(e.event);
              job = withEvent(job, e.event);
              report();
            }),
            hub.onStatus((j) => {
              if (j.id !== started.id) return;
              job = j;
              report();
              finish(j);
            }),
            hub.onReconnected((conn) => void refresh(conn)),
          ];
          token.onCancellationRequested(() => {
            hub
              .connection()
              .then((c) => c.cancelJob(started.id))
              .catch(
                (err: Error) =>
                  void vscode.window.showErrorMessage(`Aligner: could not cancel ${started.name}: ${err.message}`),
              );
          });
          report();
          // The job may have finished before this listener was attached.
          void hub.connection().then(refresh, () => undefined);
        }),
    ),
  );
}
