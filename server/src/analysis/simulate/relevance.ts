// Which thread-local slots can change a verdict. A flag's value matters only where a test of it decides whether
// something shared happens (a lock, a walk, a free, a sleep) or whether another slot that matters is set. A test
// whose two ways meet again at its join with nothing shared on either way, and no way out of the region, cannot
// change an outcome: the slots only it reads are dropped from the state, so states that differ in them are one
// (the merge the value model allows without changing a verdict). Loops keep every slot they test.
import type { CondI, Instr, Program } from './program';

const memo = new WeakMap<Program, Uint8Array>();
const ways = new WeakMap<Program, (string | undefined)[]>();

/** relevant[slot] = 1 when the slot's value can change what the thread does to shared state. */
export function relevantSlots(program: Program): Uint8Array {
  let out = memo.get(program);
  if (!out) memo.set(program, (out = compute(program)));
  return out;
}

/**
 * The test at pc decides something: its two ways lead to different next steps that matter. When it does not, a
 * witness may take either way (the explorer does not keep the values it tests): both lead to the same shared steps.
 */
export function branchDecides(program: Program, pc: number): boolean {
  const i = program.instrs[pc];
  if (i.op !== 'branch') return true;
  let next = ways.get(program);
  if (!next) ways.set(program, (next = frontiers(program.instrs, relevantSlots(program))));
  const a = next[i.then];
  return a === undefined || a !== next[i.else];
}

function condSlots(c: CondI, out: number[] = []): number[] {
  if (c.k === 'flag') out.push(c.slot);
  else if (c.k === 'isnull' && 'slot' in c.src) out.push(c.src.slot);
  else if (c.k === 'not') condSlots(c.c, out);
  else if (c.k === 'and' || c.k === 'or') {
    condSlots(c.a, out);
    condSlots(c.b, out);
  }
  return out;
}

/** A step another thread can observe or that a verdict reads: everything but jumps, choices, local copies and tests. */
function isShared(i: Instr): boolean {
  switch (i.op) {
    case 'jump':
    case 'choice':
      return false;
    case 'assign':
      return !!i.src && 'field' in i.src;
    case 'branch':
      return condSlots(i.cond).length === 0 && i.cond.k !== 'unknown' ? true : false;
    default:
      return true;
  }
}

function compute(program: Program): Uint8Array {
  const { instrs } = program;
  const relevant = new Uint8Array(program.slots);
  const mark = (slot: number): boolean => (relevant[slot] ? false : ((relevant[slot] = 1), true));
  // Slots read as pointers (walked, freed, stored, tested for NULL) and the blockability a sleep reads.
  for (const i of instrs) {
    if ((i.op === 'deref' || i.op === 'free') && 'slot' in i.src) mark(i.src.slot);
    else if (i.op === 'write' && typeof i.value === 'object' && 'slot' in i.value) mark(i.value.slot);
    else if (i.op === 'sleep') mark(i.slot);
    else if (i.op === 'branch' && i.guard) condSlots(i.cond).forEach(mark);
  }
  const worthTracking = knowable(program);
  for (let changed = true; changed;) {
    changed = false;
    const next = frontiers(instrs, relevant);
    instrs.forEach((i, pc) => {
      // A copy into a slot that matters makes its source matter.
      if (i.op === 'assign' && relevant[i.slot] && i.src && 'slot' in i.src) changed = mark(i.src.slot) || changed;
      if (i.op !== 'branch' || i.guard) return;
      const slots = condSlots(i.cond).filter((s) => worthTracking[s]);
      if (slots.every((s) => relevant[s])) return;
      // Both ways lead to the same next steps that matter: which way it went changes nothing.
      const a = next[i.then];
      const b = next[i.else];
      if (a !== undefined && a === b) return;
      void pc;
      for (const s of slots) changed = mark(s) || changed;
    });
  }
  return relevant;
}

/**
 * Flags worth a place in the state: those that can hold a known value (a constant, a trylock's result, the
 * blockability, or a copy of one of those), and those tested more than once (two tests of one unknown must agree).
 * A pointer tested once and never known (if (!from) return;) is left unknown: tracking it would only split states.
 */
function knowable(program: Program): Uint8Array {
  const { instrs } = program;
  const out = new Uint8Array(program.slots);
  const tests = new Uint8Array(program.slots);
  for (const i of instrs) {
    if (i.op === 'assign' && i.flag) out[i.slot] = 1;
    else if (i.op === 'trylock') out[i.slot] = 1;
    else if (i.op === 'sleep') out[i.slot] = 1;
    else if (i.op === 'branch') for (const s of condSlots(i.cond)) tests[s] = Math.min(2, tests[s] + 1);
  }
  for (let s = 0; s < out.length; s++) if (tests[s] > 1) out[s] = 1;
  // Copies carry knowledge both ways (a symbol ties source and copy).
  for (let changed = true; changed;) {
    changed = false;
    for (const i of instrs) {
      if (i.op !== 'assign' || !i.src || !('slot' in i.src)) continue;
      const a = i.slot;
      const b = i.src.slot;
      if (out[a] !== out[b]) {
        out[a] = out[b] = 1;
        changed = true;
      }
    }
  }
  return out;
}

const MANY = '*';

/**
 * For each pc, the first steps that matter reachable from it through steps that do not (a shared step, or an
 * assignment of a relevant slot), as a key; MANY when there are too many to compare.
 */
function frontiers(instrs: readonly Instr[], relevant: Uint8Array): (string | undefined)[] {
  const n = instrs.length;
  const sets = new Array<Set<number> | undefined>(n);
  const matters = (i: Instr): boolean =>
    isShared(i) || ((i.op === 'assign' || i.op === 'trylock') && relevant[i.slot] === 1);
  for (let pc = 0; pc < n; pc++) sets[pc] = matters(instrs[pc]) ? new Set([pc]) : new Set();
  const succ = (i: Instr): number[] =>
    i.op === 'jump'
      ? [i.target]
      : i.op === 'branch'
        ? [i.then, i.else]
        : i.op === 'choice'
          ? i.targets
          : i.op === 'end'
            ? []
            : [i.next];
  const overflow = new Uint8Array(n);
  for (let changed = true; changed;) {
    changed = false;
    for (let pc = n - 1; pc >= 0; pc--) {
      const i = instrs[pc];
      if (matters(i) || overflow[pc]) continue;
      const mine = sets[pc]!;
      for (const s of succ(i)) {
        if (s < 0 || s >= n) continue;
        if (overflow[s]) {
          overflow[pc] = 1;
          changed = true;
          break;
        }
        for (const x of sets[s]!) {
          if (!mine.has(x)) {
            mine.add(x);
            changed = true;
          }
        }
      }
      if (mine.size > 16) overflow[pc] = 1;
    }
  }
  return sets.map((set, pc) => (overflow[pc] ? MANY + pc : [...set!].sort((a, b) => a - b).join(',')));
}
