// Server lifecycle: lazily starts (bundled) or connects to (external) a server, reports its state,
// restarts with exponential backoff when it dies, stops on request. No vscode import: the
// extension injects how to launch and connect, which also makes this testable with fakes.
import type { AlignerConnection } from './serverClient.js';
import { backoffDelay, type Logger } from './serverProcess.js';

export type ServerState =
  | { kind: 'stopped' }
  | { kind: 'starting'; attempt: number; loading?: boolean }
  | {
      kind: 'ready';
      model: string | null;
      executionProvider: string;
      url: string;
      /** Why training/eval jobs are off on this server (e.g. its run registry is read-only), if they are. */
      jobsUnavailable?: string;
    }
  | { kind: 'error'; message: string; retryInMs: number | null };

/** A running (or reachable) server: where to connect, and how to stop it if we own it. */
export interface LaunchedServer {
  wsUrl: string;
  token: string;
  /** Called when the process exits by itself; undefined for an external server. */
  stop?: () => Promise<void>;
}

export interface ManagerDeps {
  log: Logger;
  /** Starts the bundled server or resolves the external one. `onDied` fires if it exits by itself. */
  launch(onDied: (message: string) => void): Promise<LaunchedServer>;
  connect(wsUrl: string, token: string): Promise<AlignerConnection>;
  /** After this many consecutive failures the manager stops retrying until asked again. */
  maxAttempts?: number;
  /** A server that stayed up this long resets the backoff. */
  stableMs?: number;
  /** How long a model may take to load, and how often health is polled meanwhile. */
  loadTimeoutMs?: number;
  pollMs?: number;
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout; now: () => number };
}

/** A failure that retrying cannot fix (e.g. the model folder is broken). */
export class NoRetryError extends Error {}

export class ServerManager {
  private stateValue: ServerState = { kind: 'stopped' };
  private readonly listeners: ((s: ServerState) => void)[] = [];
  private conn: AlignerConnection | undefined;
  private server: LaunchedServer | undefined;
  private starting: Promise<AlignerConnection> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private readyAt = 0;
  /** Bumped on every start/stop so callbacks from an old server generation are ignored. */
  private generation = 0;
  private readonly timers;

  constructor(private readonly deps: ManagerDeps) {
    this.timers = deps.timers ?? { setTimeout, clearTimeout, now: Date.now };
  }

  get state(): ServerState {
    return this.stateValue;
  }

  get connection(): AlignerConnection | undefined {
    return this.conn;
  }

  onState(listener: (s: ServerState) => void): void {
    this.listeners.push(listener);
  }

  private set(state: ServerState): void {
    this.stateValue = state;
    for (const l of this.listeners) {
      try {
        l(state);
      } catch (err) {
        // A listener that fails (VS Code shutting down) must not stop the lifecycle.
        this.deps.log.warn(`state listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** The live connection, starting the server first if needed (the lazy start on first use). */
  ensure(): Promise<AlignerConnection> {
    if (this.conn) return Promise.resolve(this.conn);
    if (this.starting) return this.starting;
    this.clearRetry();
    const gen = ++this.generation;
    this.set({ kind: 'starting', attempt: this.attempt });
    this.starting = this.startOnce(gen).finally(() => {
      if (gen === this.generation) this.starting = undefined;
    });
    return this.starting;
  }

  private async startOnce(gen: number): Promise<AlignerConnection> {
    let server: LaunchedServer | undefined;
    try {
      server = await this.deps.launch((message) => this.lost(gen, message));
      if (gen !== this.generation) throw new Error('the server was stopped while starting');
      this.server = server;
      const conn = await this.deps.connect(server.wsUrl, server.token);
      if (gen !== this.generation) {
        conn.dispose();
        throw new Error('the server was stopped while starting');
      }
      this.conn = conn;
      conn.onClose(() => this.lost(gen, 'the connection to the Aligner server closed'));
      conn.onLog((l) => this.deps.log[l.level](`[server] ${l.message}`));
      // The server listens while its model loads: wait until health says how that went.
      let health = await conn.health();
      const loadDeadline = this.timers.now() + (this.deps.loadTimeoutMs ?? 300_000);
      while (health.status === 'loading') {
        if (gen !== this.generation) throw new Error('the server was stopped while starting');
        if (this.timers.now() > loadDeadline) throw new Error('the model did not finish loading in time');
        this.set({ kind: 'starting', attempt: this.attempt, loading: true });
        await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 250));
        health = await conn.health();
      }
      // A model that fails to load fails the same way next time: say why, and do not retry.
      if (health.status === 'error') throw new NoRetryError(health.message ?? 'the server could not load the model');
      this.readyAt = this.timers.now();
      this.set({
        kind: 'ready',
        model: health?.model ?? null,
        executionProvider: conn.info.server.executionProvider,
        url: server.wsUrl,
        ...(health.jobs && !health.jobs.available
          ? { jobsUnavailable: health.jobs.message ?? 'jobs are disabled' }
          : {}),
      });
      return conn;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (gen === this.generation) {
        this.conn?.dispose();
        this.conn = undefined;
        await server?.stop?.().catch(() => undefined);
        this.server = undefined;
        this.failed(message, err instanceof NoRetryError);
      }
      throw err instanceof Error ? err : new Error(message);
    }
  }

  /** The server or its connection went away by itself. */
  private lost(gen: number, message: string): void {
    if (gen !== this.generation) return;
    this.generation++;
    this.conn?.dispose();
    this.conn = undefined;
    const server = this.server;
    this.server = undefined;
    void server?.stop?.().catch(() => undefined);
    this.starting = undefined;
    if (this.timers.now() - this.readyAt > (this.deps.stableMs ?? 60_000)) this.attempt = 0;
    this.failed(message);
  }

  private failed(message: string, noRetry = false): void {
    this.deps.log.error(message);
    const max = this.deps.maxAttempts ?? 8;
    if (noRetry) {
      this.set({ kind: 'error', message, retryInMs: null });
      return;
    }
    if (this.attempt + 1 >= max) {
      this.set({
        kind: 'error',
        message: `${message} (gave up after ${max} attempts; run "Aligner: Restart Server")`,
        retryInMs: null,
      });
      return;
    }
    const delay = backoffDelay(this.attempt++);
    this.set({ kind: 'error', message, retryInMs: delay });
    this.clearRetry();
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.ensure().catch(() => undefined); // failures already reported through the state
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  async stop(): Promise<void> {
    this.generation++;
    this.clearRetry();
    this.starting = undefined;
    this.conn?.dispose();
    this.conn = undefined;
    const server = this.server;
    this.server = undefined;
    await server?.stop?.();
    this.set({ kind: 'stopped' });
  }

  /** Stop, forget past failures, start again. */
  async restart(): Promise<AlignerConnection> {
    await this.stop();
    this.attempt = 0;
    return this.ensure();
  }
}
