// Page object over VS Code's workbench in Chromium: the steps a user takes, by name.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, shortTempDir } from './chromiumLaunch.js';
import { assertIntendedVsCode, isolatedEnv, type CodeServer, type E2eTools } from './codeServer.js';

export class Workbench {
  private constructor(
    readonly page: Page,
    private readonly context: BrowserContext,
    private readonly shotsDir: string,
    private readonly tmp: string,
  ) {}

  static async open(
    chromiumPath: string,
    runDir: string,
    url: string,
    workspace: string,
    shotsDir: string,
  ): Promise<Workbench> {
    const profile = join(runDir, 'chrome-profile');
    mkdirSync(profile, { recursive: true });
    mkdirSync(shotsDir, { recursive: true });
    const tmp = shortTempDir('aligner-e2e-'); // removed on close
    const env = { ...isolatedEnv(runDir), TMPDIR: tmp };
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1400, height: 900 },
      env: env as Record<string, string>,
      args: CHROMIUM_ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => console.log(`[pageerror] ${e.message.slice(0, 200)}`));
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    return new Workbench(page, context, shotsDir, tmp);
  }

  /** Opens the workbench of `cs` and checks, in its About dialog, that it runs the VS Code this run
   *  intends (`tools.vscode`), the one in its code-server's product.json. */
  static async openVsCode(tools: E2eTools, runDir: string, cs: CodeServer, shotsDir: string): Promise<Workbench> {
    const wb = await Workbench.open(tools.chromium, runDir, cs.url, cs.workspace, shotsDir);
    try {
      const shown = await wb.aboutVersion();
      if (shown !== cs.vscodeVersion)
        throw new Error(`the workbench reports VS Code ${shown}, its code-server's product.json ${cs.vscodeVersion}`);
      assertIntendedVsCode(tools, shown, 'the workbench');
    } catch (err) {
      await wb.close();
      throw err;
    }
    return wb;
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** The VS Code version this workbench runs, as its Help: About dialog reports it (code-server writes
   *  "Code: 1.100.3", VS Code "Version: 1.100.3"); the dialog is closed again. */
  async aboutVersion(): Promise<string> {
    await this.runCommand('Help: About');
    const dialog = this.page.locator('.monaco-dialog-box', { hasText: /(Code|Version): \d/ }).first();
    const detail = await dialog.locator('.dialog-message-detail').innerText({ timeout: 30_000 });
    await dialog.locator('.monaco-button', { hasText: 'OK' }).first().click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    const m = /^Code: (\S+)$/m.exec(detail) ?? /^Version: (\S+)$/m.exec(detail);
    if (!m) throw new Error(`no VS Code version in the About dialog: ${detail}`);
    return m[1]!;
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(this.shotsDir, `${name}.png`) });
  }

  async openFile(name: string, expectText: string): Promise<void> {
    const row = this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await row.waitFor({ timeout: 90_000 });
    await row.click();
    await this.page
      .locator('.editor-instance .view-lines', { hasText: expectText })
      .first()
      .waitFor({ timeout: 30_000 });
  }

  get lines(): Locator {
    return this.page.locator('.editor-instance .view-lines').first();
  }

  /** Selects from line `line` (1-based), column `col` (0-based) to the end of the document. */
  async selectToEnd(line: number, col: number): Promise<void> {
    await this.lines.click();
    const k = this.page.keyboard;
    await k.press('Control+Home');
    for (let i = 1; i < line; i++) await k.press('ArrowDown');
    await k.press('Home');
    for (let i = 0; i < col; i++) await k.press('ArrowRight');
    await k.press('Shift+Control+End');
  }

  /** Runs a command from the palette (F1). Retried: on a loaded machine the extension host can
   *  take a while to register contributed commands after the window opens. */
  async runCommand(title: string, attempts = 4): Promise<void> {
    for (let i = 1; ; i++) {
      await this.page.keyboard.press('F1');
      const input = this.page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill(`>${title}`);
      try {
        await this.page
          .locator('.quick-input-list .monaco-list-row', { hasText: title })
          .first()
          .waitFor({ timeout: 20_000 });
        await this.page.keyboard.press('Enter');
        return;
      } catch (err) {
        await this.page.keyboard.press('Escape');
        if (i >= attempts) throw err;
      }
    }
  }

  codeLens(text: string): Locator {
    return this.page.locator('.codelens-decoration a', { hasText: text });
  }

  /** The CodeLens right after `anchorText`'s on the same line (a hunk's Reject follows its Accept). */
  codeLensAfter(anchorText: string): Locator {
    return this.codeLens(anchorText).first().locator('xpath=following-sibling::a[1]');
  }

  async save(): Promise<void> {
    await this.lines.click();
    await this.page.keyboard.press('Control+s');
  }

  notification(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-list-item', { hasText: text });
  }

  statusItem(text: string | RegExp): Locator {
    return this.page.locator('.statusbar-item', { hasText: text });
  }

  dirtyTab(): Locator {
    return this.page.locator('.tabs-container .tab.dirty');
  }

  /** In the open quick pick, once a row shows `ready` (the list to act on): types `filter`, waits
   *  for a row matching it, and picks it. */
  async pick(filter: string, ready: string | RegExp = filter, timeoutMs = 30_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    await rows.filter({ hasText: ready }).first().waitFor({ timeout: timeoutMs });
    await input.fill(filter);
    await rows.filter({ hasText: filter }).first().waitFor({ timeout: timeoutMs });
    await this.page.keyboard.press('Enter');
  }

  /** In the open input box whose prompt shows `prompt`: replaces the value and accepts it. */
  async answer(prompt: string | RegExp, value: string, timeoutMs = 30_000): Promise<void> {
    await this.page
      .locator('.quick-input-widget .quick-input-message', { hasText: prompt })
      .first()
      .waitFor({ timeout: timeoutMs });
    await this.page.locator('.quick-input-widget input').fill(value);
    await this.page.keyboard.press('Enter');
  }

  /** Clicks a button of the modal dialog (e.g. a confirmation's "Start Training"). */
  async dialogButton(text: string, timeoutMs = 30_000): Promise<void> {
    const button = this.page.locator('.monaco-dialog-box .monaco-button', { hasText: text }).first();
    await button.waitFor({ timeout: timeoutMs });
    await button.click();
  }

  /** The frame of a webview whose content has `selector` (webviews are iframes in iframes). */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    for (const end = Date.now() + timeoutMs; ; await this.page.waitForTimeout(250)) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        if (
          await frame
            .locator(selector)
            .count()
            .catch(() => 0)
        )
          return frame;
      }
      if (Date.now() > end) throw new Error(`no webview shows ${selector}`);
    }
  }
}

/**
 * Runs `body` in `wb`; on a failure keeps a screenshot named `failureShot` (and what `onFailure` adds) and
 * says where code-server's and the extension's logs are. Closes the workbench and stops code-server either way.
 */
export async function runInWorkbench(
  wb: Workbench,
  cs: CodeServer,
  failureShot: string,
  body: () => Promise<void>,
  onFailure?: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (err) {
    await wb.screenshot(failureShot).catch(() => undefined);
    await onFailure?.().catch(() => undefined);
    console.log(`code-server log: ${cs.logFile}; extension logs under ${cs.userDataDir}/logs`);
    throw err;
  } finally {
    await wb.close();
    await cs.stop();
  }
}
