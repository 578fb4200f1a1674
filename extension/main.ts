// Extension entry point: wires settings, the server manager, the review UI, the chat participant
// and the commands together. The server starts lazily, on the first correction.
import './zodSetup.js';
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEYS, validateSettings, type AlignerSettings } from './config.js';
import { registerChatParticipant } from './chatParticipant.js';
import { registerCommands, SECRET_TOKEN_KEY, type ReviewDecisions } from './commands.js';
import { PROPOSED_SCHEME, ProposedDocumentProvider } from './diffDocument.js';
import { appendReviewRows, REVIEWS_FILE } from './learning/reviewLog.js';
import { ReviewRecorder } from './learning/reviewRecorder.js';
import { ReviewCodeLensProvider } from './review/codeLens.js';
import { ReviewController } from './review/reviewController.js';
import { JobHub } from './runs/jobHub.js';
import { registerRunCommands } from './runs/runCommands.js';
import { RunsPanel } from './runs/runsPanel.js';
import { connect } from './serverClient.js';
import { ServerManager, type LaunchedServer } from './serverManager.js';
import { ServerProcess, buildLaunchSpec, describeExit } from './serverProcess.js';
import { bundledBackendLaunch, registerBackendSettings } from './backendKeys.js';
import { StatusBar } from './statusBar.js';

let manager: ServerManager | undefined;

const SENSITIVE: string[] = [KEYS.serverMode, KEYS.serverUrl, KEYS.nodePath, KEYS.modelPath];

export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel('Aligner', { log: true });
  // Exit events of the server can arrive after VS Code closed the channel (window shutting down).
  const guard = (f: (m: string) => void) => (m: string) => {
    try {
      f(m);
    } catch {
      // the channel is closed: nothing left to log to
    }
  };
  const log = {
    info: guard((m) => channel.info(m)),
    warn: guard((m) => channel.warn(m)),
    error: guard((m) => channel.error(m)),
    show: () => channel.show(),
  };
  const extensionRoot = context.extensionUri.fsPath;
  const bundledModelPath = join(extensionRoot, 'models', 'default');
  const version = String((context.extension.packageJSON as { version?: string }).version ?? '0.0.0');

  // Settings are validated on every change; each distinct problem is shown once.
  const shownProblems = new Set<string>();
  let settings: AlignerSettings;
  const loadSettings = () => {
    const cfg = vscode.workspace.getConfiguration('aligner');
    const r = validateSettings(
      (key) => {
        // An untrusted workspace must not choose which program runs or where text and the token go.
        if (!vscode.workspace.isTrusted && SENSITIVE.includes(key)) {
          const i = cfg.inspect(key);
          return i?.globalValue ?? i?.defaultValue;
        }
        return cfg.get(key);
      },
      // Set by the user in some scope, not a default: only these override the model's aligner.json.
      (key) => {
        const i = cfg.inspect(key);
        return [
          i?.globalValue,
          i?.workspaceValue,
          i?.workspaceFolderValue,
          i?.globalLanguageValue,
          i?.workspaceLanguageValue,
          i?.workspaceFolderLanguageValue,
        ].some((v) => v !== undefined);
      },
    );
    settings = r.settings;
    for (const p of r.problems) {
      log.warn(p);
      if (!shownProblems.has(p)) void vscode.window.showWarningMessage(`Aligner: ${p}`);
      shownProblems.add(p);
    }
  };
  loadSettings();

  const launch = async (onDied: (message: string) => void): Promise<LaunchedServer> => {
    const s = settings;
    if (s.serverMode === 'external') {
      return { wsUrl: s.serverUrl, token: (await context.secrets.get(SECRET_TOKEN_KEY)) ?? '' };
    }
    const modelPath = s.modelPath || bundledModelPath;
    if (!existsSync(modelPath)) {
      throw new Error(
        `there is no model folder at ${modelPath}. Set "aligner.model.path" or run "Aligner: Select Model".`,
      );
    }
    const storage = context.globalStorageUri.fsPath;
    await mkdir(storage, { recursive: true });
    const tokenFile = join(storage, 'server.token');
    const proc = new ServerProcess(log);
    const spec = buildLaunchSpec({
      nodePath: s.nodePath || process.execPath,
      extensionRoot,
      modelPath,
      port: s.serverPort,
      tokenFile,
      executionProvider: s.executionProvider,
      // What clients of this server may name as data or models: the open folders, our storage (reviews,
      // runs), the models. Opened later? Restart the server.
      allowRoots: [
        ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
        storage,
        modelPath,
        join(extensionRoot, 'models'),
      ],
      extra: await bundledBackendLaunch(context.secrets, (m) => log.warn(m)),
    });
    const ev = await proc.start(spec, 180_000, (info, expected) => {
      if (!expected) onDied(describeExit(info));
    });
    const token = (await readFile(ev.tokenFile || tokenFile, 'utf8')).trim();
    return { wsUrl: ev.wsUrl, token, stop: () => proc.stop() };
  };

  manager = new ServerManager({ log, launch, connect: (url, token) => connect(url, token, version) });
  const mgr = manager;

  const controller = new ReviewController({
    log,
    settings: () => settings,
    connection: () => mgr.ensure(),
    showError: (m) => void vscode.window.showErrorMessage(`Aligner: ${m}`),
    showInfo: (m) => void vscode.window.showInformationMessage(`Aligner: ${m}`),
  });

  // Jobs: one subscription per server connection, renewed when a restarted server is ready.
  const hub = new JobHub({ ensure: () => mgr.ensure(), log });
  mgr.onState((s) => {
    if (s.kind === 'ready') hub.serverReady();
  });

  // Learning from reviews (opt-in): finished reviews become rows of <globalStorage>/reviews.jsonl.
  const reviewsFile = join(context.globalStorageUri.fsPath, REVIEWS_FILE);
  const recorder = new ReviewRecorder();
  const reviews: ReviewDecisions = {
    before: (uri) => {
      if (settings.recordReviews) recorder.observe(uri.toString(), controller.session(uri));
    },
    after: (uri, ids, accepted) => {
      if (!settings.recordReviews) return;
      const rows = recorder.decided(uri.toString(), ids, accepted, controller.session(uri));
      if (rows.length === 0) return;
      appendReviewRows(reviewsFile, rows).then(
        () => log.info(`recorded ${rows.length} reviewed correction(s) in ${reviewsFile}`),
        (err: Error) => log.warn(`could not record the review: ${err.message}`),
      );
    },
  };
  controller.onDidChange((uri) => reviews.before(uri));

  const statusBar = new StatusBar();
  const refreshStatus = () => statusBar.update(mgr.state, controller.anyStreaming);
  mgr.onState(refreshStatus);
  controller.onDidChange(refreshStatus);

  context.subscriptions.push(
    channel,
    statusBar,
    controller,
    // '*': every document, saved or untitled (the provider returns nothing where no review is open).
    vscode.languages.registerCodeLensProvider('*', new ReviewCodeLensProvider(controller)),
    vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, new ProposedDocumentProvider(controller)),
    ...registerCommands({
      controller,
      manager: mgr,
      settings: () => settings,
      log,
      secrets: context.secrets,
      bundledModelPath,
      reviews,
    }),
    ...registerRunCommands({
      hub,
      extensionUri: context.extensionUri,
      log,
      currentModel: () => settings.modelPath || bundledModelPath,
      reviewsFile,
      recordReviewsEnabled: () => settings.recordReviews,
    }),
    { dispose: () => RunsPanel.open?.dispose() },
    ...registerBackendSettings(context.secrets, mgr, log),
    vscode.workspace.onDidGrantWorkspaceTrust(() => loadSettings()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('aligner')) return;
      const before = settings;
      loadSettings();
      const serverKeys = [
        KEYS.serverMode,
        KEYS.serverUrl,
        KEYS.serverPort,
        KEYS.nodePath,
        KEYS.modelPath,
        KEYS.executionProvider,
      ];
      const serverChanged = serverKeys.some((k) => e.affectsConfiguration(`aligner.${k}`));
      // A running server picks the new settings up by restarting; a stopped one on its next start.
      if (serverChanged && mgr.state.kind !== 'stopped' && JSON.stringify(before) !== JSON.stringify(settings)) {
        log.info('server settings changed: restarting the server');
        void mgr.restart().catch(() => undefined);
      }
    }),
  );

  // The chat API is absent in some VS Code builds (e.g. without any chat provider): degrade quietly.
  try {
    context.subscriptions.push(
      registerChatParticipant({
        log,
        settings: () => settings,
        connection: () => mgr.ensure(),
        iconPath: vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.png'),
      }),
    );
  } catch (err) {
    log.warn(`chat participant not available: ${err instanceof Error ? err.message : String(err)}`);
  }
  log.info(`Aligner ${version} activated (server starts on the first correction)`);
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
