// The dashboard: talks to the extension host through postMessage (typed in messages.ts), keeps the
// state in DashboardStore and redraws the part each message changed.
import type { HostMessage, WebviewMessage } from './messages.js';
import { Button, h, replace, Tabs } from './components/index.js';
import { DashboardStore } from './state.js';
import { CompareView } from './views/compare.js';
import { RunDetailView, type DetailActions } from './views/runDetail.js';
import { RunList } from './views/runList.js';

/** What VS Code keeps for the page while it is hidden or reloaded (vscode.getState/setState). */
interface Saved {
  selected: string | null;
  tab: 'runs' | 'compare';
  compare: [string, string];
}

export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: Saved): void;
}

/** Examples are fetched a page at a time. */
const EXAMPLES_PAGE = 10;

export class App {
  private readonly store = new DashboardStore();
  private saved: Saved;
  private readonly status = h('span', { class: 'connection muted' }, 'Connecting to the Aligner server…');
  private readonly notice = h('div', { class: 'notice', role: 'status' });
  private readonly list = h('div', { class: 'run-list' });
  private readonly detail = new RunDetailView();
  private readonly compare = new CompareView();
  private readonly examplesLimit = new Map<string, number>();
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly actions: DetailActions;

  constructor(
    private readonly api: VsCodeApi,
    private readonly root: HTMLElement,
  ) {
    const s = api.getState() as Partial<Saved> | undefined;
    this.saved = {
      selected: s?.selected ?? null,
      tab: s?.tab === 'compare' ? 'compare' : 'runs',
      compare: s?.compare ?? ['', ''],
    };
    const post = (type: 'cancel' | 'resume' | 'export' | 'useModel' | 'evaluate') => (jobId: string) =>
      this.post({ type, jobId });
    this.actions = {
      cancel: post('cancel'),
      resume: post('resume'),
      exportRun: post('export'),
      useModel: post('useModel'),
      evaluate: post('evaluate'),
      moreExamples: (jobId) =>
        this.requestRows(jobId, (this.examplesLimit.get(jobId) ?? EXAMPLES_PAGE) + EXAMPLES_PAGE),
    };
  }

  start(): void {
    this.detail.clear('Select a run to see its progress and results.');
    const runsTab = h('div', { class: 'runs-tab' }, this.list, this.detail.el);
    replace(
      this.root,
      h(
        'header',
        { class: 'top' },
        h('h1', {}, 'Aligner runs'),
        this.status,
        Button({ label: 'Refresh', action: 'refresh', onClick: () => this.post({ type: 'refresh' }) }),
      ),
      this.notice,
      Tabs(
        [
          { id: 'runs', label: 'Runs', content: runsTab },
          { id: 'compare', label: 'Compare', content: this.compare.el },
        ],
        this.saved.tab,
        (tab) => this.save({ tab: tab === 'compare' ? 'compare' : 'runs' }),
      ),
    );
    window.addEventListener('message', (e: MessageEvent<HostMessage>) => this.onMessage(e.data));
    this.post({ type: 'ready' });
  }

  private post(m: WebviewMessage): void {
    this.api.postMessage(m);
  }

  private save(patch: Partial<Saved>): void {
    this.saved = { ...this.saved, ...patch };
    this.api.setState(this.saved);
  }

  private onMessage(msg: HostMessage): void {
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    const change = this.store.apply(msg);
    const selected = this.saved.selected;
    switch (change.kind) {
      case 'runs': {
        this.status.textContent = this.store.connected
          ? ''
          : (this.store.error ?? 'Not connected to the Aligner server.');
        this.status.classList.toggle('error', !this.store.connected);
        const runs = this.store.runList;
        if (!selected || !this.store.runs.has(selected)) this.select(runs[0]?.id ?? null);
        else this.post({ type: 'getDetail', jobId: selected });
        this.renderList();
        this.renderCompare(true);
        break;
      }
      case 'job':
        this.renderList();
        if (change.jobId === selected) {
          if (change.becameFinal) this.refreshDetail(change.jobId);
          else this.renderDetail();
        }
        if (change.becameFinal && this.saved.compare.includes(change.jobId))
          this.post({ type: 'getDetail', jobId: change.jobId });
        break;
      case 'event': {
        this.renderList();
        const d = this.store.details.get(change.jobId);
        if (d && change.jobId === selected) this.detail.live(d);
        break;
      }
      case 'detail':
        if (change.jobId === selected) {
          this.renderDetail();
          if (this.store.details.get(change.jobId)?.job.kind === 'eval')
            this.requestRows(change.jobId, this.examplesLimit.get(change.jobId) ?? EXAMPLES_PAGE);
        }
        if (this.saved.compare.includes(change.jobId)) this.renderCompare(false);
        break;
      case 'rows':
        if (change.jobId === selected) this.renderDetail();
        break;
      case 'select':
        this.select(change.jobId);
        break;
      case 'notice':
        this.showNotice();
        break;
    }
  }

  private select(id: string | null): void {
    this.save({ selected: id });
    this.renderList();
    if (!id) {
      this.detail.clear('No runs yet. Start one with "Aligner: Train Aligner…" or "Aligner: Evaluate…".');
      return;
    }
    if (this.store.details.has(id)) this.renderDetail();
    else this.detail.clear('Loading…');
    this.post({ type: 'getDetail', jobId: id });
  }

  private refreshDetail(id: string): void {
    this.renderDetail();
    this.post({ type: 'getDetail', jobId: id });
  }

  private requestRows(jobId: string, limit: number): void {
    this.examplesLimit.set(jobId, limit);
    this.post({ type: 'getRows', jobId, limit });
  }

  private renderList(): void {
    replace(
      this.list,
      RunList(this.store.runList, this.saved.selected, (id) => this.select(id)),
    );
  }

  private renderDetail(): void {
    const id = this.saved.selected;
    const d = id ? this.store.details.get(id) : undefined;
    if (!d) return;
    const rows = this.store.rows.get(d.job.id);
    const limit = this.examplesLimit.get(d.job.id) ?? EXAMPLES_PAGE;
    this.detail.render(
      d,
      { rows: rows?.rows, error: rows?.error, more: (rows?.rows.length ?? 0) >= limit },
      this.actions,
      (jobId) => this.store.runs.get(jobId)?.name,
    );
  }

  /** `load`: ask for the details of the picked runs that are not loaded yet. */
  private renderCompare(load: boolean): void {
    const picks = this.saved.compare;
    if (load)
      for (const id of picks) if (id && !this.store.details.has(id)) this.post({ type: 'getDetail', jobId: id });
    this.compare.render(this.store.runList, picks, this.store.details, (which, id) => {
      const next: [string, string] = [...picks];
      next[which] = id;
      if (which === 0 && this.store.runs.get(next[1])?.kind !== this.store.runs.get(id)?.kind) next[1] = '';
      this.save({ compare: next });
      this.renderCompare(true);
    });
  }

  private showNotice(): void {
    const n = this.store.notice;
    if (!n) return;
    replace(this.notice, n.message);
    this.notice.className = `notice visible ${n.level}`;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice.className = 'notice'), 8000);
  }
}
