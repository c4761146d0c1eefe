// The language server: lifecycle (initialize, settings, folders, shutdown), the analysis host and what it sends
// back, and the wiring of the LSP features to the connection. The parts live in their own modules: the documents
// (documents.ts), the model file and the configuration it makes (model-file.ts), when to analyse and which result
// is current (scheduler.ts, pure), what is published to the client (publisher.ts), the crash policy
// (crash-policy.ts), and the features themselves (diagnostics, hover, lenses, inlays, calls, actions, commands).
import { readFileSync } from 'node:fs';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocumentSyncKind,
  type CancellationToken,
  type ClientCapabilities,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextChange } from '../analysis';
import { usableGlobs } from '../files/collect';
import { codeActions } from './actions';
import { incomingCalls, outgoingCalls, prepareCallHierarchy } from './calls';
import { chainsResult, explainResult, findingsResult, raceTimelineResult } from './commands';
import { CrashPolicy } from './crash-policy';
import { Documents, type OpenDoc } from './documents';
import { indexWants, type FromEngine } from './engine';
import { countRaces, type Env } from './format';
import { references } from './references';
import { hover } from './hover';
import { inlayHints } from './inlays';
import { codeLenses } from './lenses';
import { isLimited, limitSettings, LIMITED_NOTE } from './limited';
import { ModelFile } from './model-file';
import { makeRoots, Paths, type Root } from './paths';
import {
  ChainsRequest,
  Commands,
  ExplainRequest,
  FindingsRequest,
  RaceTimelineRequest,
  type ChainsParams,
  type ExplainParams,
  type InitializationOptions,
  type RaceTimelineParams,
} from './protocol';
import { Publisher } from './publisher';
import { Scheduler, type PendingEdits } from './scheduler';
import { readSettings, type Settings } from './settings';
import type { Snapshot } from './snapshot';
import { SnapshotWaiters } from './snapshot-wait';
import { openConnection } from './transport';
import { createHost, type AnalysisHost } from './worker';

/** Quiet time after the last edit of the model file before it is reloaded (a reload restarts the analysis). */
const MODEL_FILE_QUIET_MS = 300;

/** Serves on `connection`, or on the one the command line names (--stdio, --node-ipc), checked for protocol
 *  conformance (transport.ts). */
export function startServer(connection: Connection = openConnection()): void {
  new LockpathServer(connection).listen();
}

export class LockpathServer {
  private caps: ClientCapabilities = {};
  private init: InitializationOptions = {};
  private roots: Root[] = [];
  private paths = new Paths([]);
  private settings: Settings = readSettings(undefined);
  private readonly docs = new Documents();
  private readonly out: Publisher;
  private readonly model: ModelFile;
  private readonly scheduler: Scheduler;
  private readonly waiters = new SnapshotWaiters();
  private readonly crashes = new CrashPolicy();
  private host?: AnalysisHost;
  private modelTimer?: NodeJS.Timeout;

  constructor(private readonly connection: Connection) {
    this.out = new Publisher(connection, this.docs, {
      caps: () => this.caps,
      limited: () => isLimited(this.init),
      uriOf: this.uriOf,
    });
    this.model = new ModelFile(this.docs, {
      settings: () => this.settings,
      roots: () => this.roots,
      paths: () => this.paths,
      limited: () => isLimited(this.init),
      send: (p) => this.out.send(p),
      log: (m) => this.out.log(m),
    });
    this.scheduler = new Scheduler({
      now: () => Date.now(),
      defer: (f) => {
        const t = setImmediate(f);
        return () => clearImmediate(t);
      },
      openTexts: () => this.docs.texts(),
      versions: () => this.docs.versions(),
      send: (key, edits) => this.sendEdits(key, edits),
      analyze: (seq) => this.host?.post({ t: 'analyze', seq }),
      analyzing: () =>
        this.out.status({
          state: 'analyzing',
          files: this.scheduler.latest?.files.length ?? 0,
          findings: this.findingsShown(),
        }),
      publish: (part) => this.out.diagnostics(part, this.settings.showParseProblems),
      settled: (s, ms) => this.settled(s, ms),
      abandon: (why) => {
        this.out.log(why);
        this.startHost({ progress: false });
      },
    });
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((p) => this.initialize(p));
    c.onInitialized(
      () =>
        void this.initialized().catch((e: unknown) =>
          this.out.error(`lockpath: initialization failed: ${(e as Error).stack ?? e}`),
        ),
    );
    c.onShutdown(() => this.dispose());
    c.onExit(() => this.dispose());
    c.onDidOpenTextDocument((p) =>
      this.guard('didOpen', () =>
        this.didOpen(p.textDocument.uri, p.textDocument.languageId, p.textDocument.version, p.textDocument.text),
      ),
    );
    c.onDidChangeTextDocument((p) =>
      this.guard('didChange', () => this.didChange(p.textDocument.uri, p.textDocument.version, p.contentChanges)),
    );
    c.onDidCloseTextDocument((p) => this.guard('didClose', () => this.didClose(p.textDocument.uri)));
    c.onDidChangeConfiguration(
      (p) =>
        void this.configurationChanged(p.settings).catch((e: unknown) =>
          this.out.error(`lockpath: settings failed: ${(e as Error).stack ?? e}`),
        ),
    );
    c.onDidChangeWatchedFiles((p) => this.guard('watchedFiles', () => this.watchedFiles(p.changes)));

    c.onHover(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      // A hover must come quickly: after a short wait it answers from the last analysis, by name.
      const s = await this.snapshotFor(token, this.scheduler.latest ? 300 : 60_000);
      if (!d || !s || d.model) return null;
      return this.attempt(
        'hover',
        () => hover(this.env(s), d.key, d.doc.getText(), p.position, this.docs.fresh(s, d)),
        null,
      );
    });
    c.onCodeLens(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, this.scheduler.latest ? 1500 : 60_000);
      if (!d || !s || d.model) return [];
      return this.attempt('codeLens', () => codeLenses(this.env(s), d.key, d.doc.getText(), this.docs.fresh(s, d)), []);
    });
    c.languages.inlayHint.on(async (p, token) => {
      if (!this.settings.inlayHints.enabled) return [];
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, this.scheduler.latest ? 1500 : 60_000);
      if (!d || !s || d.model) return [];
      return this.attempt(
        'inlayHint',
        () => inlayHints(this.env(s), d.key, d.doc.getText(), p.range, this.docs.fresh(s, d)),
        [],
      );
    });
    c.onCodeAction(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      if (!d || d.model) return [];
      // Edits must apply to the text they were computed from: only from an analysis of the current texts.
      const s = await this.snapshotFor(token, 15_000);
      if (!s || !this.scheduler.isCurrent(s)) return [];
      return this.attempt(
        'codeAction',
        () =>
          codeActions(this.env(s), d.key, p.range, p.context, {
            documentChanges: !!this.caps.workspace?.workspaceEdit?.documentChanges,
            annotations: !!this.caps.workspace?.workspaceEdit?.changeAnnotationSupport,
            versionOf: (key) => this.docs.byKey(key)?.doc.version ?? null,
          }),
        [],
      );
    });
    c.languages.callHierarchy.onPrepare(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, 1500);
      if (!d || !s || d.model) return null;
      return this.attempt(
        'callHierarchy',
        () => prepareCallHierarchy(this.env(s), d.key, d.doc.getText(), p.position, this.docs.fresh(s, d)),
        null,
      );
    });
    c.languages.callHierarchy.onIncomingCalls(async (p, token) => {
      const s = await this.snapshotFor(token, 1500);
      return s ? this.attempt('incomingCalls', () => incomingCalls(this.env(s), p.item), []) : [];
    });
    c.languages.callHierarchy.onOutgoingCalls(async (p, token) => {
      const s = await this.snapshotFor(token, 1500);
      return s ? this.attempt('outgoingCalls', () => outgoingCalls(this.env(s), p.item), []) : [];
    });

    c.onReferences(async (p, token) => {
      const d = this.docs.get(p.textDocument.uri);
      const s = await this.snapshotFor(token, 1500);
      if (!d || !s || d.model) return null;
      return this.attempt(
        'references',
        () => references(this.env(s), d.key, d.doc.getText(), p.position, p.context.includeDeclaration),
        null,
      );
    });
    c.onRequest(FindingsRequest, async (_p: unknown, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s ? findingsResult(this.env(s)) : { summary: 'no analysis yet', findings: [] };
    });
    c.onRequest(ChainsRequest, async (p: ChainsParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s
        ? chainsResult(this.env(s), p?.name)
        : { name: p?.name, chains: [], markdown: 'lockpath: no analysis yet' };
    });
    c.onRequest(ExplainRequest, async (p: ExplainParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s
        ? explainResult(this.env(s), p.name)
        : { name: p.name, found: false, markdown: 'lockpath: no analysis yet' };
    });
    c.onRequest(RaceTimelineRequest, async (p: RaceTimelineParams, token: CancellationToken) => {
      const s = await this.snapshotFor(token, 5000);
      return s
        ? raceTimelineResult(this.env(s), p.id)
        : { id: p.id, found: false, title: 'lockpath: no analysis yet', text: '', markdown: '', steps: [] };
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
        referencesProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        callHierarchyProvider: true,
        inlayHintProvider: { resolveProvider: false },
        ...(this.init.clientCommands
          ? {}
          : {
              executeCommandProvider: { commands: [Commands.showChains, Commands.explain, Commands.showRaceTimeline] },
            }),
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'lockpath' },
    };
  }

  private async initialized(): Promise<void> {
    if (this.caps.workspace?.didChangeConfiguration?.dynamicRegistration) {
      void this.connection.client
        .register(DidChangeConfigurationNotification.type, { section: 'lockpath' })
        .catch(() => undefined);
    }
    if (this.caps.workspace?.didChangeWatchedFiles?.dynamicRegistration) {
      void this.connection.client
        .register(DidChangeWatchedFilesNotification.type, {
          watchers: [{ globPattern: '**/*.{c,h}' }, { globPattern: `**/${this.settings.modelFile.split('/').pop()}` }],
        })
        .catch(() => undefined);
    }
    if (this.caps.workspace?.workspaceFolders) {
      this.connection.workspace.onDidChangeWorkspaceFolders((e) =>
        this.guard('workspaceFolders', () => {
          const keep = this.roots
            .filter((r) => !e.removed.some((x) => x.uri === r.uri))
            .map((r) => ({ uri: r.uri, name: r.name }));
          this.setRoots(makeRoots([...keep, ...e.added]));
          this.loadModel(false);
          this.scheduler.configChanged();
          this.startHost({ progress: true });
        }),
      );
    }
    if (isLimited(this.init)) this.out.log(LIMITED_NOTE);
    await this.pullSettings();
    this.loadModel(false);
    this.startHost({ progress: true });
  }

  private dispose(): void {
    clearTimeout(this.modelTimer);
    this.scheduler.stop();
    this.host?.dispose();
    this.host = undefined;
    this.waiters.resolveAll(this.scheduler.latest);
  }

  private setRoots(roots: Root[]): void {
    this.roots = roots;
    this.paths = new Paths(roots);
    this.docs.rekey((uri) => this.paths.keyOfUri(uri));
  }

  // ---- settings and the model file ---------------------------------------------------------------------------

  private async pullSettings(): Promise<void> {
    if (!this.caps.workspace?.configuration) return;
    try {
      this.settings = this.readSettings(await this.connection.workspace.getConfiguration('lockpath'));
    } catch (e) {
      this.out.log(`lockpath: could not read settings: ${(e as Error).message}`);
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
    const published = this.scheduler.published;
    if (after.showParseProblems !== before.showParseProblems && published)
      this.out.diagnostics(published, after.showParseProblems);
    if (after.inlayHints.enabled !== before.inlayHints.enabled) this.out.refresh('inlayHint');
    if (after.modelFile !== before.modelFile) this.model.clearDiagnostics();
    this.loadModel(true);
  }

  /** Reads the model file and, if what it asks for changed, restarts the analysis (when `restart`). */
  private loadModel(restart: boolean): void {
    if (!this.model.load()) return;
    this.scheduler.configChanged();
    if (restart) this.startHost({ progress: true });
  }

  // ---- the analysis host -------------------------------------------------------------------------------------

  /** A fresh host: index the folders, replay the open documents. Used at start, on configuration changes, to
   *  cancel a stale analysis, and after a crash. */
  private startHost(opts: { progress: boolean }): void {
    this.host?.dispose();
    let epoch = -1;
    const host = createHost({
      message: (m) => {
        if (epoch === this.scheduler.epoch) this.guard(`engine ${m.t}`, () => this.fromEngine(m));
      },
      died: (reason) => {
        if (epoch === this.scheduler.epoch) this.hostDied(reason);
      },
    });
    this.host = host;
    epoch = this.scheduler.hostStarted(host);
    host.post({ t: 'init', roots: this.roots, config: this.model.config ?? this.model.defaultConfig() });
    for (const [, d] of this.docs.entries())
      if (!d.model) host.post({ t: 'open', key: d.key, text: d.doc.getText(), version: d.doc.version });
    if (opts.progress) this.out.beginProgress();
    this.out.status({ state: 'indexing', files: 0, findings: this.findingsShown() });
    this.scheduler.startIfIdle();
  }

  private hostDied(reason: string): void {
    this.out.log(`lockpath: ${reason}`);
    const verdict = this.crashes.crashed(Date.now());
    if (verdict === 'restart') {
      this.startHost({ progress: false });
      return;
    }
    this.host = undefined;
    this.scheduler.stop();
    this.out.status({ state: 'error', files: 0, findings: 0, message: reason });
    if (verdict === 'give-up')
      void this.connection.window.showErrorMessage(
        `lockpath: the analysis stopped ${this.crashes.recent} times in a few minutes and will not be restarted (${reason}). Restart the server to try again.`,
      );
  }

  private sendEdits(key: string, edits: PendingEdits): void {
    const d = this.docs.byKey(key);
    if (!d) return;
    if (edits.full) this.host?.post({ t: 'open', key, text: d.doc.getText(), version: d.doc.version });
    else if (edits.changes.length)
      this.host?.post({ t: 'change', key, changes: edits.changes, version: d.doc.version, hash: this.docs.hashOf(d) });
  }

  private fromEngine(m: FromEngine): void {
    switch (m.t) {
      case 'progress':
        this.out.reportProgress(m.total ? Math.round((100 * m.done) / m.total) : 0, `${m.done}/${m.total} files`);
        this.out.status({ state: 'indexing', files: m.done, total: m.total, findings: this.findingsShown() });
        return;
      case 'indexed':
        for (const s of m.skipped) this.out.log(`lockpath: ${s.file}: skipped: ${s.reason}`);
        this.out.reportProgress(100, `${m.files} files indexed; analysing`);
        this.out.status({ state: 'analyzing', files: m.files, findings: this.findingsShown() });
        this.scheduler.indexed(m.ms);
        return;
      case 'desync': {
        // Analyses already asked for will carry the drifted text's hash, so they cannot pass for current.
        this.out.log(`lockpath: ${m.key}: the analysis text drifted from the editor's; resending it`);
        const d = this.docs.byKey(m.key);
        this.scheduler.forget(m.key);
        if (d) this.host?.post({ t: 'open', key: d.key, text: d.doc.getText(), version: d.doc.version });
        this.scheduler.schedule();
        return;
      }
      case 'log':
        if (m.level === 'error') this.out.error(m.message);
        else this.out.log(m.message);
        return;
      case 'diagnostics': {
        const published = this.scheduler.diagnosticsArrived(m.part, m.ms);
        const { files, chains } = m.part.stats;
        this.out.log(
          `lockpath: analysis #${m.part.seq}: ${Math.round(m.ms)} ms, ${files} files, ${chains} chains, ${m.part.findings.length} findings${published ? '' : ' (the text changed meanwhile: not published)'}`,
        );
        return;
      }
      case 'snapshot':
        for (const n of m.snapshot.notes) this.out.log(`lockpath: ${n}`);
        this.scheduler.snapshotArrived(m.snapshot, m.ms);
        return;
      case 'superseded':
        // Its diagnostics came before; the snapshot of the analysis asked for since will follow.
        return;
    }
  }

  /** A snapshot of the current texts is in: the requests waiting for one answer, the client refreshes. */
  private settled(s: Snapshot, ms: number): void {
    this.out.endProgress();
    this.out.status({
      state: 'idle',
      files: s.files.length,
      findings: s.findings.length,
      summary: countRaces(s.findings),
      chains: s.chains.length,
      ms: Math.round(ms),
    });
    this.waiters.resolveAll(s);
    this.out.refresh('codeLens');
    this.out.refresh('inlayHint');
    this.out.logProblems(s);
  }

  // ---- documents ---------------------------------------------------------------------------------------------

  private didOpen(uri: string, languageId: string, version: number, text: string): void {
    const key = this.paths.keyOfUri(uri);
    if (this.model.isModelUri(uri)) {
      this.docs.open(uri, languageId, version, text, key, true);
      this.loadModel(true);
      return;
    }
    if (languageId !== 'c' && !/\.[ch]$/.test(uri)) return;
    this.docs.open(uri, languageId, version, text, key, false);
    this.host?.post({ t: 'open', key, text, version });
    this.scheduler.opened(key);
  }

  private didChange(uri: string, version: number, changes: readonly TextDocumentContentChangeEvent[]): void {
    const d = this.docs.get(uri);
    if (!d) return;
    const ranges: TextChange[] = [];
    let full = false;
    for (const c of changes) {
      if ('range' in c && c.range) ranges.push({ start: c.range.start, end: c.range.end, text: c.text });
      else full = true;
    }
    d.doc = TextDocument.update(d.doc, [...changes], version);
    if (d.model) {
      clearTimeout(this.modelTimer);
      this.modelTimer = setTimeout(() => this.guard('model file', () => this.loadModel(true)), MODEL_FILE_QUIET_MS);
      return;
    }
    this.scheduler.edited(d.key, ranges, full);
  }

  private didClose(uri: string): void {
    const d = this.docs.close(uri);
    if (!d) return;
    if (d.model) {
      this.loadModel(true);
      return;
    }
    this.scheduler.forget(d.key);
    this.host?.post({ t: 'close', key: d.key });
    this.out.clear(uri);
    // Back to the disk text (or out of the analysis): unless that is the same text, the analysis must rerun.
    if (!this.sameOnDisk(d)) this.scheduler.diskChanged();
  }

  private sameOnDisk(d: OpenDoc): boolean {
    const config = this.model.config;
    const wanted = config && indexWants(this.paths, usableGlobs(config.include), usableGlobs(config.exclude), d.key);
    const path = this.paths.fsPathOfKey(d.key);
    if (!wanted || !path || !this.paths.mayRead(path)) return false;
    try {
      return readFileSync(path, 'utf8') === d.doc.getText();
    } catch {
      return false;
    }
  }

  private watchedFiles(changes: readonly { uri: string; type: number }[]): void {
    let any = false;
    for (const ch of changes) {
      if (this.model.isModelUri(ch.uri)) {
        if (!this.docs.has(ch.uri)) this.loadModel(true);
        continue;
      }
      if (this.docs.has(ch.uri) || !/\.[ch]$/.test(ch.uri)) continue;
      const key = this.paths.keyOfUri(ch.uri);
      if (!this.paths.rootOfKey(key)) continue;
      const change =
        ch.type === FileChangeType.Created ? 'created' : ch.type === FileChangeType.Deleted ? 'deleted' : 'changed';
      this.host?.post({ t: 'disk', key, change });
      any = true;
    }
    if (any) this.scheduler.diskChanged();
  }

  // ---- answering requests ------------------------------------------------------------------------------------

  /** The latest snapshot once it matches the texts, waiting at most `ms` (or until the request is cancelled);
   *  then whatever is there. */
  private snapshotFor(token: CancellationToken | undefined, ms: number): Promise<Snapshot | undefined> {
    const latest = this.scheduler.latest;
    if (latest && this.scheduler.isCurrent(latest)) return Promise.resolve(latest);
    return this.waiters.wait(token, ms, () => this.scheduler.latest);
  }

  private env(s: Snapshot): Env {
    return { snap: s, uriOf: this.uriOf };
  }

  private readonly uriOf = (key: string): string => this.docs.uriOfKey(key) ?? this.paths.uriOfKey(key);

  private findingsShown(): number {
    return this.scheduler.published?.findings.length ?? 0;
  }

  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.out.error(`lockpath: ${what} failed: ${(e as Error).stack ?? e}`);
    }
  }

  private attempt<T>(what: string, f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      this.out.error(`lockpath: ${what} failed: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }
}
