// The VS Code side of lockpath, kept thin: starts the bundled language server, shows its status, and turns the
// server's answers into editor UI (quick pick + peek for chains, virtual documents for explanations and race
// timelines). Nothing analytical happens here.
import * as vscode from 'vscode';
import { timelineWebviewHtml } from '../../server/src/report/webview';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  ChainsRequest,
  Commands,
  ExplainRequest,
  FindingsRequest,
  RaceTimelineRequest,
  StatusNotification,
  type ChainsResult,
  type ExplainResult,
  type FindingsResult,
  type InitializationOptions,
  type PlaceJson,
  type RaceTimelineResult,
  type StatusParams,
} from '../../server/src/lsp/protocol';
import { FindingsTree, OPEN_PLACE } from './findingsTree';
import { RestartPolicy } from './recovery';
import { assumptionOverrides, revealEdits, REVEAL_EDIT, withReveal } from './fixes';

const SCHEME = 'lockpath';
let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('lockpath');
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  status.name = 'lockpath';
  status.text = '$(sync~spin) lockpath';
  status.tooltip = 'lockpath: starting';
  status.command = 'lockpath.showOutput';
  status.show();
  const docs = new VirtualDocs();
  context.subscriptions.push(output, status, vscode.workspace.registerTextDocumentContentProvider(SCHEME, docs));

  const module = context.asAbsolutePath('dist/server/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const modelFile = vscode.workspace.getConfiguration('lockpath').get<string>('modelFile', '.lockpath.json');
  const recovery = new RestartPolicy();
  const tell = (message: string, level: 'info' | 'error'): void => {
    const show = level === 'error' ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
    void show(message, 'Show Output').then((pick) => pick && output.show(true));
  };
  // The close that follows a broken connection decides; the library's own notices are replaced by ours.
  const errorHandler: ErrorHandler = {
    error: () => ({ action: ErrorAction.Continue, handled: true }),
    closed: () => {
      const d = recovery.serverDied();
      if (d.tell) tell(d.tell, d.restart ? 'info' : 'error');
      if (d.restart) status.text = '$(sync~spin) lockpath';
      else
        showStatus(status, {
          state: 'error',
          files: 0,
          findings: 0,
          message: 'the language server kept stopping and was not restarted',
        });
      return { action: d.restart ? CloseAction.Restart : CloseAction.DoNotRestart, message: d.tell, handled: true };
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'file', pattern: `**/${modelFile.split('/').pop() || '.lockpath.json'}` },
    ],
    outputChannel: output,
    // Read at every (re)start: trust granted later restarts the server in full mode.
    initializationOptions: (): InitializationOptions => ({ clientCommands: true, trusted: vscode.workspace.isTrusted }),
    errorHandler,
    // Hovers end with links to the full explanation and the race timeline: only those commands may run from them.
    markdown: { isTrusted: { enabledCommands: [Commands.explain, Commands.showRaceTimeline] }, supportHtml: false },
    middleware: {
      // A quick fix may edit a function far away: reveal what it changed once applied.
      provideCodeActions: async (document, range, context, token, next) =>
        withReveal(await next(document, range, context, token)),
      workspace: {
        // The assumption checkboxes (lockpath.assumption.<id>): send only the ones the user set, so a default does
        // not override the model file.
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) return answer;
          return (answer as unknown[]).map((value: unknown, i): unknown =>
            params.items[i]?.section === 'lockpath' && value && typeof value === 'object'
              ? { ...value, assumption: assumptionOverrides() }
              : value,
          );
        },
      },
    },
  };
  client = new LanguageClient('lockpath', 'lockpath', serverOptions, clientOptions);
  const c = client;

  const tree = new FindingsTree(
    (u) => c.protocol2CodeConverter.asUri(u),
    (r) => c.protocol2CodeConverter.asRange(r),
  );
  const treeView = vscode.window.createTreeView('lockpath.findings', { treeDataProvider: tree, showCollapseAll: true });
  const refreshTree = async (): Promise<void> => {
    try {
      tree.update(await c.sendRequest<FindingsResult>(FindingsRequest, {}));
      treeView.message = tree.summary && tree.summary !== 'no races' ? undefined : 'No races in the latest analysis.';
      treeView.description = tree.summary;
    } catch {
      // The server is restarting: the next status refreshes it.
    }
  };
  context.subscriptions.push(
    treeView,
    c.onNotification(StatusNotification, (p: StatusParams) => {
      showStatus(status, p);
      if (p.state === 'idle') void refreshTree();
    }),
    vscode.commands.registerCommand(OPEN_PLACE, async (uri: vscode.Uri, range: vscode.Range) => {
      await vscode.window.showTextDocument(uri, { selection: range, viewColumn: vscode.ViewColumn.One });
    }),
    vscode.commands.registerCommand(REVEAL_EDIT, revealEdits),
    vscode.commands.registerCommand('lockpath.showOutput', () => output.show(true)),
    vscode.commands.registerCommand(Commands.restartServer, async () => {
      status.text = '$(sync~spin) lockpath';
      recovery.reset();
      await c.restart();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      output.appendLine('lockpath: the workspace is now trusted; restarting the server in full mode');
      status.text = '$(sync~spin) lockpath';
      await c.restart();
    }),
    vscode.commands.registerCommand(Commands.showChains, async (name?: unknown) => {
      const fn = typeof name === 'string' ? name : wordAtCursor();
      const r = await c.sendRequest<ChainsResult>(ChainsRequest, { name: fn });
      await showChains(c, r);
    }),
    vscode.commands.registerCommand(Commands.explain, async (name?: unknown) => {
      const fn =
        typeof name === 'string'
          ? name
          : (wordAtCursor() ?? (await vscode.window.showInputBox({ prompt: 'lockpath: explain which function?' })));
      if (!fn) return;
      const r = await c.sendRequest<ExplainResult>(ExplainRequest, { name: fn });
      await showRendered(context, fn, r.markdown, docs);
    }),
    vscode.commands.registerCommand(Commands.showRaceTimeline, async (id?: unknown) => {
      const which = typeof id === 'string' ? id : await pickFinding(c);
      if (!which) return;
      const r = await c.sendRequest<RaceTimelineResult>(RaceTimelineRequest, { id: which });
      if (!r.found) {
        void vscode.window.showWarningMessage(`lockpath: ${r.title}`);
        return;
      }
      showTimelineWebview(r);
    }),
  );
  await client.start();
}

/** The race timeline as a picture; a click on a step opens its line. */
function showTimelineWebview(r: RaceTimelineResult): void {
  // Titled by what it shows (class, entry, place), never by the finding's id.
  const panel = vscode.window.createWebviewPanel(
    'lockpath.raceTimeline',
    `Race: ${r.title}`,
    vscode.ViewColumn.Beside,
    { enableScripts: true, localResourceRoots: [] },
  );
  const nonce = Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
  panel.webview.html = timelineWebviewHtml({ title: r.title, svg: r.svg, cspSource: panel.webview.cspSource, nonce });
  panel.webview.onDidReceiveMessage(async (m: { file?: unknown; line?: unknown; column?: unknown }) => {
    const uri = typeof m.file === 'string' ? r.uris[m.file] : undefined;
    if (!uri || typeof m.line !== 'number') return;
    const position = new vscode.Position(
      Math.max(0, m.line - 1),
      Math.max(0, (typeof m.column === 'number' ? m.column : 1) - 1),
    );
    await vscode.window.showTextDocument(vscode.Uri.parse(uri), {
      selection: new vscode.Range(position, position),
      viewColumn: vscode.ViewColumn.One,
    });
  });
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

function showStatus(item: vscode.StatusBarItem, p: StatusParams): void {
  showState(item, p);
  if (p.limited) {
    item.text += ' (limited)';
    item.tooltip = `${typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '')}\nLimited mode: the workspace is not trusted. Only the C files you open are analysed, with the built-in model; the folder is not indexed and its .lockpath.json is not read.`;
  }
}

function showState(item: vscode.StatusBarItem, p: StatusParams): void {
  switch (p.state) {
    case 'starting':
    case 'indexing':
      item.text = `$(sync~spin) lockpath: indexing${p.total ? ` ${p.files}/${p.total}` : ''}`;
      item.tooltip = 'lockpath is reading the kernel tree';
      break;
    case 'analyzing':
      item.text = '$(sync~spin) lockpath: analysing';
      item.tooltip = `lockpath is analysing ${p.files} files`;
      break;
    case 'idle':
      // The server words the count as Problems shows it ("1 race (3 entries)"): one diagnostic per race.
      item.text = p.findings
        ? `$(warning) lockpath: ${p.summary ?? `${p.findings} findings`}`
        : '$(check) lockpath: no races';
      item.tooltip = `lockpath: ${p.summary ?? `${p.findings} findings`}; ${p.files} files, ${p.chains ?? 0} stage-2 chains${p.ms !== undefined ? ` (${p.ms} ms)` : ''}`;
      break;
    case 'error':
      item.text = '$(error) lockpath';
      item.tooltip = `lockpath: ${p.message ?? 'the analysis stopped'}`;
      break;
  }
}

function wordAtCursor(): string | undefined {
  const e = vscode.window.activeTextEditor;
  if (!e) return undefined;
  const r = e.document.getWordRangeAtPosition(e.selection.active, /[A-Za-z_][A-Za-z0-9_]*/);
  return r ? e.document.getText(r) : undefined;
}

function toLocation(c: LanguageClient, p: PlaceJson): vscode.Location {
  return new vscode.Location(c.protocol2CodeConverter.asUri(p.uri), c.protocol2CodeConverter.asRange(p.range));
}

/** A quick pick of the chains; then the chosen one's hops in call order (a peek would sort them by file and
 *  line), each previewed as it is highlighted and opened when chosen. */
async function showChains(c: LanguageClient, r: ChainsResult): Promise<void> {
  if (!r.chains.length) {
    void vscode.window.showInformationMessage(
      r.name ? `lockpath: no stage-2 chain passes through ${r.name}` : 'lockpath: no stage-2 chains',
    );
    return;
  }
  const icon = (v: string): string => (v === 'race' ? '$(error)' : v === 'safe' ? '$(pass)' : '$(question)');
  const pick = await vscode.window.showQuickPick(
    r.chains.map((ch) => ({
      label: `${icon(ch.verdict)} ${ch.verdict} · ${ch.contextLabel} · ${ch.via}`,
      description: ch.path.join(' → '),
      detail: ch.reason,
      chain: ch,
    })),
    {
      title: r.name ? `lockpath: chains through ${r.name}` : 'lockpath: stage-2 chains',
      matchOnDescription: true,
      matchOnDetail: true,
    },
  );
  if (!pick) return;
  const hops = pick.chain.locations.map((l, i) => {
    const at = toLocation(c, l);
    const name = pick.chain.path[i] ?? '';
    const label =
      i === 0 ? `1. ${pick.chain.contextLabel} enters ${name}` : `${i + 1}. ${pick.chain.path[i - 1]} calls ${name}`;
    return { label, description: `${vscode.workspace.asRelativePath(at.uri)}:${at.range.start.line + 1}`, at };
  });
  const qp = vscode.window.createQuickPick<(typeof hops)[number]>();
  qp.title = `lockpath: ${pick.chain.verdict} · ${pick.chain.contextLabel} ${pick.chain.via}, in call order`;
  qp.items = hops;
  qp.onDidChangeActive(
    ([h]) =>
      h && void vscode.window.showTextDocument(h.at.uri, { selection: h.at.range, preserveFocus: true, preview: true }),
  );
  const chosen = await new Promise<(typeof hops)[number] | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]));
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  if (chosen) await vscode.window.showTextDocument(chosen.at.uri, { selection: chosen.at.range, preview: false });
}

/** Every finding by name (class, entry, place; the active file's first), to pick one for the timeline. */
async function pickFinding(c: LanguageClient): Promise<string | undefined> {
  const r = await c.sendRequest<FindingsResult>(FindingsRequest, {});
  if (!r.findings.length) {
    void vscode.window.showInformationMessage('lockpath: no races in the latest analysis');
    return undefined;
  }
  const active = vscode.window.activeTextEditor?.document.uri.toString();
  const here = (f: FindingsResult['findings'][number]): number =>
    c.protocol2CodeConverter.asUri(f.place.uri).toString() === active ? 0 : 1;
  const items = [...r.findings]
    .sort((a, b) => here(a) - here(b))
    .map((f) => ({ label: f.name, description: f.hazard, detail: `${f.title} (in ${f.function})`, id: f.id }));
  return (
    await vscode.window.showQuickPick(items, {
      title: `lockpath: race timeline of which race? (${r.summary})`,
      matchOnDescription: true,
      matchOnDetail: true,
    })
  )?.id;
}

/** The explanation rendered (the markdown preview), from a file in the extension's storage so that its file links
 *  open at their line; the plain markdown document when the preview is not there. */
async function showRendered(
  context: vscode.ExtensionContext,
  name: string,
  markdown: string,
  docs: VirtualDocs,
): Promise<void> {
  const dir = vscode.Uri.joinPath(context.globalStorageUri, 'explain');
  const file = vscode.Uri.joinPath(dir, `${name.replace(/[^A-Za-z0-9_]/g, '_')}.md`);
  try {
    await vscode.workspace.fs.createDirectory(dir);
    await vscode.workspace.fs.writeFile(file, Buffer.from(markdown, 'utf8'));
    await vscode.commands.executeCommand('markdown.showPreviewToSide', file);
  } catch {
    await docs.show(vscode.Uri.from({ scheme: SCHEME, path: `/explain/${name}.md` }), markdown, true);
  }
}

/** Read-only documents under lockpath: (explanations, timelines). */
class VirtualDocs implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** Opens the text beside the editor. Markdown stays text: the preview refuses file: links, the editor lets
   *  Ctrl+click follow them (file:///...#L12 opens at the line). */
  async show(uri: vscode.Uri, text: string, markdown: boolean): Promise<void> {
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    let doc = await vscode.workspace.openTextDocument(uri);
    if (markdown && doc.languageId !== 'markdown')
      doc = await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }
}
