// A small LSP client for the tests: spawns the real server over stdio, answers what the server asks of a client
// (configuration, progress tokens, registrations, refreshes), records what it publishes, and waits with bounds.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type TextDocumentContentChangeEvent,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { exampleDir, repoRoot } from '../helpers';

export const serverJs = join(repoRoot, 'dist', 'server', 'server.js');

export interface StatusParams {
  state: string;
  files: number;
  findings: number;
  total?: number;
}

export class TestClient {
  readonly conn: ProtocolConnection;
  readonly proc: ChildProcess;
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** Every publication, in order. */
  readonly publications: PublishDiagnosticsParams[] = [];
  readonly statuses: StatusParams[] = [];
  readonly progress: unknown[] = [];
  readonly logs: string[] = [];
  stderr = '';
  settings: Record<string, unknown> = {};
  private readonly versions = new Map<string, number>();
  private readonly texts = new Map<string, string>();
  private listeners: (() => void)[] = [];

  constructor(
    readonly root: string,
    opts: { settings?: Record<string, unknown>; command?: string[]; env?: Record<string, string> } = {},
  ) {
    if (!existsSync(serverJs)) throw new Error(`${serverJs} missing: run npm run build`);
    this.settings = opts.settings ?? {};
    this.proc = spawn(process.execPath, opts.command ?? [serverJs, '--stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.conn = createProtocolConnection(
      new StreamMessageReader(this.proc.stdout!),
      new StreamMessageWriter(this.proc.stdin!),
    );
    this.conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, p);
      this.publications.push(p);
      this.poke();
    });
    this.conn.onNotification('lockpath/status', (p: StatusParams) => {
      this.statuses.push(p);
      this.poke();
    });
    this.conn.onNotification('$/progress', (p: unknown) => {
      this.progress.push(p);
      this.poke();
    });
    this.conn.onNotification('window/logMessage', (p: { message: string }) => {
      this.logs.push(p.message);
    });
    this.conn.onNotification('window/showMessage', (p: { message: string }) => {
      this.logs.push(`showMessage: ${p.message}`);
    });
    this.conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map((i) => (i.section === 'lockpath' ? this.settings : null)),
    );
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('workspace/codeLens/refresh', () => null);
    this.conn.onRequest('workspace/inlayHint/refresh', () => null);
    this.conn.listen();
  }

  uri(rel: string): string {
    return pathToFileURL(join(this.root, rel)).href;
  }

  async initialize(extra: { initializationOptions?: unknown } = {}): Promise<unknown> {
    const result = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(this.root).href,
      workspaceFolders: [{ uri: pathToFileURL(this.root).href, name: 'v4.12' }],
      ...extra,
      capabilities: {
        workspace: {
          configuration: true,
          workspaceEdit: { documentChanges: true },
          codeLens: { refreshSupport: true },
          inlayHint: { refreshSupport: true },
          didChangeConfiguration: { dynamicRegistration: true },
          didChangeWatchedFiles: { dynamicRegistration: true },
        },
        window: { workDoneProgress: true },
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
          hover: { contentFormat: ['markdown', 'plaintext'] },
        },
      },
    });
    await this.conn.sendNotification('initialized', {});
    return result;
  }

  open(rel: string, text = readFileSync(join(this.root, rel), 'utf8'), languageId = 'c'): string {
    const uri = this.uri(rel);
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    void this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  text(uri: string): string {
    return this.texts.get(uri)!;
  }

  version(uri: string): number {
    return this.versions.get(uri)!;
  }

  /** Sends one change (a range edit, or the whole text) and returns the new version. */
  change(uri: string, change: TextDocumentContentChangeEvent, newText: string): number {
    const v = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, v);
    this.texts.set(uri, newText);
    void this.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: v },
      contentChanges: [change],
    });
    return v;
  }

  /** Replaces the document's text with `next` through the smallest range edit. */
  setText(uri: string, next: string): number {
    const prev = this.texts.get(uri)!;
    let a = 0;
    while (a < prev.length && a < next.length && prev[a] === next[a]) a++;
    let b = 0;
    while (b < prev.length - a && b < next.length - a && prev[prev.length - 1 - b] === next[next.length - 1 - b]) b++;
    return this.change(
      uri,
      {
        range: { start: positionAt(prev, a), end: positionAt(prev, prev.length - b) },
        text: next.slice(a, next.length - b),
      },
      next,
    );
  }

  close(uri: string): void {
    void this.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.conn.sendRequest<R>(method, params);
  }

  /** Waits until `pred` holds (checked on every message from the server), failing after `ms`. */
  waitFor<T>(what: string, pred: () => T | undefined | false, ms = 60_000): Promise<T> {
    const now = pred();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = pred();
        if (!v) return;
        cleanup();
        resolve(v);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${what}\nserver stderr:\n${this.stderr.slice(-3000)}\nlogs:\n${this.logs.slice(-20).join('\n')}`,
          ),
        );
      }, ms);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
      };
      this.listeners.push(check);
    });
  }

  /** Diagnostics published for exactly the document's current version. */
  diagnosticsAt(uri: string, version = this.version(uri), ms = 60_000): Promise<Diagnostic[]> {
    return this.waitFor(
      `diagnostics for ${uri} v${version}`,
      () => {
        const p = this.diagnostics.get(uri);
        return p && p.version === version ? p.diagnostics : undefined;
      },
      ms,
    );
  }

  private poke(): void {
    for (const l of [...this.listeners]) l();
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      void this.conn.sendNotification('exit');
    } catch {
      // the server may already be gone
    }
    await new Promise((r) => setTimeout(r, 100));
    this.conn.dispose();
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

export function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

export function offsetOf(text: string, p: { line: number; character: number }): number {
  let o = 0;
  for (let l = 0; l < p.line; l++) o = text.indexOf('\n', o) + 1;
  return o + p.character;
}

/** Applies LSP text edits (all relative to the same text) and returns the result. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => offsetOf(text, b.range.start) - offsetOf(text, a.range.start));
  let out = text;
  for (const e of sorted)
    out = out.slice(0, offsetOf(out, e.range.start)) + e.newText + out.slice(offsetOf(out, e.range.end));
  return out;
}

/** The edits of a WorkspaceEdit for one document, in either shape. */
export function editsFor(edit: WorkspaceEdit, uri: string): TextEdit[] {
  const out: TextEdit[] = [];
  for (const dc of edit.documentChanges ?? [])
    if ('textDocument' in dc && dc.textDocument.uri === uri) out.push(...(dc.edits as TextEdit[]));
  out.push(...(edit.changes?.[uri] ?? []));
  return out;
}

/** Where `needle` occurs in `text` (the n-th time), as an LSP position. */
export function find(text: string, needle: string, nth = 0): { line: number; character: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`${needle} not found`);
  }
  return positionAt(text, i);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  ]);
}

/** A server on the bundled example with one of its files open and first analysed (the document's key and text). */
export async function openExample(path: string): Promise<{ client: TestClient; mmu: string; original: string }> {
  const client = new TestClient(exampleDir);
  await client.initialize();
  const mmu = client.open(path);
  const original = client.text(mmu);
  await client.diagnosticsAt(mmu, 1, 120_000);
  return { client, mmu, original };
}

/** The finding ids the diagnostics carry (in their data), sorted. */
export const findingIds = (ds: readonly Diagnostic[]): string[] =>
  ds.flatMap((d) => (d.data as { findings?: string[] } | undefined)?.findings ?? []).sort();
