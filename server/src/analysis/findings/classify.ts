// Names the story a hazard's witness tells, as one of the historical bug classes of KVM arm's stage-2 teardown
// (see ../shared/domain/stage2-lifetime.md), or the general "may be freed concurrently".
import type { Hazard, ThreadSpec } from '../simulate/explore';
import { TABLES } from '../simulate/explore';
import type { CondI, Instr } from '../simulate/program';

export type FindingClass =
  | 'teardown-without-lock'
  | 'stale-after-lock-drop'
  | 'unguarded-notifier-path'
  | 'cleared-outside-lock'
  | 'sleeps-in-nonblocking-context'
  | 'may-be-freed';

export const classTitles: Record<FindingClass, string> = {
  'teardown-without-lock': 'teardown walks the tables without the lock',
  'stale-after-lock-drop': 'stale pointer used after the lock was dropped',
  'unguarded-notifier-path': 'mmu-notifier path dereferences the root without checking it',
  'cleared-outside-lock': 'pointer freed or cleared outside the lock',
  'sleeps-in-nonblocking-context': 'walk may sleep in a call that is not allowed to block',
  'may-be-freed': 'may be freed concurrently',
};

export function classify(h: Hazard, threads: readonly ThreadSpec[], lock: string, context: string): FindingClass {
  const instrOf = (t: number, pc: number): Instr => threads[t].program.instrs[pc];
  const steps = h.witness;
  const hazardIndex = steps.length - 1;

  if (h.kind === 'sleeps-in-nonblocking') return 'sleeps-in-nonblocking-context';
  if (h.kind === 'concurrent-teardown') {
    return h.partner && !h.partner.heldByPartner.includes(lock) ? 'teardown-without-lock' : 'may-be-freed';
  }
  // The free side: the other threads' frees and clears in the witness.
  const freeSide = steps
    .map((st, i) => ({ st, i, a: instrOf(st.thread, st.pc) }))
    .filter(({ st, a }) => st.thread !== h.thread && (a.op === 'free' || (a.op === 'write' && a.value === 'null')));

  // What the thread last learned about the pointer (a test, or a read of the field), following copies backwards.
  const instr = instrOf(h.thread, h.pc);
  let learnedAt = -1;
  if (instr.op === 'deref' && 'slot' in instr.src) {
    const slots = new Set([instr.src.slot]);
    for (let i = hazardIndex - 1; i >= 0; i--) {
      const st = steps[i];
      if (st.thread !== h.thread) continue;
      const a = instrOf(st.thread, st.pc);
      if (a.op !== 'assign' || !slots.has(a.slot)) continue;
      if (!a.src) break;
      if ('field' in a.src) {
        learnedAt = i;
        break;
      }
      slots.delete(a.slot);
      slots.add(a.src.slot);
    }
  }
  // Only a test that saw the tables taught the thread anything (a test of an unknown value did not).
  const guardedAt = steps.findLastIndex(
    (st, i) => i < hazardIndex && st.thread === h.thread && isGuard(instrOf(st.thread, st.pc)) && st.seen === TABLES,
  );
  // A freed pointer was good when it was read. A NULL one was known good only at the last test of the field
  // itself: a test of some other local (pud in an earlier walk) says nothing about a fresh read of the root.
  const fieldGuardAt = steps.findLastIndex(
    (st, i) => i < hazardIndex && st.thread === h.thread && testsField(instrOf(st.thread, st.pc)) && st.seen === TABLES,
  );
  // A test of a copy teaches nothing newer than the read the copy came from (a stale copy still looks non-NULL);
  // only a test of the field itself can move what the thread knows past that read.
  if (h.kind === 'null-deref') learnedAt = fieldGuardAt;
  else if (learnedAt < 0) learnedAt = guardedAt;
  else if (fieldGuardAt > learnedAt) learnedAt = fieldGuardAt;

  // It learned the pointer was good, dropped the lock, someone freed or cleared it, and it went on as if nothing
  // happened: every fact learned under the lock is stale after the drop (fixed by re-checking after the drop).
  if (learnedAt >= 0 && h.kind !== 'double-free') {
    let dropped = false;
    for (let i = learnedAt + 1; i < hazardIndex; i++) {
      const st = steps[i];
      const a = instrOf(st.thread, st.pc);
      if (
        st.thread === h.thread &&
        (a.op === 'unlock' || a.op === 'resched-drop') &&
        a.lock === lock &&
        !st.held.includes(lock)
      )
        dropped = true;
      if (dropped && st.thread !== h.thread && (a.op === 'free' || (a.op === 'write' && a.value === 'null')))
        return 'stale-after-lock-drop';
    }
  }

  // Freed while the pointer still published the tables, or freed twice: the free path must test and clear the
  // pointer under the lock and free only after (fixed by doing exactly that).
  const last = steps[hazardIndex];
  if (h.kind === 'double-free') return 'cleared-outside-lock';
  if (h.kind === 'use-after-free' && last.field === TABLES) return 'cleared-outside-lock';

  // A notifier path that never tests the pointer and meets NULL or freed tables (fixed by a test in the hook).
  if (guardedAt < 0 && context === 'mmu-notifier') return 'unguarded-notifier-path';

  // It tested the pointer under the lock, but the free side cleared it without holding that lock, or freed the
  // tables while the pointer still published them.
  const unserialized = ({ st, a }: (typeof freeSide)[number]): boolean =>
    (a.op === 'write' && !st.held.includes(lock)) || (a.op === 'free' && st.field === TABLES);
  if (freeSide.some((x) => x.i > guardedAt && unserialized(x))) return 'cleared-outside-lock';
  return 'may-be-freed';
}

function isGuard(a: Instr): boolean {
  return a.op === 'branch' && a.guard;
}

function testsField(a: Instr): boolean {
  const onField = (c: CondI): boolean =>
    c.k === 'isnull'
      ? 'field' in c.src
      : c.k === 'not'
        ? onField(c.c)
        : c.k === 'and' || c.k === 'or'
          ? onField(c.a) || onField(c.b)
          : false;
  return a.op === 'branch' && a.guard && onField(a.cond);
}
