// Names the story a hazard's witness tells, as one of the historical bug classes of KVM arm's stage-2 teardown
// (see ../shared/domain/stage2-lifetime.md), or the general "may be freed concurrently".
import type { Hazard, ThreadSpec } from '../simulate/explore';
import { NULLV, TABLES } from '../simulate/explore';
import type { Instr } from '../simulate/program';

export type FindingClass =
  | 'teardown-without-lock'
  | 'stale-after-lock-drop'
  | 'unguarded-notifier-path'
  | 'cleared-outside-lock'
  | 'may-be-freed';

export const classTitles: Record<FindingClass, string> = {
  'teardown-without-lock': 'teardown walks the tables without the lock',
  'stale-after-lock-drop': 'stale pointer used after the lock was dropped',
  'unguarded-notifier-path': 'mmu-notifier path dereferences the root without checking it',
  'cleared-outside-lock': 'pointer freed or cleared outside the lock',
  'may-be-freed': 'may be freed concurrently',
};

export function classify(h: Hazard, threads: readonly ThreadSpec[], lock: string, context: string): FindingClass {
  const instrOf = (t: number, pc: number): Instr => threads[t].program.instrs[pc];
  const steps = h.witness;
  const hazardIndex = steps.length - 1;

  if (h.kind === 'concurrent-teardown') {
    return h.partner && !h.partner.heldByPartner.includes(lock) ? 'teardown-without-lock' : 'may-be-freed';
  }
  if (h.kind === 'double-free') return 'cleared-outside-lock';

  // Where the dereferenced value was read from the field, following copies between locals backwards.
  const instr = instrOf(h.thread, h.pc);
  let readIndex = -1;
  if (instr.op === 'deref' && 'slot' in instr.src) {
    const slots = new Set([instr.src.slot]);
    for (let i = hazardIndex - 1; i >= 0; i--) {
      const st = steps[i];
      if (st.thread !== h.thread) continue;
      const a = instrOf(st.thread, st.pc);
      if (a.op !== 'assign' || !slots.has(a.slot)) continue;
      if (!a.src) break;
      if ('field' in a.src) {
        readIndex = i;
        break;
      }
      slots.delete(a.slot);
      slots.add(a.src.slot);
    }
  }

  // The thread read the pointer, dropped the lock, someone freed or cleared it, and the thread used its copy.
  if (readIndex >= 0) {
    let dropped = false;
    for (let i = readIndex + 1; i < hazardIndex; i++) {
      const st = steps[i];
      const a = instrOf(st.thread, st.pc);
      if (st.thread === h.thread && (a.op === 'unlock' || a.op === 'resched-drop') && a.lock === lock && !st.held.includes(lock)) dropped = true;
      if (dropped && st.thread !== h.thread && (a.op === 'free' || (a.op === 'write' && a.value === 'null'))) return 'stale-after-lock-drop';
    }
  }

  // The tables were freed while the pointer still led to them, or the pointer was cleared without the lock: a
  // check made under the lock could pass and still walk freed tables.
  const last = steps[hazardIndex];
  if (h.kind === 'use-after-free') {
    if (last.field === TABLES) return 'cleared-outside-lock';
    for (let i = 0; i < hazardIndex; i++) {
      const st = steps[i];
      const a = instrOf(st.thread, st.pc);
      if (st.thread !== h.thread && a.op === 'write' && a.value === 'null' && !st.held.includes(lock)) return 'cleared-outside-lock';
    }
  }

  const checked = steps.slice(0, hazardIndex).some((st) => {
    const a = instrOf(st.thread, st.pc);
    return st.thread === h.thread && a.op === 'branch' && a.guard;
  });
  if (!checked && context === 'mmu-notifier' && (h.kind === 'null-deref' || last.field === NULLV || h.kind === 'use-after-free')) {
    return 'unguarded-notifier-path';
  }
  return 'may-be-freed';
}
