// When the language server asks its analysis host for an analysis, and which results still match the texts.
// Start at once when idle (after the notifications already read, so a burst is one analysis); while one runs, keep
// edits pending and coalesce them into the next, which the running one's diagnostics start; abandon a running
// analysis when waiting for it costs more than starting over. Publish only what was computed from exactly the
// texts the editor has. Pure: no LSP, no worker, no timers of its own. The clock, the deferral and every effect
// come in as hooks (test/lsp/scheduler.test.ts drives it with fake ones).
import type { TextChange } from '../analysis';
import type { DiagnosticsPart, Snapshot } from './snapshot';

/** A document's edits not yet sent to the host: range edits in order, or `full` (send the whole text). */
export interface PendingEdits {
  changes: TextChange[];
  full: boolean;
}

export interface SchedulerHooks {
  /** Milliseconds (Date.now in the server). */
  now(): number;
  /** Runs `f` after the messages already read have been handled (setImmediate); returns its cancel. */
  defer(f: () => void): () => void;
  /** The open documents the analysis reads (not the model file): key, and the hash of the editor's text. */
  openTexts(): Iterable<readonly [key: string, hash: string]>;
  /** The open documents' versions as one string: what diagnostics published ahead were published for. */
  versions(): string;
  /** Sends a document's pending edits to the host. */
  send(key: string, edits: PendingEdits): void;
  /** Asks the host for analysis `seq` of what it has been sent. */
  analyze(seq: number): void;
  /** An analysis was asked for after the index was ready. */
  analyzing(): void;
  /** Publishes the diagnostics of `part` (or republishes them for documents opened since). */
  publish(part: DiagnosticsPart): void;
  /** A snapshot matching the texts is in (`ms`: its analysis's duration): whatever waits for one goes on. */
  settled(s: Snapshot, ms: number): void;
  /** The running analysis is stale and waiting costs more than starting over: replace the host. */
  abandon(why: string): void;
}

interface InFlight {
  seq: number;
  sent: number;
  /** The host's first analysis (nothing cached in it yet), which takes far longer than the ones after. */
  cold: boolean;
  /** Input changed since it was asked for. */
  stale?: boolean;
}

/** What an analysis request saw besides the open documents' texts (those are checked by hash). */
interface Generations {
  diskGen: number;
  configGen: number;
}

export class Scheduler {
  /** Edits not yet sent to the host, per key, until the next analysis is asked for. */
  private readonly pending = new Map<string, PendingEdits>();
  /** Cancels the analysis due in this turn of the event loop (notifications read in the same turn join it). */
  private cancelDue?: () => void;
  private seq = 0;
  private inFlight?: InFlight;
  private readonly requests = new Map<number, Generations>();
  /** Bumped whenever a file's analysed text changes other than through an open document. */
  private diskGen = 0;
  /** Bumped whenever the model, the index globs or the folders change. */
  private configGen = 0;
  private latestSnapshot?: Snapshot;
  private publishedPart?: DiagnosticsPart;
  /** Diagnostics published ahead of their snapshot: its seq and the document versions they were published for. */
  private publishedAhead?: { seq: number; versions: string };
  private lastAnalysisMs?: number;
  private lastIndexMs?: number;

  private host?: { readonly cancellable: boolean };
  /** Bumped whenever the host is replaced: messages of older hosts are to be ignored (see `epoch`). */
  private hostEpoch = 0;
  private indexedEpoch = -1;
  /** The epoch of the host that finished the latest analysis. */
  private snapshotEpoch = -1;
  /** Duration of the latest host's first analysis (ms). */
  private coldMs?: number;
  /** Durations of the last few analyses after the first of their host (ms). */
  private readonly recentMs: number[] = [];

  constructor(private readonly hooks: SchedulerHooks) {}

  /** The latest snapshot (it may not match the texts any more: see `isCurrent`). */
  get latest(): Snapshot | undefined {
    return this.latestSnapshot;
  }

  /** The diagnostics last published. */
  get published(): DiagnosticsPart | undefined {
    return this.publishedPart;
  }

  /** The current host's epoch. */
  get epoch(): number {
    return this.hostEpoch;
  }

  // ---- input -------------------------------------------------------------------------------------------------

  /** An open document changed: `changes` are its range edits, `full` a change of the whole text among them. */
  edited(key: string, changes: readonly TextChange[], full: boolean): void {
    const p = this.pending.get(key) ?? { changes: [], full: false };
    p.changes.push(...changes);
    if (full) p.full = true;
    this.pending.set(key, p);
    this.schedule();
  }

  /** A document was opened (its whole text already sent to the host). */
  opened(key: string): void {
    this.pending.delete(key);
    // The analysis already saw this text (the index read it from disk): its diagnostics hold as they are.
    if (this.publishedPart && this.isCurrent(this.publishedPart)) this.publish(this.publishedPart);
    else this.schedule();
  }

  /** The document's pending edits are moot: it was closed, or its whole text was sent again. */
  forget(key: string): void {
    this.pending.delete(key);
  }

  /** A file the analysis reads changed other than through an open document. */
  diskChanged(): void {
    this.diskGen++;
    this.schedule();
  }

  /** The model, the index globs or the folders changed (a new host follows when the analysis must rerun). */
  configChanged(): void {
    this.configGen++;
  }

  /** Input changed. Idle: analyse now (after the notifications already read, so a burst is one analysis).
   *  Busy: the edits wait in `pending` and the running analysis's diagnostics start the next one, with all of them;
   *  a running analysis is abandoned if waiting for it costs more than starting over. No fixed quiet period: an
   *  incremental analysis is cheaper than the wait would be, and edits made during one are coalesced anyway. */
  schedule(): void {
    if (this.inFlight) {
      this.maybeCancel();
      return;
    }
    this.cancelDue ??= this.hooks.defer(() => {
      this.cancelDue = undefined;
      this.analyzeNow();
    });
  }

  // ---- the host ----------------------------------------------------------------------------------------------

  /** A new host replaces the old one (which gets all open texts, so nothing is pending). Returns its epoch. */
  hostStarted(host: { readonly cancellable: boolean }): number {
    this.host = host;
    this.inFlight = undefined;
    this.pending.clear();
    return ++this.hostEpoch;
  }

  /** The new host has been sent everything: ask for an analysis unless one is already due (that one asks). */
  startIfIdle(): void {
    if (!this.cancelDue) this.analyzeNow();
  }

  /** No host any more (shut down, or given up after crashes): nothing more is asked for. */
  stop(): void {
    this.cancelDue?.();
    this.cancelDue = undefined;
    this.host = undefined;
    this.inFlight = undefined;
  }

  /** The host finished indexing (`ms`): a queued analysis starts now. */
  indexed(ms: number): void {
    this.indexedEpoch = this.hostEpoch;
    this.lastIndexMs = ms;
    if (this.inFlight) {
      this.inFlight.sent = this.hooks.now();
      // Input arrived while indexing: the queued analysis is already stale.
      if (this.inFlight.stale) this.maybeCancel();
    }
  }

  /** The diagnostics part of an analysis arrived: the analysis is done and the next may be asked for (its
   *  snapshot is built only if none is). Returns whether it was published (it matches the texts). */
  diagnosticsArrived(part: DiagnosticsPart, ms: number): boolean {
    const current = this.isCurrent(part);
    this.analysisDone(part.seq, ms);
    if (current) {
      this.publish(part);
      this.publishedAhead = { seq: part.seq, versions: this.hooks.versions() };
    } else if (!this.cancelDue) this.analyzeNow();
    return current;
  }

  /** An analysis's whole snapshot arrived (`ms`: the analysis's duration). */
  snapshotArrived(s: Snapshot, ms: number): void {
    this.arrived(s, ms, false);
  }

  /** Computed from exactly the texts the analysis would read now: the same configuration, the same disk, and
   *  for every open document the very text the editor has (by hash of what the analysis actually read). */
  isCurrent(s: Pick<Snapshot, 'seq' | 'hashes'>): boolean {
    const req = this.requests.get(s.seq);
    if (!req || req.configGen !== this.configGen || req.diskGen !== this.diskGen) return false;
    for (const [key, hash] of this.hooks.openTexts()) if (s.hashes[key] !== hash) return false;
    return true;
  }

  // ---- decisions ---------------------------------------------------------------------------------------------

  private maybeCancel(): void {
    const f = this.inFlight;
    if (!f) return;
    f.stale = true;
    // While the host is still indexing the analysis has not started: decide when the index is done.
    if (!this.host?.cancellable || this.indexedEpoch !== this.hostEpoch || this.coldMs === undefined) return;
    const elapsed = this.hooks.now() - f.sent;
    // Analyses of the same tree take about the same time, except when an edit makes one blow up: the longest
    // recent one is the estimate, and one already running longer than that is an outlier. Dropping it pays only
    // once it has run longer than a restart costs (index, then a cold analysis with nothing cached): otherwise
    // steady typing during a cold analysis would restart the host over and over.
    const typical = f.cold || !this.recentMs.length ? this.coldMs : Math.max(...this.recentMs);
    const restart = (this.lastIndexMs ?? 1000) + this.coldMs + 150;
    if (elapsed > typical && elapsed > restart) {
      this.hooks.abandon(
        `lockpath: abandoning a stale analysis (running ${elapsed} ms, typically ${Math.round(typical)} ms; restarting costs about ${Math.round(restart)} ms)`,
      );
    }
  }

  private analyzeNow(): void {
    if (!this.host) return;
    if (this.inFlight) return; // its diagnostics part starts the next one
    for (const [key, p] of this.pending) this.hooks.send(key, p);
    this.pending.clear();
    if (this.latestSnapshot && this.isCurrent(this.latestSnapshot)) {
      // Nothing the analysis reads has changed (an edit undone, a file reopened): the last result stands.
      this.arrived(this.latestSnapshot, this.lastAnalysisMs ?? 0, true);
      return;
    }
    const seq = ++this.seq;
    this.requests.set(seq, { diskGen: this.diskGen, configGen: this.configGen });
    this.hooks.analyze(seq);
    this.inFlight = { seq, sent: this.hooks.now(), cold: this.snapshotEpoch !== this.hostEpoch };
    if (this.indexedEpoch === this.hostEpoch) this.hooks.analyzing();
  }

  /** The analysis asked for as `seq` has finished (its diagnostics part arrived; the snapshot may follow). */
  private analysisDone(seq: number, ms: number): void {
    if (this.inFlight?.seq !== seq) return;
    if (this.snapshotEpoch !== this.hostEpoch) this.coldMs = ms;
    else {
      this.recentMs.push(ms);
      if (this.recentMs.length > 5) this.recentMs.shift();
    }
    this.snapshotEpoch = this.hostEpoch;
    this.inFlight = undefined;
    this.lastAnalysisMs = ms;
  }

  private arrived(s: Snapshot, ms: number, reused: boolean): void {
    const current = this.isCurrent(s);
    if (!reused) {
      this.analysisDone(s.seq, ms);
      // A stale snapshot does not replace one that matches the texts again (an edit undone before it arrived).
      if (current || !this.latestSnapshot || !this.isCurrent(this.latestSnapshot)) this.latestSnapshot = s;
      const keep = Math.min(this.latestSnapshot.seq, this.publishedPart?.seq ?? this.latestSnapshot.seq);
      for (const seq of this.requests.keys()) if (seq < keep) this.requests.delete(seq);
    }
    if (current) {
      // Already published from its diagnostics part, for these very versions: not the same diagnostics again.
      const ahead = this.publishedAhead;
      if (reused || ahead?.seq !== s.seq || ahead.versions !== this.hooks.versions()) this.publish(s);
      this.publishedAhead = undefined;
      this.hooks.settled(s, ms);
    } else {
      // The text changed since: its diagnostics part already started the next analysis.
      this.publishedAhead = undefined;
    }
  }

  private publish(part: DiagnosticsPart): void {
    this.publishedPart = part;
    this.hooks.publish(part);
  }
}
