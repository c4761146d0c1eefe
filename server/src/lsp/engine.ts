// The analysis side of the server: owns the Workspace (texts, trees, facts), indexes the workspace folders from
// disk, applies editor changes incrementally and answers "analyze" with a Snapshot. It runs in a worker thread
// (worker.ts) so that a multi-second analysis never stalls the LSP thread, and it is driven only by messages, in
// order. It reads files (inside the workspace folders only) and never writes any.
import { readFileSync } from 'node:fs';
import {
  isSkipNote,
  loadParser,
  Workspace,
  type Analysis,
  type CParser,
  type Model,
  type TextChange,
} from '../analysis';
import { fixesFor } from '../analysis/fixes';
import { contentHash } from '../analysis/content-hash';
import type { ModelFile } from '../analysis/model/loader';
import { applySuppressions } from '../analysis/findings/suppress';
import { collectSources, usableGlobs } from '../files/collect';
import { countRaces } from './format';
import { Paths, type Root } from './paths';
import { buildDiagnosticsPart, buildSnapshot, type DiagnosticsPart, type Snapshot } from './snapshot';

export interface EngineConfig {
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  /** A fixed model (a model file with an explicit base), or none. */
  model?: Model;
  /** A model file with base "auto", applied on top of the model chosen for the tree. */
  overlay?: { file: ModelFile; source: string };
}

export type ToEngine =
  | { t: 'init'; roots: Root[]; config: EngineConfig }
  | { t: 'open'; key: string; text: string; version: number }
  | { t: 'change'; key: string; changes: TextChange[]; version: number; hash: string }
  /** The editor closed it: back to the disk text when it is indexed, else out of the analysis. */
  | { t: 'close'; key: string }
  /** A watched file changed on disk (ignored while the editor has it open). */
  | { t: 'disk'; key: string; change: 'created' | 'changed' | 'deleted' }
  | { t: 'analyze'; seq: number };

export type FromEngine =
  | { t: 'progress'; done: number; total: number }
  | { t: 'indexed'; files: number; ms: number; skipped: { file: string; reason: string }[] }
  /** Ahead of the snapshot of the same analysis: what diagnostics need (ms: the analysis alone). */
  | { t: 'diagnostics'; part: DiagnosticsPart; ms: number }
  | { t: 'snapshot'; seq: number; snapshot: Snapshot; ms: number }
  /** A newer analysis was asked for before this one's snapshot was built: it is not built (the newer one's is). */
  | { t: 'superseded'; seq: number }
  /** The text after applying changes does not match the editor's: send the whole text. */
  | { t: 'desync'; key: string }
  | { t: 'log'; level: 'info' | 'warning' | 'error'; message: string };

/** How long the whole snapshot waits for a newer analysis to be asked for before it is built. */
export const SNAPSHOT_QUIET_MS = 15;

/** Same hash on both sides of the worker boundary: the editor's text and the analysis's text agree. */
export function textHash(text: string): string {
  return contentHash(text);
}

/** Does the index want this file (a C source or header under a folder, matching the globs)? */
export function indexWants(paths: Paths, include: readonly RegExp[], exclude: readonly RegExp[], key: string): boolean {
  const root = paths.rootOfKey(key);
  if (!root || !/\.[ch]$/.test(key)) return false;
  const rel = paths.roots.length > 1 ? key.slice(root.name.length + 1) : key;
  return include.some((r) => r.test(rel)) && !exclude.some((r) => r.test(rel));
}

export class Engine {
  private parser?: CParser;
  private ws?: Workspace;
  private paths = new Paths([]);
  private config?: EngineConfig;
  private include: RegExp[] = [];
  private exclude: RegExp[] = [];
  /** Files read from disk by the index (they go back to the disk text when the editor closes them). */
  private readonly indexed = new Set<string>();
  /** Editor documents and their versions. */
  private readonly open = new Map<string, number>();
  private queue: Promise<void>;
  /** 'analyze' messages received and not yet handled: a snapshot still to be built for an older one is dropped. */
  private analyzesWaiting = 0;
  /** Ends the wait before building a snapshot early (a message arrived). */
  private wakeSnapshot?: () => void;

  constructor(
    private readonly send: (m: FromEngine) => void,
    wasmDir?: string,
  ) {
    this.queue = loadParser(wasmDir).then((p) => {
      this.parser = p;
    });
  }

  /** Messages are handled strictly in order, after the parser has loaded. */
  handle(m: ToEngine): Promise<void> {
    if (m.t === 'analyze') this.analyzesWaiting++;
    this.wakeSnapshot?.();
    this.queue = this.queue
      .then(() => {
        if (m.t === 'analyze') this.analyzesWaiting--;
        return this.process(m);
      })
      .catch((e: unknown) => {
        this.send({
          t: 'log',
          level: 'error',
          message: `lockpath analysis: ${m.t} failed: ${(e as Error).stack ?? e}`,
        });
      });
    return this.queue;
  }

  private process(m: ToEngine): void | Promise<void> {
    if (m.t === 'init') return this.init(m.roots, m.config);
    const ws = this.ws;
    if (!ws) throw new Error(`${m.t} before init`);
    switch (m.t) {
      case 'open':
        // Opening a file the index already holds with the same text changes nothing (and keeps its facts).
        if (ws.text(m.key) !== m.text) ws.setFile(m.key, m.text);
        ws.keepTree(m.key);
        this.open.set(m.key, m.version);
        return;
      case 'change': {
        if (!ws.has(m.key)) {
          this.send({ t: 'desync', key: m.key });
          return;
        }
        const text = ws.applyChanges(m.key, m.changes);
        this.open.set(m.key, m.version);
        if (textHash(text) !== m.hash) this.send({ t: 'desync', key: m.key });
        return;
      }
      case 'close':
        this.open.delete(m.key);
        if (!this.indexed.has(m.key) || !this.readFromDisk(m.key)) {
          ws.removeFile(m.key);
          this.indexed.delete(m.key);
        }
        return;
      case 'disk':
        if (this.open.has(m.key)) return;
        if (m.change === 'deleted' || !this.wanted(m.key) || !this.readFromDisk(m.key)) {
          ws.removeFile(m.key);
          this.indexed.delete(m.key);
        }
        return;
      case 'analyze':
        return this.analyze(ws, m.seq);
    }
  }

  /** Diagnostics first; the whole snapshot (lenses, hovers, fixes: several ms to build and to copy across) only
   *  once no newer analysis has been asked for within SNAPSHOT_QUIET_MS. Typing faster than that builds snapshots
   *  for none of the versions in between; the next edit does not wait behind them. */
  private async analyze(ws: Workspace, seq: number): Promise<void> {
    const started = performance.now();
    const a = ws.analyze();
    applySuppressions(
      a,
      (file) => ws.text(file) ?? '',
      this.config?.overlay && { source: this.config.overlay.source, entries: this.config.overlay.file.reviewed ?? [] },
    );
    const hashes = Object.fromEntries(ws.paths().map((p) => [p, textHash(ws.text(p) ?? '')]));
    const versions = Object.fromEntries(this.open);
    const part = buildDiagnosticsPart(a, seq, versions, hashes);
    const ms = performance.now() - started;
    this.send({ t: 'diagnostics', part, ms });
    // Messages wait in the queue meanwhile: the texts are still the analysed ones when the fixes are computed.
    await this.quietFor(SNAPSHOT_QUIET_MS);
    if (this.analyzesWaiting > 0) {
      this.send({ t: 'superseded', seq });
      return;
    }
    const built = performance.now();
    const snapshot = buildSnapshot(
      a,
      seq,
      versions,
      hashes,
      (f) => fixesFor(a, f, (file) => ws.text(file) ?? ''),
      part,
    );
    this.send({ t: 'snapshot', seq, snapshot, ms });
    this.send({ t: 'log', level: 'info', message: this.analysisLog(a, seq, ms, performance.now() - built) });
  }

  /** What the output channel says of one analysis: the model, the scope, what was skipped, and where time went
   *  (never the timelines: those have their own view). */
  private analysisLog(a: Analysis, seq: number, ms: number, snapshotMs: number): string {
    const cfg = this.config;
    const roots = this.paths.roots.map((r) => r.fsPath).join(', ') || '(no folder)';
    const skipped = a.problems
      .filter(isSkipNote)
      .map((p) => `${p.file}: ${p.message.replace(/^lockpath: skipped: /, '')}`);
    const st = a.stats;
    return [
      // Worded apart from server.ts's one-line "analysis #N" (tests count those) and from its skip notes.
      `lockpath: what analysis ${seq} read`,
      `  model: ${a.model.id} (${a.model.source}; ${a.modelReason}); assumptions off: ${
        a.model.assumptions
          .filter((x) => !x.enabled)
          .map((x) => x.id)
          .join(', ') || 'none'
      }`,
      `  scope: ${st.files} files (${this.indexed.size} indexed from ${roots}, ${this.open.size} open)${cfg ? `; include ${cfg.include.join(' ') || '(none: open files only)'}; exclude ${cfg.exclude.join(' ') || '(none)'}` : ''}`,
      `  left out (too large, binary or generated): ${skipped.length ? `${skipped.length} file${skipped.length === 1 ? '' : 's'}` : 'none'}${skipped
        .slice(0, 20)
        .map((x) => `\n    ${x}`)
        .join('')}${skipped.length > 20 ? `\n    and ${skipped.length - 20} more` : ''}`,
      `  timings: analysis ${Math.round(ms)} ms (${st.functions} functions, ${st.chains} chains, ${st.states} states, ${st.searchesStored} of ${st.searches} searches from the cache), editor data ${Math.round(snapshotMs)} ms`,
      `  found: ${countRaces(a.findings)}`,
    ].join('\n');
  }

  /** Resolves after `ms`, or as soon as a message arrives (after the rest of its batch has been read). */
  private quietFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSnapshot = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSnapshot = () => {
        this.wakeSnapshot = undefined;
        setImmediate(done);
      };
    });
  }

  private init(roots: Root[], config: EngineConfig): void {
    const started = performance.now();
    this.ws?.dispose();
    this.indexed.clear();
    this.open.clear();
    this.paths = new Paths(roots);
    this.config = config;
    this.include = usableGlobs(config.include);
    this.exclude = usableGlobs(config.exclude);
    const ws = new Workspace(this.parser!, {
      model: config.model,
      overlay: config.overlay,
      maxFileBytes: config.maxFileBytes,
    });
    this.ws = ws;
    const skipped: { file: string; reason: string }[] = [];
    const todo: string[] = [];
    // No globs (limited mode): the folders are not even listed.
    for (const root of config.include.length ? roots : []) {
      try {
        const c = collectSources(root.fsPath, {
          include: config.include,
          exclude: config.exclude,
          maxBytes: config.maxFileBytes,
        });
        todo.push(...c.files.map((f) => this.paths.keyIn(root, f)));
        skipped.push(...c.skipped.map((s) => ({ ...s, file: this.paths.keyIn(root, s.file) })));
      } catch (e) {
        skipped.push({ file: root.fsPath, reason: `cannot list: ${(e as Error).message}` });
      }
    }
    this.send({ t: 'progress', done: 0, total: todo.length });
    let lastReport = performance.now();
    todo.forEach((key, i) => {
      if (!this.readFromDisk(key)) skipped.push({ file: key, reason: 'unreadable or outside the workspace folder' });
      if (performance.now() - lastReport > 100 || i === todo.length - 1) {
        lastReport = performance.now();
        this.send({ t: 'progress', done: i + 1, total: todo.length });
      }
    });
    this.send({ t: 'indexed', files: this.indexed.size, ms: performance.now() - started, skipped });
  }

  private wanted(key: string): boolean {
    return indexWants(this.paths, this.include, this.exclude, key);
  }

  private readFromDisk(key: string): boolean {
    const path = this.paths.fsPathOfKey(key);
    if (!path || !this.paths.mayRead(path)) return false;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return false;
    }
    this.ws!.setFile(key, text);
    this.indexed.add(key);
    return true;
  }

  dispose(): void {
    this.ws?.dispose();
    this.ws = undefined;
  }

  /** For tests and the in-process host. */
  get configuration(): EngineConfig | undefined {
    return this.config;
  }
}
