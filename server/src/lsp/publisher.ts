// What the server tells the client without being asked: diagnostics per open document, the work-done progress
// of indexing, the lockpath/status notification, refresh requests for lenses and inlay hints, and log lines.
import type {
  ClientCapabilities,
  Connection,
  Diagnostic,
  PublishDiagnosticsParams,
  WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { findingDiagnostics, problemDiagnostics } from './diagnostics';
import type { Documents } from './documents';
import { StatusNotification, type StatusParams } from './protocol';
import type { DiagnosticsPart, Snapshot } from './snapshot';

export interface PublisherContext {
  caps(): ClientCapabilities;
  /** Limited mode (an untrusted workspace): every status says so. */
  limited(): boolean;
  uriOf(key: string): string;
}

export class Publisher {
  /** Documents with diagnostics published (they get an empty list when they have none any more). */
  private readonly publishedUris = new Set<string>();
  private progress?: Promise<WorkDoneProgressServerReporter | undefined>;
  private lastStatus?: string;
  private lastLogged = '';

  constructor(
    private readonly connection: Connection,
    private readonly docs: Documents,
    private readonly ctx: PublisherContext,
  ) {}

  /** The diagnostics of every open C document from `s`, with the document's version. */
  diagnostics(s: DiagnosticsPart, showParseProblems: boolean): void {
    const env = { snap: s, uriOf: (key: string): string => this.ctx.uriOf(key) };
    for (const [uri, d] of this.docs.entries()) {
      if (d.model) continue;
      const diagnostics: Diagnostic[] = [
        ...findingDiagnostics(env, d.key),
        ...problemDiagnostics(s.problems, d.key, showParseProblems),
      ];
      if (!diagnostics.length && !this.publishedUris.has(uri)) continue;
      void this.connection.sendDiagnostics({ uri, version: d.doc.version, diagnostics });
      if (diagnostics.length) this.publishedUris.add(uri);
      else this.publishedUris.delete(uri);
    }
  }

  /** A closed document keeps no diagnostics. */
  clear(uri: string): void {
    if (this.publishedUris.delete(uri)) void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  /** Diagnostics not about C (the model file's). */
  send(params: PublishDiagnosticsParams): void {
    void this.connection.sendDiagnostics(params);
  }

  /** Problems in files the editor does not have open go to the log, once. */
  logProblems(s: Snapshot): void {
    const lines = s.problems
      .filter((p) => p.severity !== 'info' && (!p.file || !this.docs.hasKey(p.file)))
      .map((p) => `${p.file || '<workspace>'}:${p.at.line + 1}:${p.at.column + 1}: ${p.message}`);
    const text = lines.join('\n');
    if (text && text !== this.lastLogged) this.log(text);
    this.lastLogged = text;
  }

  refresh(kind: 'codeLens' | 'inlayHint'): void {
    const ws = this.ctx.caps().workspace;
    if (kind === 'codeLens' && ws?.codeLens?.refreshSupport)
      void this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    if (kind === 'inlayHint' && ws?.inlayHint?.refreshSupport)
      void this.connection.sendRequest('workspace/inlayHint/refresh').catch(() => undefined);
  }

  beginProgress(): void {
    if (!this.ctx.caps().window?.workDoneProgress || this.progress) return;
    this.progress = this.connection.window.createWorkDoneProgress().then(
      (r) => {
        r.begin('lockpath', 0, 'indexing the kernel tree', false);
        return r;
      },
      () => undefined,
    );
  }

  reportProgress(percent: number, message: string): void {
    void this.progress?.then((r) => r?.report(percent, message));
  }

  endProgress(): void {
    const p = this.progress;
    this.progress = undefined;
    void p?.then((r) => r?.done());
  }

  status(p: StatusParams): void {
    if (this.ctx.limited()) p = { ...p, limited: true };
    const key = JSON.stringify(p);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    void this.connection.sendNotification(StatusNotification, p);
  }

  log(message: string): void {
    this.connection.console.log(message);
  }

  error(message: string): void {
    this.connection.console.error(message);
  }
}
