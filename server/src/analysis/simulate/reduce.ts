// What the explorer needs to skip interleavings that cannot matter (a partial-order reduction). While thread t
// holds lock L, another thread u can only do what it can reach without acquiring L; if none of that conflicts with
// t's next step, running t's step first loses no outcome. Per program this module precomputes, for every pc and
// every kind of conflicting access, whether such an access is reachable at all and which locks must be acquired on
// every way to it ("barriers").
import type { Instr, Program, Src } from './program';

/** Kinds of access another thread's step can conflict with. */
export const enum Access {
  /** Reads the shared field (a copy, a test, a dereference or free through it). */
  ReadField = 0,
  WriteField = 1,
  Free = 2,
  Deref = 3,
}
const ACCESS_KINDS = 4;

export interface Barriers {
  /** reach[kind][pc]: an access of that kind is reachable from pc. */
  reach: Uint8Array[];
  /** Bit masks (over `locks`) of locks acquired, in any mode / exclusively, on every way from pc to such an access. */
  any: Uint32Array[];
  exclusive: Uint32Array[];
}

export function successorsOf(i: Instr): number[] {
  switch (i.op) {
    case 'branch':
      return [i.then, i.else];
    case 'choice':
      return i.targets;
    case 'jump':
      return [i.target];
    case 'end':
      return [];
    default:
      return [i.next];
  }
}

const readsField = (src: Src): boolean => 'field' in src;

/** The kinds of access an instruction performs (dereferences count whatever the value: the caller checks it). */
function accessesOf(i: Instr, condReadsField: (i: Extract<Instr, { op: 'branch' }>) => boolean): Access[] {
  switch (i.op) {
    case 'assign':
      return i.src && readsField(i.src) ? [Access.ReadField] : [];
    case 'branch':
      return condReadsField(i) ? [Access.ReadField] : [];
    case 'deref':
      return readsField(i.src) ? [Access.Deref, Access.ReadField] : [Access.Deref];
    case 'write':
      return typeof i.value === 'object' && readsField(i.value)
        ? [Access.WriteField, Access.ReadField]
        : [Access.WriteField];
    case 'free':
      return readsField(i.src) ? [Access.Free, Access.ReadField] : [Access.Free];
    default:
      return [];
  }
}

/**
 * `locks` maps each lock more than one thread uses to its bit. A resched-take counts as an acquisition only when the
 * lock is held on every way to the resched-drop just before it (otherwise the drop dropped nothing).
 */
export function barriersOf(
  program: Program,
  locks: ReadonlyMap<string, number>,
  condReadsField: (i: Extract<Instr, { op: 'branch' }>) => boolean,
): Barriers {
  const instrs = program.instrs;
  const n = instrs.length;
  const succ = instrs.map(successorsOf);
  const bitOf = (lock: string): number => {
    const b = locks.get(lock);
    return b === undefined ? 0 : 1 << b;
  };

  // Forward: locks held on every way to each pc (a greatest fixpoint; pcs no way reaches stay unvisited).
  const ALL = 0xffffffff >>> 0;
  const held = new Uint32Array(n).fill(ALL);
  const visited = new Uint8Array(n);
  if (n) {
    held[0] = 0;
    visited[0] = 1;
  }
  // Round robin until nothing changes: a resched-take reads what is held at its drop, which may still shrink.
  for (let changed = n > 0; changed;) {
    changed = false;
    for (let pc = 0; pc < n; pc++) {
      if (!visited[pc]) continue;
      const i = instrs[pc];
      let out = held[pc];
      if (i.op === 'lock') out |= bitOf(i.lock);
      else if (i.op === 'unlock' || i.op === 'resched-drop') out &= ~bitOf(i.lock);
      else if (i.op === 'resched-take' && dropped(pc)) out |= bitOf(i.lock);
      out >>>= 0;
      for (const s of succ[pc]) {
        const merged = visited[s] ? (held[s] & out) >>> 0 : out;
        if (!visited[s] || merged !== held[s]) {
          visited[s] = 1;
          held[s] = merged;
          changed = true;
        }
      }
    }
  }
  /** The resched-drop just before pc dropped its lock on every way there. */
  function dropped(pc: number): boolean {
    const i = instrs[pc];
    const d = pc > 0 ? instrs[pc - 1] : undefined;
    return (
      i.op === 'resched-take' && d?.op === 'resched-drop' && d.lock === i.lock && (held[pc - 1] & bitOf(i.lock)) !== 0
    );
  }

  const acquires = (pc: number, exclusiveOnly: boolean): number => {
    const i = instrs[pc];
    if (i.op === 'lock') return exclusiveOnly && i.mode !== 'exclusive' ? 0 : bitOf(i.lock);
    if (i.op === 'resched-take' && dropped(pc)) return exclusiveOnly && i.mode !== 'exclusive' ? 0 : bitOf(i.lock);
    return 0;
  };

  const preds: number[][] = instrs.map(() => []);
  succ.forEach((ss, pc) => ss.forEach((s) => preds[s].push(pc)));
  const kindsAt = instrs.map((i) => accessesOf(i, condReadsField));

  const reach: Uint8Array[] = [];
  const any: Uint32Array[] = [];
  const exclusive: Uint32Array[] = [];
  for (let kind = 0; kind < ACCESS_KINDS; kind++) {
    const r = new Uint8Array(n);
    const a = new Uint32Array(n).fill(ALL);
    const x = new Uint32Array(n).fill(ALL);
    // Backward: reach is a least fixpoint, the barrier masks a greatest one (ways that never reach an access
    // constrain nothing).
    const stack: number[] = [];
    for (let pc = 0; pc < n; pc++) {
      if (kindsAt[pc].includes(kind)) {
        r[pc] = 1;
        a[pc] = 0;
        x[pc] = 0;
        stack.push(pc);
      }
    }
    const inStack = new Uint8Array(n);
    stack.forEach((pc) => (inStack[pc] = 1));
    while (stack.length) {
      const pc = stack.pop()!;
      inStack[pc] = 0;
      for (const p of preds[pc]) {
        if (kindsAt[p].includes(kind)) continue;
        let na = ALL;
        let nx = ALL;
        let nr = 0;
        for (const s of succ[p]) {
          if (!r[s]) continue;
          nr = 1;
          na &= a[s];
          nx &= x[s];
        }
        na = (na | acquires(p, false)) >>> 0;
        nx = (nx | acquires(p, true)) >>> 0;
        if (nr !== r[p] || na !== a[p] || nx !== x[p]) {
          r[p] = nr;
          a[p] = na;
          x[p] = nx;
          if (!inStack[p]) {
            inStack[p] = 1;
            stack.push(p);
          }
        }
      }
    }
    reach.push(r);
    any.push(a);
    exclusive.push(x);
  }
  return { reach, any, exclusive };
}
