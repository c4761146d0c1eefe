// The language server: documents and versions, settings and the model file, the analysis host (a worker), the
// schedule (start at once when idle, coalesce edits made meanwhile, cancel stale work, publish only what matches
// the text), and the LSP features on top of the
// latest snapshot. Feature logic lives in its own modules (diagnostics, hover, lenses, inlays, calls, actions,
// commands); this file only wires them to the connection.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocumentSyncKind,
  type CancellationToken,
  type ClientCapabilities,
  type Connection,
  type Diagnostic,
  type InitializeParams,
  type InitializeResult,
  type TextDocumentContentChangeEvent,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { builtinModels, loadModelFile, type LoadedModel, type TextChange } from '../analysis';
import { applyModelFile } from '../analysis/model/loader';
import { globToRegExp } from '../files/collect';
import { codeActions } from './actions';
import { incomingCalls, outgoingCalls, prepareCallHierarchy } from './calls';
import { chainsResult, explainResult, raceTimelineResult } from './commands';
import { findingDiagnostics, problemDiagnostic, problemDiagnostics } from './diagnostics';
import { indexWants, textHash, type EngineConfig, type FromEngine } from './engine';
import type { Env } from './format';
import { hover } from './hover';
import { inlayHints } from './inlays';
import { codeLenses } from './lenses';
import { fsPathOfUri, makeRoots, Paths, type Root } from './paths';
import {
  ChainsRequest,
  Commands,
  ExplainRequest,
  RaceTimelineRequest,
  StatusNotification,
  type ChainsParams,
  type ExplainParams,
  type InitializationOptions,
  type RaceTimelineParams,
  type StatusParams,
} from './protocol';
import { isLimited, limitSettings, LIMITED_NOTE } from './limited';
import { readSettings, type Settings } from './settings';
import type { DiagnosticsPart, Snapshot } from './snapshot';
import { createHost, type AnalysisHost } from './worker';

/** Quiet time after the last edit of the model file before it is reloaded (a reload restarts the analysis). */
const MODEL_FILE_QUIET_MS = 300;
/** Worker crashes tolerated within CRASH_WINDOW_MS before giving up. */
const MAX_CRASHES = 4;
const CRASH_WINDOW_MS = 3 * 60_000;

interface OpenDoc {
  doc: TextDocument;
  key: string;
  /** The model file (.lockpath.json) rather than C. */
  model: boolean;
  hash?: { version: number; value: string };
}

interface Waiter {
  resolve(s: Snapshot | undefined): void;
}

export function startServer(connection: Connection): void {
  new LockpathServer(connection).listen();
}

export class LockpathServer {
  private caps: ClientCapabilities = {};
  private init: InitializationOptions = {};
  private roots: Root[] = [];
  private paths = new Paths([]);
  private settings: Settings = readSettings(undefined);
  private readonly docs = new Map<string, OpenDoc>();
  private readonly keyToUri = new Map<string, string>();

  private host?: AnalysisHost;
  /** Bumped whenever the host is replaced: messages and snapshots of older hosts are ignored. */
  private epoch = 0;
  private indexedEpoch = -1;
  private engineConfig?: EngineConfig;
  private modelState: { uri?: string; loaded?: LoadedModel; published: boolean } = { published: false };
  private crashes: number[] = [];
  private gaveUp = false;

  /** Changes not yet sent to the host (batched per key until the next analysis is asked for). */
  private readonly pending = new Map<string, { changes: TextChange[]; full: boolean }>();
  /** An analysis is due in this turn of the event loop (notifications read in the same turn join it). */
  private due?: NodeJS.Immediate;
  private seq = 0;
  /** cold: the host's first analysis (nothing cached in it yet), which takes far longer than the ones after. */
  private inFlight?: { seq: number; sent: number; cold: boolean; stale?: boolean };
  /** What each analysis request saw besides the open documents' texts (those are checked by hash). */
  private readonly requests = new Map<number, { diskGen: number; configGen: number }>();
  /** Bumped whenever a file's analysed text changes other than through an open document. */
  private diskGen = 0;
  /** Bumped whenever the model, the index globs or the folders change. */
  private configGen = 0;
  private latest?: Snapshot;
  private published?: DiagnosticsPart;
  /** Diagnostics published ahead of their snapshot: its seq and the document versions they were published for. */
  private publishedAhead?: { seq: number; versions: string };
  private readonly publishedUris = new Set<string>();
  private waiters: Waiter[] = [];
  private lastAnalysisMs?: number;
  private lastIndexMs?: number;

  private progress?: Promise<WorkDoneProgressServerReporter | undefined>;
  private lastStatus?: string;
  private lastLogged = '';

  constructor(private readonly connection: Connection) {}

  listen(): void {
    const c = this.connection;
    c.onInitialize((p) => this.initialize(p));
    c.onInitialized(() => void this.initialized());
    c.onShutdown(() => this.dispose());
    c.onExit(() => this.dispose());
    c.onDidOpenTextDocument((p) => this.guard('didOpen', () => this.didOpen(p.textDocument.uri, p.textDocument.languageId, p.textDocument.version, p.textDocument.text)));
    c.onDidChangeTextDocument((p) => this.guard('didChange', () => this.didChange(p.textDocument.uri, p.textDocument.version, p.contentChanges)));
    c.onDidCloseTextDocument((p) => this.guard('didClose', () => this.didClose(p.textDocument.uri)));
    c.onDidChangeConfiguration((p) => void this.configurationChanged(p.settings));
    c.onDidChangeWatchedFiles((p) => this.guard('watchedFiles', () => this.watchedFiles(p.changes)));

    c.onHover(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      // A hover must come quickly: after a short wait it answers from the last analysis, by name.
      const s = await this.snapshotFor(token, this.latest ? 300 : 60_000);
      if (!d || !s || d.model) return null;
      return this.attempt('hover', () => hover(this.env(s), d.key, d.doc.getText(), p.position, this.fresh(s, d)), null);
    });
    c.onCodeLens(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, this.latest ? 1500 : 60_000);
      if (!d || !s || d.model) return [];
      return this.attempt('codeLens', () => codeLenses(this.env(s), d.key, d.doc.getText(), this.fresh(s, d)), []);
    });
    c.languages.inlayHint.on(async (p, token) => {
      if (!this.settings.inlayHints.enabled) return [];
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, this.latest ? 1500 : 60_000);
      if (!d || !s || d.model) return [];
      return this.attempt('inlayHint', () => inlayHints(this.env(s), d.key, d.doc.getText(), p.range, this.fresh(s, d)), []);
    });
    c.onCodeAction(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      if (!d || d.model) return [];
      // Edits must apply to the text they were computed from: only from an analysis of the current texts.
      const s = await this.snapshotFor(token, 15_000);
      if (!s || !this.isCurrent(s)) return [];
      return this.attempt('codeAction', () =>
        codeActions(this.env(s), d.key, p.range, p.context, {
          documentChanges: !!this.caps.workspace?.workspaceEdit?.documentChanges,
          versionOf: (key) => this.docs.get(this.keyToUri.get(key) ?? '')?.doc.version ?? null,
        }), []);
    });
    c.languages.callHierarchy.onPrepare(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, 1500);
      if (!d || !s || d.model) return null;
      return this.attempt('callHierarchy', () => prepareCallHierarchy(this.env(s), d.key, d.doc.getText(), p.position, this.fresh(s, d)), null);
    });
    c.languages.callHierarchy.onIncomingCalls(async (p, token) => {
      const s = await this.snapshotFor(token, 1500);
      return s ? this.attempt('incomingCalls', () => incomingCalls(this.env(s), p.item), []) : [];
    });
    c.languages.callHierarchy.onOutgoingCalls(async (p, token) => {
      const s = await this.snapshotFor(token, 1500);
      return s ? this.attempt('outgoingCalls', () => outgoingCalls(this.env(s), p.item), []) : [];
    });

    c.onRequest(ChainsRequest, async (p: ChainsParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s ? chainsResult(this.env(s), p?.name) : { name: p?.name, chains: [], markdown: 'lockpath: no analysis yet' };
    });
    c.onRequest(ExplainRequest, async (p: ExplainParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s ? explainResult(this.env(s), p.name) : { name: p.name, found: false, markdown: 'lockpath: no analysis yet' };
    });
    c.onRequest(RaceTimelineRequest, async (p: RaceTimelineParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s ? raceTimelineResult(this.env(s), p.id) : { id: p.id, found: false, title: 'lockpath: no analysis yet', text: '', markdown: '', steps: [] };
    });
    c.onExecuteCommand(async (p, token) => {
      const s = await this.snapshotFor(token, 5000);
      if (!s) return null;
      const arg = (p.arguments?.[0] ?? undefined) as string | undefined;
      if (p.command === Commands.showChains) return chainsResult(this.env(s), arg);
      if (p.command === Commands.explain) return arg ? explainResult(this.env(s), arg) : null;
      if (p.command === Commands.showRaceTimeline) return arg ? raceTimelineResult(this.env(s), arg) : null;
      return null;
    });
    c.listen();
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  private initialize(p: InitializeParams): InitializeResult {
    this.caps = p.capabilities;
    this.init = (p.initializationOptions ?? {}) as InitializationOptions;
    const folders = p.workspaceFolders?.length ? p.workspaceFolders : p.rootUri ? [{ uri: p.rootUri, name: '' }] : [];
    this.setRoots(makeRoots(folders));
    this.settings = this.readSettings(this.init.settings);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        callHierarchyProvider: true,
        inlayHintProvider: { resolveProvider: false },
        ...(this.init.clientCommands ? {} : { executeCommandProvider: { commands: [Commands.showChains, Commands.explain, Commands.showRaceTimeline] } }),
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'lockpath' },
    };
  }

  private async initialized(): Promise<void> {
    if (this.caps.workspace?.didChangeConfiguration?.dynamicRegistration) {
      void this.connection.client.register(DidChangeConfigurationNotification.type, { section: 'lockpath' }).catch(() => undefined);
    }
    if (this.caps.workspace?.didChangeWatchedFiles?.dynamicRegistration) {
      void this.connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{c,h}' }, { globPattern: `**/${this.settings.modelFile.split('/').pop()}` }] })
        .catch(() => undefined);
    }
    if (this.caps.workspace?.workspaceFolders) {
      this.connection.workspace.onDidChangeWorkspaceFolders((e) => {
        const keep = this.roots.filter((r) => !e.removed.some((x) => x.uri === r.uri)).map((r) => ({ uri: r.uri, name: r.name }));
        this.setRoots(makeRoots([...keep, ...e.added]));
        this.loadModel(false);
        this.configGen++;
        this.startHost({ progress: true });
      });
    }
    if (isLimited(this.init)) this.log(LIMITED_NOTE);
    await this.pullSettings();
    this.loadModel(false);
    this.startHost({ progress: true });
  }

  private dispose(): void {
    if (this.due) clearImmediate(this.due);
    this.host?.dispose();
    this.host = undefined;
    for (const w of this.waiters) w.resolve(this.latest);
    this.waiters = [];
  }

  private setRoots(roots: Root[]): void {
    this.roots = roots;
    this.paths = new Paths(roots);
    // Keys of open documents follow the folders.
    this.keyToUri.clear();
    for (const [uri, d] of this.docs) {
      d.key = this.paths.keyOfUri(uri);
      if (!d.model) this.keyToUri.set(d.key, uri);
    }
  }

  // ---- settings and the model file ---------------------------------------------------------------------------

  private async pullSettings(): Promise<void> {
    if (!this.caps.workspace?.configuration) return;
    try {
      this.settings = this.readSettings(await this.connection.workspace.getConfiguration('lockpath'));
    } catch (e) {
      this.log(`lockpath: could not read settings: ${(e as Error).message}`);
    }
  }

  private readSettings(raw: unknown): Settings {
    return isLimited(this.init) ? limitSettings(readSettings(raw)) : readSettings(raw);
  }

  private async configurationChanged(pushed: unknown): Promise<void> {
    const before = this.settings;
    if (this.caps.workspace?.configuration) await this.pullSettings();
    else this.settings = this.readSettings((pushed as { lockpath?: unknown } | undefined)?.lockpath ?? pushed);
    const after = this.settings;
    if (!this.host) return;
    if (after.showParseProblems !== before.showParseProblems && this.published) this.publishAll(this.published);
    if (after.inlayHints.enabled !== before.inlayHints.enabled) this.refresh('inlayHint');
    if (after.modelFile !== before.modelFile) this.clearModelDiagnostics();
    this.loadModel(true);
  }

  private modelFileUri(): string | undefined {
    const root = this.roots[0];
    if (!root || isLimited(this.init)) return undefined; // limited mode: no model file at all
    const p = this.settings.modelFile.startsWith('/') ? this.settings.modelFile : join(root.fsPath, this.settings.modelFile);
    return this.paths.uriOfKey(this.paths.keyOfFsPath(p) ?? p);
  }

  /** Reads the model file (the editor's text when open, else the disk's) and restarts the analysis if what it
   *  asks for changed. A file with errors leaves the built-in model in force; its problems go on the file. */
  private loadModel(restart: boolean): void {
    const uri = this.modelFileUri();
    const open = uri ? [...this.docs.entries()].find(([u, d]) => d.model && this.isModelUri(u)) : undefined;
    const openDoc = open?.[1];
    let text: string | undefined = openDoc?.doc.getText();
    const fsPath = uri ? fsPathOfUri(uri) : undefined;
    if (text === undefined && fsPath && this.paths.mayRead(fsPath)) {
      try {
        text = readFileSync(fsPath, 'utf8');
      } catch {
        text = undefined;
      }
    }
    const loaded = text === undefined ? undefined : loadModelFile(this.settings.modelFile, text);
    // Publish under the URI the editor uses for the document when it is open.
    const target = open?.[0] ?? uri;
    if (this.modelState.uri && this.modelState.uri !== target) this.clearModelDiagnostics();
    this.modelState = { uri: target, loaded, published: this.modelState.published };
    if (target && (loaded?.problems.length || this.modelState.published)) {
      void this.connection.sendDiagnostics({ uri: target, version: openDoc?.doc.version, diagnostics: (loaded?.problems ?? []).map(problemDiagnostic) });
      this.modelState.published = !!loaded?.problems.length;
    }
    const config = this.configFrom(loaded);
    const changed = JSON.stringify(config) !== JSON.stringify(this.engineConfig);
    this.engineConfig = config;
    if (changed) this.configGen++;
    if (restart && changed) this.startHost({ progress: true });
  }

  private clearModelDiagnostics(): void {
    if (this.modelState.uri && this.modelState.published) void this.connection.sendDiagnostics({ uri: this.modelState.uri, diagnostics: [] });
    this.modelState.published = false;
  }

  private configFrom(loaded: LoadedModel | undefined): EngineConfig {
    const usable = loaded && !loaded.problems.some((p) => p.severity === 'error') ? loaded : undefined;
    let model = usable && !usable.auto ? usable.model : undefined;
    let overlay = usable?.auto && usable.file ? { file: usable.file, source: this.settings.modelFile } : undefined;
    const overrides = this.settings.assumptions;
    const known = new Set((model ?? builtinModels[0]).assumptions.map((a) => a.id));
    const unknown = Object.keys(overrides).filter((id) => !known.has(id));
    if (unknown.length) this.log(`lockpath: lockpath.assumptions names unknown assumptions: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
    const assumptions = Object.fromEntries(Object.entries(overrides).filter(([id]) => known.has(id)));
    if (Object.keys(assumptions).length) {
      if (model) model = applyModelFile(model, { assumptions }, model.source);
      else overlay = { file: { ...overlay?.file, assumptions: { ...overlay?.file.assumptions, ...assumptions } }, source: overlay?.source ?? 'settings (lockpath.assumptions)' };
    }
    const index = usable?.file?.index;
    return {
      include: [...this.settings.index.include, ...(index?.include ?? [])],
      exclude: [...this.settings.index.exclude, ...(index?.exclude ?? [])],
      maxFileBytes: this.settings.maxFileSize,
      ...(model ? { model } : {}),
      ...(overlay ? { overlay } : {}),
    };
  }

  // ---- the analysis host -------------------------------------------------------------------------------------

  /** A fresh host: index the folders, replay the open documents. Used at start, on configuration changes, to
   *  cancel a stale analysis, and after a crash. */
  private startHost(opts: { progress: boolean }): void {
    this.host?.dispose();
    const epoch = ++this.epoch;
    this.inFlight = undefined;
    this.pending.clear();
    this.host = createHost({
      message: (m) => {
        if (epoch === this.epoch) this.guard(`engine ${m.t}`, () => this.fromEngine(m));
      },
      died: (reason) => {
        if (epoch === this.epoch) this.hostDied(reason);
      },
    });
    this.host.post({ t: 'init', roots: this.roots, config: this.engineConfig ?? this.configFrom(undefined) });
    for (const d of this.docs.values()) if (!d.model) this.host.post({ t: 'open', key: d.key, text: d.doc.getText(), version: d.doc.version });
    if (opts.progress) this.beginProgress();
    this.status({ state: 'indexing', files: 0, findings: this.published?.findings.length ?? 0 });
    // With an analysis already due, that one asks.
    if (!this.due) this.analyzeNow();
  }

  private hostDied(reason: string): void {
    this.log(`lockpath: ${reason}`);
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.host = undefined;
      this.inFlight = undefined;
      this.status({ state: 'error', files: 0, findings: 0, message: reason });
      if (!this.gaveUp) void this.connection.window.showErrorMessage(`lockpath: the analysis stopped ${this.crashes.length} times in a few minutes and will not be restarted (${reason}). Restart the server to try again.`);
      this.gaveUp = true;
      return;
    }
    this.startHost({ progress: false });
  }

  private fromEngine(m: FromEngine): void {
    switch (m.t) {
      case 'progress':
        void this.progress?.then((r) => r?.report(m.total ? Math.round((100 * m.done) / m.total) : 0, `${m.done}/${m.total} files`));
        this.status({ state: 'indexing', files: m.done, total: m.total, findings: this.published?.findings.length ?? 0 });
        return;
      case 'indexed':
        this.indexedEpoch = this.epoch;
        this.lastIndexMs = m.ms;
        for (const s of m.skipped) this.log(`lockpath: ${s.file}: skipped: ${s.reason}`);
        void this.progress?.then((r) => r?.report(100, `${m.files} files indexed; analysing`));
        this.status({ state: 'analyzing', files: m.files, findings: this.published?.findings.length ?? 0 });
        if (this.inFlight) {
          this.inFlight.sent = Date.now();
          // Input arrived while indexing: the queued analysis is already stale.
          if (this.inFlight.stale) this.maybeCancel();
        }
        return;
      case 'desync': {
        // Analyses already asked for will carry the drifted text's hash, so they cannot pass for current.
        this.log(`lockpath: ${m.key}: the analysis text drifted from the editor's; resending it`);
        const d = this.docs.get(this.keyToUri.get(m.key) ?? '');
        this.pending.delete(m.key);
        if (d) this.host?.post({ t: 'open', key: d.key, text: d.doc.getText(), version: d.doc.version });
        this.schedule();
        return;
      }
      case 'log':
        if (m.level === 'error') this.connection.console.error(m.message);
        else this.connection.console.log(m.message);
        return;
      case 'diagnostics': {
        // The analysis is done: the next one may be asked for now (its snapshot is built only if none is).
        const current = this.isCurrent(m.part);
        this.analysisDone(m.part.seq, m.ms);
        if (current) {
          this.publishAll(m.part);
          this.publishedAhead = { seq: m.part.seq, versions: this.docVersions() };
        } else if (!this.due) this.analyzeNow();
        this.logAnalysis(m.part, m.ms, current);
        return;
      }
      case 'snapshot':
        this.snapshotArrived(m.snapshot, m.ms);
        return;
      case 'superseded':
        // Its diagnostics came before; the snapshot of the analysis asked for since will follow.
        return;
    }
  }

  // ---- documents ---------------------------------------------------------------------------------------------

  private isModelUri(uri: string): boolean {
    const model = this.modelFileUri();
    if (!model) return false;
    const a = fsPathOfUri(uri);
    return a !== undefined ? a === fsPathOfUri(model) : uri === model;
  }

  private didOpen(uri: string, languageId: string, version: number, text: string): void {
    const key = this.paths.keyOfUri(uri);
    if (this.isModelUri(uri)) {
      this.docs.set(uri, { doc: TextDocument.create(uri, languageId, version, text), key, model: true });
      this.loadModel(true);
      return;
    }
    if (languageId !== 'c' && !/\.[ch]$/.test(uri)) return;
    this.docs.set(uri, { doc: TextDocument.create(uri, languageId, version, text), key, model: false });
    this.keyToUri.set(key, uri);
    this.pending.delete(key);
    this.host?.post({ t: 'open', key, text, version });
    // The analysis already saw this text (the index read it from disk): its diagnostics hold as they are.
    if (this.published && this.isCurrent(this.published)) this.publishAll(this.published);
    else this.schedule();
  }

  private didChange(uri: string, version: number, changes: readonly TextDocumentContentChangeEvent[]): void {
    const d = this.docs.get(uri);
    if (!d) return;
    const p = this.pending.get(d.key) ?? { changes: [], full: false };
    for (const c of changes) {
      if ('range' in c && c.range) p.changes.push({ start: c.range.start, end: c.range.end, text: c.text });
      else p.full = true;
    }
    d.doc = TextDocument.update(d.doc, [...changes], version);
    if (d.model) {
      clearTimeout(this.modelTimer);
      this.modelTimer = setTimeout(() => this.loadModel(true), MODEL_FILE_QUIET_MS);
      return;
    }
    this.pending.set(d.key, p);
    this.schedule();
  }

  private modelTimer?: NodeJS.Timeout;

  private didClose(uri: string): void {
    const d = this.docs.get(uri);
    if (!d) return;
    this.docs.delete(uri);
    if (d.model) {
      this.loadModel(true);
      return;
    }
    this.keyToUri.delete(d.key);
    this.pending.delete(d.key);
    this.host?.post({ t: 'close', key: d.key });
    if (this.publishedUris.delete(uri)) void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    // Back to the disk text (or out of the analysis): unless that is the same text, the analysis must rerun.
    const config = this.engineConfig;
    const wanted = config && indexWants(this.paths, config.include.map(globToRegExp), config.exclude.map(globToRegExp), d.key);
    const path = this.paths.fsPathOfKey(d.key);
    let same = false;
    if (wanted && path && this.paths.mayRead(path)) {
      try {
        same = readFileSync(path, 'utf8') === d.doc.getText();
      } catch {
        same = false;
      }
    }
    if (!same) {
      this.diskGen++;
      this.schedule();
    }
  }

  private watchedFiles(changes: readonly { uri: string; type: number }[]): void {
    let any = false;
    for (const ch of changes) {
      if (this.isModelUri(ch.uri)) {
        if (!this.docs.has(ch.uri)) this.loadModel(true);
        continue;
      }
      if (this.docs.has(ch.uri) || !/\.[ch]$/.test(ch.uri)) continue;
      const key = this.paths.keyOfUri(ch.uri);
      if (!this.paths.rootOfKey(key)) continue;
      const change = ch.type === FileChangeType.Created ? 'created' : ch.type === FileChangeType.Deleted ? 'deleted' : 'changed';
      this.host?.post({ t: 'disk', key, change });
      any = true;
    }
    if (any) {
      this.diskGen++;
      this.schedule();
    }
  }

  // ---- scheduling --------------------------------------------------------------------------------------------

  /** Input changed. Idle: analyse now (after the notifications already read, so a burst is one analysis).
   *  Busy: the edits wait in `pending` and the running analysis's diagnostics start the next one, with all of them;
   *  a running analysis is abandoned if waiting for it costs more than starting over. No fixed quiet period: an
   *  incremental analysis is cheaper than the wait would be, and edits made during one are coalesced anyway. */
  private schedule(): void {
    if (this.inFlight) {
      this.maybeCancel();
      return;
    }
    this.due ??= setImmediate(() => {
      this.due = undefined;
      this.analyzeNow();
    });
  }

  private maybeCancel(): void {
    const f = this.inFlight;
    if (!f) return;
    f.stale = true;
    // While the host is still indexing the analysis has not started: decide when the index is done.
    if (!this.host?.cancellable || this.indexedEpoch !== this.epoch || this.coldMs === undefined) return;
    const elapsed = Date.now() - f.sent;
    // Analyses of the same tree take about the same time, except when an edit makes one blow up: the longest
    // recent one is the estimate, and one already running longer than that is an outlier. Dropping it pays only
    // once it has run longer than a restart costs (index, then a cold analysis with nothing cached): otherwise
    // steady typing during a cold analysis would restart the host over and over.
    const typical = f.cold || !this.recentMs.length ? this.coldMs : Math.max(...this.recentMs);
    const restart = (this.lastIndexMs ?? 1000) + this.coldMs + 150;
    if (elapsed > typical && elapsed > restart) {
      this.log(`lockpath: abandoning a stale analysis (running ${elapsed} ms, typically ${Math.round(typical)} ms; restarting costs about ${Math.round(restart)} ms)`);
      this.startHost({ progress: false });
    }
  }

  /** Durations of the last few analyses after the first of their host (ms). */
  private readonly recentMs: number[] = [];
  /** Duration of the latest host's first analysis (ms). */
  private coldMs?: number;
  /** The epoch of the host that finished the latest analysis. */
  private snapshotEpoch = -1;

  private analyzeNow(): void {
    if (!this.host) return;
    if (this.inFlight) return; // its diagnostics part starts the next one
    for (const [key, p] of this.pending) {
      const d = this.docs.get(this.keyToUri.get(key) ?? '');
      if (!d) continue;
      if (p.full) this.host.post({ t: 'open', key, text: d.doc.getText(), version: d.doc.version });
      else if (p.changes.length) this.host.post({ t: 'change', key, changes: p.changes, version: d.doc.version, hash: this.hashOf(d) });
    }
    this.pending.clear();
    if (this.latest && this.isCurrent(this.latest)) {
      // Nothing the analysis reads has changed (an edit undone, a file reopened): the last result stands.
      this.snapshotArrived(this.latest, this.lastAnalysisMs ?? 0, true);
      return;
    }
    const seq = ++this.seq;
    this.requests.set(seq, { diskGen: this.diskGen, configGen: this.configGen });
    this.host.post({ t: 'analyze', seq });
    this.inFlight = { seq, sent: Date.now(), cold: this.snapshotEpoch !== this.epoch };
    if (this.indexedEpoch === this.epoch) this.status({ state: 'analyzing', files: this.latest?.files.length ?? 0, findings: this.published?.findings.length ?? 0 });
  }

  /** The analysis asked for as `seq` has finished (its diagnostics part arrived; the snapshot may follow). */
  private analysisDone(seq: number, ms: number): void {
    if (this.inFlight?.seq !== seq) return;
    if (this.snapshotEpoch !== this.epoch) this.coldMs = ms;
    else {
      this.recentMs.push(ms);
      if (this.recentMs.length > 5) this.recentMs.shift();
    }
    this.snapshotEpoch = this.epoch;
    this.inFlight = undefined;
    this.lastAnalysisMs = ms;
  }

  private snapshotArrived(s: Snapshot, ms: number, reused = false): void {
    const current = this.isCurrent(s);
    if (!reused) {
      this.analysisDone(s.seq, ms);
      // A stale snapshot does not replace one that matches the texts again (an edit undone before it arrived).
      if (current || !this.latest || !this.isCurrent(this.latest)) this.latest = s;
      const keep = Math.min(this.latest.seq, this.published?.seq ?? this.latest.seq);
      for (const seq of this.requests.keys()) if (seq < keep) this.requests.delete(seq);
      for (const n of s.notes) this.log(`lockpath: ${n}`);
    }
    if (current) {
      // Already published from its diagnostics part, for these very versions: the same diagnostics again.
      const ahead = this.publishedAhead;
      if (reused || ahead?.seq !== s.seq || ahead.versions !== this.docVersions()) this.publishAll(s);
      this.publishedAhead = undefined;
      this.endProgress();
      this.status({ state: 'idle', files: s.files.length, findings: s.findings.length, chains: s.chains.length, ms: Math.round(ms) });
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.resolve(s);
      this.refresh('codeLens');
      this.refresh('inlayHint');
      this.logProblems(s);
    } else {
      // The text changed since: its diagnostics part already started the next analysis.
      this.publishedAhead = undefined;
    }
  }

  private logAnalysis(part: DiagnosticsPart, ms: number, published: boolean): void {
    const { files, chains } = part.stats;
    this.log(`lockpath: analysis #${part.seq}: ${Math.round(ms)} ms, ${files} files, ${chains} chains, ${part.findings.length} findings${published ? '' : ' (the text changed meanwhile: not published)'}`);
  }

  private docVersions(): string {
    return [...this.docs.values()].map((d) => `${d.key}@${d.doc.version}`).join();
  }

  private hashOf(d: OpenDoc): string {
    if (!d.hash || d.hash.version !== d.doc.version) d.hash = { version: d.doc.version, value: textHash(d.doc.getText()) };
    return d.hash.value;
  }

  /** Computed from exactly the texts the analysis would read now: the same configuration, the same disk, and
   *  for every open document the very text the editor has (by hash of what the analysis actually read). */
  private isCurrent(s: Pick<Snapshot, 'seq' | 'hashes'>): boolean {
    const req = this.requests.get(s.seq);
    if (!req || req.configGen !== this.configGen || req.diskGen !== this.diskGen) return false;
    for (const d of this.docs.values()) if (!d.model && s.hashes[d.key] !== this.hashOf(d)) return false;
    return true;
  }

  /** This file's text is the one the snapshot analysed: its positions hold. */
  private fresh(s: Snapshot, d: OpenDoc): boolean {
    return s.hashes[d.key] === this.hashOf(d);
  }

  /** The latest snapshot once it matches the texts, waiting at most `ms` (or until the request is cancelled);
   *  then whatever is there. */
  private snapshotFor(token: CancellationToken | undefined, ms: number): Promise<Snapshot | undefined> {
    if (this.latest && this.isCurrent(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (s: Snapshot | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        sub?.dispose();
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(s);
      };
      const waiter: Waiter = { resolve: finish };
      const t = setTimeout(() => finish(this.latest), ms);
      const sub = token?.onCancellationRequested(() => finish(this.latest));
      this.waiters.push(waiter);
    });
  }

  // ---- output ------------------------------------------------------------------------------------------------

  private env(s: Snapshot): Env {
    return { snap: s, uriOf: this.uriOf };
  }

  private readonly uriOf = (key: string): string => this.keyToUri.get(key) ?? this.paths.uriOfKey(key);

  private publishAll(s: DiagnosticsPart): void {
    this.published = s;
    const env = { snap: s, uriOf: this.uriOf };
    for (const [uri, d] of this.docs) {
      if (d.model) continue;
      const diagnostics: Diagnostic[] = [...findingDiagnostics(env, d.key), ...problemDiagnostics(s.problems, d.key, this.settings.showParseProblems)];
      if (!diagnostics.length && !this.publishedUris.has(uri)) continue;
      void this.connection.sendDiagnostics({ uri, version: d.doc.version, diagnostics });
      if (diagnostics.length) this.publishedUris.add(uri);
      else this.publishedUris.delete(uri);
    }
  }

  private logProblems(s: Snapshot): void {
    const lines = s.problems.filter((p) => p.severity !== 'info' && (!p.file || !this.keyToUri.has(p.file))).map((p) => `${p.file || '<workspace>'}:${p.at.line + 1}:${p.at.column + 1}: ${p.message}`);
    const text = lines.join('\n');
    if (text && text !== this.lastLogged) this.log(text);
    this.lastLogged = text;
  }

  private refresh(kind: 'codeLens' | 'inlayHint'): void {
    const ws = this.caps.workspace;
    if (kind === 'codeLens' && ws?.codeLens?.refreshSupport) void this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    if (kind === 'inlayHint' && ws?.inlayHint?.refreshSupport) void this.connection.sendRequest('workspace/inlayHint/refresh').catch(() => undefined);
  }

  private beginProgress(): void {
    if (!this.caps.window?.workDoneProgress || this.progress) return;
    this.progress = this.connection.window.createWorkDoneProgress().then(
      (r) => {
        r.begin('lockpath', 0, 'indexing the kernel tree', false);
        return r;
      },
      () => undefined,
    );
  }

  private endProgress(): void {
    const p = this.progress;
    this.progress = undefined;
    void p?.then((r) => r?.done());
  }

  private status(p: StatusParams): void {
    if (isLimited(this.init)) p = { ...p, limited: true };
    const key = JSON.stringify(p);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    void this.connection.sendNotification(StatusNotification, p);
  }

  private log(message: string): void {
    this.connection.console.log(message);
  }

  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.connection.console.error(`lockpath: ${what} failed: ${(e as Error).stack ?? e}`);
    }
  }

  private attempt<T>(what: string, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.connection.console.error(`lockpath: ${what} failed: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }
}
