// The scheduler on its own, with a fake clock, a deferral queue run by hand and recorded effects: analyses are
// asked for in order and after the edits they must see, a burst is one analysis, edits made during an analysis
// are coalesced into the next, stale results are neither published nor kept over current ones, an undone edit
// reuses the last result, and a stale analysis is abandoned only when waiting costs more than restarting.
// (test/lsp/schedule.test.ts checks the same schedule through the real server.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TextChange } from '../../server/src/analysis';
import { Scheduler, type PendingEdits } from '../../server/src/lsp/scheduler';
import type { DiagnosticsPart, Snapshot } from '../../server/src/lsp/snapshot';

const change = (text: string): TextChange => ({
  start: { line: 0, character: 0 },
  end: { line: 0, character: 0 },
  text,
});

/** A scheduler whose hooks record what it does, over open documents given as key -> hash of the editor's text. */
function setup(opts: { cancellable?: boolean } = {}) {
  let clock = 1_000_000;
  const deferred: (() => void)[] = [];
  const texts = new Map<string, string>([['a.c', 'a0']]);
  const events: string[] = [];
  const sent: [string, PendingEdits][] = [];
  const abandoned: string[] = [];
  const scheduler: Scheduler = new Scheduler({
    now: () => clock,
    defer: (f) => {
      deferred.push(f);
      return () => deferred.splice(deferred.indexOf(f), 1);
    },
    openTexts: () => texts.entries(),
    versions: () => [...texts].map(([k, h]) => `${k}@${h}`).join(),
    send: (key, edits) => {
      sent.push([key, structuredClone(edits)]);
      events.push(`send ${key}`);
    },
    analyze: (seq) => events.push(`analyze ${seq}`),
    analyzing: () => events.push('analyzing'),
    publish: (part) => events.push(`publish ${part.seq}`),
    settled: (s) => events.push(`settled ${s.seq}`),
    abandon: (why) => {
      abandoned.push(why);
      events.push('abandon');
    },
  });
  /** What an analysis of the editor's texts as they are now would report. */
  const result = (seq: number): Snapshot => ({ seq, hashes: Object.fromEntries(texts) }) as unknown as Snapshot;
  const t = {
    scheduler,
    texts,
    events,
    sent,
    abandoned,
    advance: (ms: number) => (clock += ms),
    /** Runs what was deferred (the end of this turn of the event loop). */
    turn: () => deferred.splice(0).forEach((f) => f()),
    /** Edits a document: its text (hash) becomes `hash`. */
    edit: (key: string, hash: string) => {
      texts.set(key, hash);
      scheduler.edited(key, [change(hash)], false);
    },
    result,
    /** Both parts of analysis `seq` arrive, computed from `snap` (ms each). */
    finish: (snap: Snapshot, ms = 100): boolean => {
      const published = scheduler.diagnosticsArrived(snap, ms);
      scheduler.snapshotArrived(snap, ms);
      return published;
    },
    drain: () => events.splice(0),
  };
  // A host that has indexed and finished its first (cold) analysis of the texts as they are.
  scheduler.hostStarted({ cancellable: opts.cancellable ?? true });
  scheduler.startIfIdle();
  const first = result(1);
  scheduler.indexed(500);
  t.finish(first, 1000);
  assert.deepEqual(t.drain(), ['analyze 1', 'publish 1', 'settled 1']);
  return t;
}

describe('scheduler', () => {
  it('an edit while idle is analysed at the end of the turn, after its edits are sent; a burst is one analysis', () => {
    const t = setup();
    t.edit('a.c', 'a1');
    t.edit('a.c', 'a2');
    t.edit('a.c', 'a3');
    assert.deepEqual(t.events, [], 'nothing before the turn ends');
    t.turn();
    assert.deepEqual(t.drain(), ['send a.c', 'analyze 2', 'analyzing']);
    assert.deepEqual(
      t.sent.at(-1)?.[1].changes.map((c) => c.text),
      ['a1', 'a2', 'a3'],
      'one send, every change in order',
    );
    assert.equal(t.finish(t.result(2)), true);
    assert.deepEqual(t.drain(), ['publish 2', 'settled 2'], 'diagnostics published once, ahead of the snapshot');
  });

  it('edits made during an analysis wait, and its stale diagnostics start one next analysis with all of them', () => {
    const t = setup();
    t.edit('a.c', 'a1');
    t.turn();
    const running = t.result(2);
    t.drain();
    t.edit('a.c', 'a2');
    t.edit('b.c', 'b1');
    t.edit('a.c', 'a3');
    t.turn();
    assert.deepEqual(t.events, [], 'nothing sent or asked for while one runs');
    assert.equal(
      t.scheduler.diagnosticsArrived(running as unknown as DiagnosticsPart, 100),
      false,
      'stale: not published',
    );
    assert.deepEqual(t.drain(), ['send a.c', 'send b.c', 'analyze 3', 'analyzing']);
    assert.deepEqual(
      t.sent.slice(-2).map(([k, e]) => [k, e.changes.map((c) => c.text)]),
      [
        ['a.c', ['a2', 'a3']],
        ['b.c', ['b1']],
      ],
    );
    t.scheduler.snapshotArrived(running, 100);
    assert.deepEqual(t.drain(), [], 'its snapshot is not published either, and nothing settles on it');
    assert.equal(t.scheduler.latest?.seq, 2, 'kept as the latest (there is no current one)');
    assert.equal(t.finish(t.result(3)), true);
    assert.deepEqual(t.drain(), ['publish 3', 'settled 3']);
  });

  it('a stale snapshot does not replace one that matches the texts again', () => {
    const t = setup();
    t.edit('a.c', 'a1');
    t.turn();
    const edited = t.result(2);
    // Undone before the analysis of the edit is in: the first result matches again.
    t.edit('a.c', 'a0');
    t.scheduler.diagnosticsArrived(edited, 100);
    t.drain();
    assert.equal(t.scheduler.isCurrent(t.scheduler.latest!), true);
    t.scheduler.snapshotArrived(edited, 100);
    assert.equal(t.scheduler.latest?.seq, 1);
  });

  it('an edit undone within the turn reuses the last result: published again, no analysis', () => {
    const t = setup();
    t.edit('a.c', 'a1');
    t.edit('a.c', 'a0');
    t.turn();
    assert.deepEqual(t.drain(), ['send a.c', 'publish 1', 'settled 1']);
  });

  it('a change on disk or in the configuration makes the result stale', () => {
    const t = setup();
    t.scheduler.diskChanged();
    t.turn();
    assert.deepEqual(t.drain(), ['analyze 2', 'analyzing']);
    t.finish(t.result(2));
    t.drain();
    t.scheduler.configChanged();
    assert.equal(t.scheduler.isCurrent(t.scheduler.latest!), false);
  });

  it('a document whose text was analysed already gets the published diagnostics without an analysis', () => {
    const t = setup();
    t.scheduler.opened('a.c');
    t.turn();
    assert.deepEqual(t.drain(), ['publish 1']);
    t.texts.set('c.c', 'c1'); // not in the last analysis
    t.scheduler.opened('c.c');
    t.turn();
    assert.deepEqual(t.drain(), ['analyze 2', 'analyzing']);
  });

  it('a stale analysis is abandoned only once it runs longer than usual and longer than a restart costs', () => {
    const t = setup();
    // Cold analysis 1000 ms, index 500 ms: a restart costs about 1650 ms.
    t.edit('a.c', 'a1');
    t.turn();
    t.finish(t.result(2), 200);
    t.edit('a.c', 'a2');
    t.turn();
    t.drain();
    t.advance(1000);
    t.edit('a.c', 'a3');
    assert.deepEqual(t.abandoned, [], 'running 1000 ms: longer than usual (200 ms) but cheaper than a restart');
    t.advance(1000);
    t.edit('a.c', 'a4');
    assert.equal(t.abandoned.length, 1, 'running 2000 ms');
    assert.match(t.abandoned[0], /running 2000 ms, typically 200 ms; restarting costs about 1650 ms/);
  });

  it('a host that cannot be cancelled is waited for, however long', () => {
    const t = setup({ cancellable: false });
    t.edit('a.c', 'a1');
    t.turn();
    t.advance(60_000);
    t.edit('a.c', 'a2');
    assert.deepEqual(t.abandoned, []);
  });

  it('while the new host indexes nothing is abandoned; the clock starts when the index is done', () => {
    const t = setup();
    // A new model: a new host, whose analysis nothing done so far can stand in for.
    t.scheduler.configChanged();
    t.scheduler.hostStarted({ cancellable: true });
    t.scheduler.startIfIdle();
    assert.deepEqual(t.drain(), ['analyze 2'], 'asked for at once, no "analyzing" before the index is done');
    t.advance(10_000);
    t.edit('a.c', 'a1');
    t.scheduler.indexed(500);
    assert.deepEqual(t.abandoned, []);
    t.advance(1000);
    t.edit('a.c', 'a2');
    assert.deepEqual(t.abandoned, [], 'the cold analysis has run 1000 ms of its usual 1000');
  });

  it('a new host drops what was in flight and pending; stop cancels what is due', () => {
    const t = setup();
    t.edit('a.c', 'a1');
    t.turn();
    t.edit('a.c', 'a2');
    t.scheduler.hostStarted({ cancellable: true });
    t.scheduler.startIfIdle();
    assert.deepEqual(
      t.drain(),
      ['send a.c', 'analyze 2', 'analyzing', 'analyze 3'],
      'no second send (the new host gets every text), no "analyzing" while it indexes',
    );
    t.scheduler.stop();
    t.edit('a.c', 'a3');
    t.turn();
    assert.deepEqual(t.drain(), [], 'no host, nothing asked for');
  });
});
