// How the explorer lays out a state: which word of a state's array holds what, for one exploration's threads.
import { relevantSlots } from './relevance';
import type { ThreadSpec } from './explore';
import type { CondI, Program, Src } from './program';

/**
 * Where each value lives in a state's words: every thread's pc (-1 once it ended), the field's value, whether the
 * tables are freed and by which thread (-1: not freed; freeing them again is a double free for anyone else), the
 * stale bits (threads that released a lock since they last read or tested the pointer: part of the state, so a
 * stale history -- read, drop, someone frees, retake, use -- is not merged with a fresh one reaching the same place),
 * three words per lock (exclusive holder or -1, shared holders, resched-dropped holders), then each thread's slots:
 * only those some step both sets and reads (a slot nothing sets stays unknown; one nothing reads cannot matter).
 * Keys are the words as UTF-16 code units (each word plus one, so -1 fits), hence at most MAX_THREADS threads.
 * The words are a plain array of small integers: V8 copies those inline, while a typed array this size gets a
 * separate backing store on every copy.
 */
export interface Layout {
  field: number;
  freed: number;
  freer: number;
  stale: number;
  /** The first word of lock l is locks + 3 * l. */
  locks: number;
  lockNames: string[];
  lockIndex: Map<string, number>;
  /** Per thread: the word of each of its program's slots, -1 for one the state does not keep. */
  slotWord: Int32Array[];
  /** Per thread: the slots kept, in word order. */
  keptSlots: number[][];
  size: number;
}

export const MAX_THREADS = 14;
/** In a lock's dropped word: a holder dropped it while holding it shared. */
export const DROPPED_SHARED = 1 << 15;

export function layoutOf(threads: readonly ThreadSpec[]): Layout {
  const lockIndex = new Map<string, number>();
  for (const th of threads)
    for (const i of th.program.instrs) if ('lock' in i && !lockIndex.has(i.lock)) lockIndex.set(i.lock, lockIndex.size);
  const n = threads.length;
  const locks = n + 4;
  let size = locks + 3 * lockIndex.size;
  const slotWord: Int32Array[] = [];
  const keptSlots: number[][] = [];
  for (const th of threads) {
    const { set, read } = slotUsesOf(th.program);
    const relevant = relevantSlots(th.program);
    const words = new Int32Array(th.program.slots).fill(-1);
    const kept: number[] = [];
    for (let slot = 0; slot < th.program.slots; slot++) {
      if (!set[slot] || !read[slot] || !relevant[slot]) continue;
      words[slot] = size++;
      kept.push(slot);
    }
    slotWord.push(words);
    keptSlots.push(kept);
  }
  return {
    field: n,
    freed: n + 1,
    freer: n + 2,
    stale: n + 3,
    locks,
    lockNames: [...lockIndex.keys()],
    lockIndex,
    slotWord,
    keptSlots,
    size,
  };
}

/** Which slots some instruction sets, and which some instruction reads (as a source, a test or a flag). */
function slotUsesOf(program: Program): { set: Uint8Array; read: Uint8Array } {
  const set = new Uint8Array(program.slots);
  const read = new Uint8Array(program.slots);
  const reads = (src: Src | undefined): void => {
    if (src && 'slot' in src) read[src.slot] = 1;
  };
  const readsCond = (c: CondI): void => {
    if (c.k === 'isnull') reads(c.src);
    // A test of a flag refines it (the way taken says what it holds): a set as well as a read.
    else if (c.k === 'flag') read[c.slot] = set[c.slot] = 1;
    else if (c.k === 'not') readsCond(c.c);
    else if (c.k === 'and' || c.k === 'or') {
      readsCond(c.a);
      readsCond(c.b);
    }
  };
  for (const i of program.instrs) {
    if (i.op === 'assign') {
      set[i.slot] = 1;
      reads(i.src);
      // A scalar copy gives an unknown source its symbol: it writes the source too.
      if (i.scalar && i.src && 'slot' in i.src) set[i.src.slot] = 1;
    } else if (i.op === 'trylock') set[i.slot] = 1;
    else if (i.op === 'sleep') read[i.slot] = 1;
    else if (i.op === 'branch') readsCond(i.cond);
    else if (i.op === 'deref' || i.op === 'free') reads(i.src);
    else if (i.op === 'write' && typeof i.value === 'object') reads(i.value);
  }
  return { set, read };
}
