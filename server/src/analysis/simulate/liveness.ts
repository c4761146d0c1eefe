// Which thread-local slots can still be read from each pc. The explorer forgets dead slots, so two states that
// differ only in values nobody will read again are one state (without this, every value a finished loop left
// behind multiplies the states).
import type { CondI, Instr, Program, Src } from './program';
import { successorsOf } from './reduce';

/** Bit sets of live slots per pc, or undefined when the program is too large to be worth it. */
export interface Liveness {
  words: number;
  live: Uint32Array;
}

const MAX_BITS = 1 << 24;

export function livenessOf(program: Program): Liveness | undefined {
  const n = program.instrs.length;
  const words = Math.max(1, Math.ceil(program.slots / 32));
  if (n * words * 32 > MAX_BITS) return undefined;
  const uses = program.instrs.map(usesOf);
  const defs = program.instrs.map((i) => (i.op === 'assign' || i.op === 'trylock' ? i.slot : -1));
  const succ = program.instrs.map(successorsOf);
  const preds: number[][] = program.instrs.map(() => []);
  succ.forEach((ss, pc) => ss.forEach((s) => preds[s].push(pc)));
  const live = new Uint32Array(n * words);
  const queued = new Uint8Array(n).fill(1);
  // Backward problem: start from the last pc (popped first).
  const work = Array.from({ length: n }, (_, pc) => pc);
  const out = new Uint32Array(words);
  while (work.length) {
    const pc = work.pop()!;
    queued[pc] = 0;
    out.fill(0);
    for (const s of succ[pc]) for (let w = 0; w < words; w++) out[w] |= live[s * words + w];
    if (defs[pc] >= 0) out[defs[pc] >>> 5] &= ~(1 << (defs[pc] & 31));
    for (const slot of uses[pc]) out[slot >>> 5] |= 1 << (slot & 31);
    let changed = false;
    for (let w = 0; w < words; w++) {
      if (live[pc * words + w] !== out[w]) {
        live[pc * words + w] = out[w];
        changed = true;
      }
    }
    if (!changed) continue;
    for (const p of preds[pc]) {
      if (!queued[p]) {
        queued[p] = 1;
        work.push(p);
      }
    }
  }
  return { words, live };
}

export function isLive(l: Liveness, pc: number, slot: number): boolean {
  return (l.live[pc * l.words + (slot >>> 5)] & (1 << (slot & 31))) !== 0;
}

function usesOf(i: Instr): number[] {
  const out: number[] = [];
  const src = (s: Src | undefined): void => {
    if (s && 'slot' in s) out.push(s.slot);
  };
  const cond = (c: CondI): void => {
    if (c.k === 'isnull') src(c.src);
    else if (c.k === 'flag') out.push(c.slot);
    else if (c.k === 'not') cond(c.c);
    else if (c.k === 'and' || c.k === 'or') {
      cond(c.a);
      cond(c.b);
    }
  };
  switch (i.op) {
    case 'assign':
    case 'deref':
    case 'free':
      src(i.src);
      break;
    case 'write':
      if (typeof i.value === 'object') src(i.value);
      break;
    case 'branch':
      cond(i.cond);
      break;
    case 'sleep':
      out.push(i.slot);
      break;
  }
  return out;
}
