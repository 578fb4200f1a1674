// One subscription to job notifications per server connection. Listeners (the dashboard, progress
// notifications) register here once and keep receiving jobs/status and jobs/event after the server
// restarts: the new connection is subscribed as soon as the server is ready again. No vscode import.
import type { JobEvent, JobInfo } from '../../server/protocol/index.js';
import type { AlignerConnection } from '../serverClient.js';
import type { Logger } from '../serverProcess.js';

export interface JobHubDeps {
  /** The live connection, starting the server if needed (ServerManager.ensure). */
  ensure(): Promise<AlignerConnection>;
  log: Logger;
}

type Listener<T> = (value: T) => void;

export class JobHub {
  private subscribed: AlignerConnection | undefined;
  private readonly subscribing = new WeakMap<AlignerConnection, Promise<void>>();
  /** Set once something used jobs: only then does a restarted server get subscribed eagerly. */
  private used = false;
  private readonly status = new Set<Listener<JobInfo>>();
  private readonly events = new Set<Listener<JobEvent>>();
  private readonly reconnected = new Set<Listener<AlignerConnection>>();
  private everSubscribed = false;
  private readonly disconnected = new Set<Listener<void>>();

  constructor(private readonly deps: JobHubDeps) {}

  /** The server connection, subscribed to job notifications (once per connection). */
  async connection(): Promise<AlignerConnection> {
    this.used = true;
    const conn = await this.deps.ensure();
    if (conn === this.subscribed) return conn;
    let pending = this.subscribing.get(conn);
    if (!pending) {
      pending = this.subscribe(conn);
      this.subscribing.set(conn, pending);
      pending.catch(() => this.subscribing.delete(conn)); // a failed subscribe is retried by the next call
    }
    await pending;
    return conn;
  }

  private async subscribe(conn: AlignerConnection): Promise<void> {
    conn.onJobStatus((job) => this.emit(this.status, job));
    conn.onJobEvent((event) => this.emit(this.events, event));
    conn.onClose(() => {
      if (this.subscribed !== conn) return;
      this.subscribed = undefined;
      this.emit(this.disconnected, undefined);
    });
    await conn.subscribeJobs();
    this.subscribed = conn;
    this.deps.log.info('subscribed to job notifications');
    // Listeners re-read what they show: jobs may have changed while no connection was subscribed
    // (a restarted server marks the jobs it lost as interrupted, and sends no notification for that).
    if (this.everSubscribed) this.emit(this.reconnected, conn);
    this.everSubscribed = true;
  }

  /** The server manager reports a ready server: subscribe its connection if jobs are in use. */
  serverReady(): void {
    if (!this.used) return;
    this.connection().catch((err: Error) => this.deps.log.warn(`job notifications: ${err.message}`));
  }

  onStatus(l: Listener<JobInfo>): () => void {
    return this.add(this.status, l);
  }
  onEvent(l: Listener<JobEvent>): () => void {
    return this.add(this.events, l);
  }
  /** A new connection was subscribed after an earlier one (the server restarted). */
  onReconnected(l: Listener<AlignerConnection>): () => void {
    return this.add(this.reconnected, l);
  }
  onDisconnected(l: Listener<void>): () => void {
    return this.add(this.disconnected, l);
  }

  private add<T>(set: Set<Listener<T>>, l: Listener<T>): () => void {
    set.add(l);
    return () => set.delete(l);
  }

  private emit<T>(set: Set<Listener<T>>, value: T): void {
    for (const l of [...set]) {
      try {
        l(value);
      } catch (err) {
        this.deps.log.warn(`job listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
