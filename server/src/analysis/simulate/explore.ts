// Explores every interleaving of a few threads (one chain's thread and the teardown actors it can meet),
// breadth first with state hashing, so each hazard comes with a shortest witness. Values are abstract: a pointer
// is the stage-2 tables (T), NULL, or unknown; the tables are live or freed; locks have holders.
import type { CondI, Instr, Program, Src } from './program';
import { isLive, livenessOf, type Liveness } from './liveness';
import { Access, barriersOf, successorsOf, type Barriers } from './reduce';
import { DROPPED_SHARED, layoutOf, MAX_THREADS } from './layout';

export const UNKNOWN = 0;
export const TABLES = 1;
export const NULLV = 2;
/** Flag locals (bool locked): the two constants they are set to. */
export const TRUE = 3;
export const FALSE = 4;
/**
 * An unknown value that a copy made: SYM + s is "whatever slot s held", so a test of either slot decides both
 * (a flag copied into a parameter, then tested in the callee and again in the caller, takes one way).
 */
export const SYM = 8;

export interface ThreadSpec {
  name: string;
  program: Program;
  /** Teardown actors walk the tables to tear them down: their dereferences modify them. */
  mutates: boolean;
}

export type HazardKind =
  'null-deref' | 'use-after-free' | 'concurrent-teardown' | 'double-free' | 'sleeps-in-nonblocking';

export interface Step {
  thread: number;
  pc: number;
  /** For branches: which way it went (true = then), and the value the guard saw. */
  taken?: boolean;
  seen?: number;
  /** Locks this thread held after the step. */
  held: string[];
  /** The field's value and the tables' state after the step. */
  field: number;
  freed: boolean;
}

export interface Hazard {
  kind: HazardKind;
  thread: number;
  pc: number;
  /** The steps leading to the hazard, then the hazardous step itself (not executed). */
  witness: Step[];
  /** For concurrent-teardown: the teardown thread and its pending mutation. */
  partner?: { thread: number; pc: number; heldByPartner: string[] };
  /** Locks the hazardous thread holds at the hazard. */
  heldAtHazard: string[];
  /** What `classify` called it. */
  story: string;
}

export interface GuardSeen {
  thread: number;
  pc: number;
  held: string[];
}

export interface ExploreResult {
  hazards: Hazard[];
  states: number;
  complete: boolean;
  /** Guard branches that found the pointer NULL (thread, pc, locks held): the checks that made a chain safe. */
  guardsSawNull: GuardSeen[];
  /** Guard branches that found it non-NULL. */
  guardsSawTables: GuardSeen[];
}

/**
 * A state: its words (laid out by `Layout`) and the last step that led to it. Steps link back to the first, shared
 * between the states they lead to, so a witness is never copied while the search runs.
 */
interface State {
  w: number[];
  last: RawStep | undefined;
}

/**
 * A step as the search records it. `w` is the state right after it; only its lock, field and freed words are read
 * back (for the witness), and those never change in place once a step is recorded: local steps that run on in place
 * (jumps, copies between locals, forgetting dead slots) touch pcs, slots and stale bits alone.
 */
interface RawStep {
  prev: RawStep | undefined;
  thread: number;
  pc: number;
  taken?: boolean;
  seen?: number;
  w: number[];
}

export interface ExploreOptions {
  /**
   * Skip interleavings that cannot change an outcome, and forget values nothing reads again (on unless a test
   * compares against the full search).
   */
  reduce: boolean;
}

/**
 * `classify` names the kind of story a hazard's witness tells; one witness is kept for each distinct
 * (hazard, place, class), so one dereference can carry two historical bugs (v4.11's unmap_stage2_range has both
 * a stale pointer across cond_resched_lock and tables freed before the pointer is cleared).
 */
export function explore(
  threads: readonly ThreadSpec[],
  maxStates = 250_000,
  classify: (h: Hazard) => string = () => '',
  options: ExploreOptions = { reduce: true },
): ExploreResult {
  if (threads.length > MAX_THREADS) throw new Error(`lockpath: the explorer takes at most ${MAX_THREADS} threads`);
  const L = layoutOf(threads);
  const { field: FIELD, freed: FREED, freer: FREER, stale: STALE, locks: LOCKS, slotWord } = L;
  const nLocks = L.lockNames.length;
  const states: State[] = [];
  const seen = new Set<string>();
  const hazards: Hazard[] = [];
  const hazardKeys = new Set<string>();
  const classifyTries = new Map<string, number>();
  const guardsSawNull = new Map<string, GuardSeen>();
  const guardsSawTables = new Map<string, GuardSeen>();

  // A lock that only one thread ever touches excludes no one: its operations are that thread's local steps.
  const lockUsers = new Map<string, Set<number>>();
  threads.forEach((th, t) => {
    for (const i of th.program.instrs)
      if ('lock' in i) (lockUsers.get(i.lock) ?? lockUsers.set(i.lock, new Set()).get(i.lock)!).add(t);
  });
  const sharedLocks = new Set([...lockUsers].filter(([, users]) => users.size > 1).map(([lock]) => lock));
  const isLocal = (i: Instr): boolean => ('lock' in i ? !sharedLocks.has(i.lock) : isLocalStep(i));
  const localAt = threads.map((th) => Uint8Array.from(th.program.instrs, (i) => (isLocal(i) ? 1 : 0)));

  // The words a key is made of: all of them, or (for the reduction's join points) thread t's part -- its pc, the
  // shared values only t can have changed while the others stood still, the locks no other thread uses, its slots --
  // and the others' part: their pcs and slots, and the locks more than one thread uses.
  const lockWords = (shared: boolean): number[] =>
    L.lockNames.flatMap((name, l) =>
      sharedLocks.has(name) === shared ? [LOCKS + 3 * l, LOCKS + 3 * l + 1, LOCKS + 3 * l + 2] : [],
    );
  const slotWords = (t: number): number[] => L.keptSlots[t].map((slot) => slotWord[t][slot]);
  const ownFixed = [FIELD, FREED, FREER, STALE, ...lockWords(false)];
  const otherWords = threads.map((_, t) => [
    ...threads.flatMap((__, u) => (u === t ? [] : [u, ...slotWords(u)])),
    ...lockWords(true),
  ]);
  // One scratch array per key shape, so a key is one fromCharCode over an array of exactly its length.
  const fullScratch = new Array<number>(L.size).fill(0);
  const otherScratch = otherWords.map((words) => new Array<number>(words.length + 1).fill(0));
  /**
   * Thread t at pc (memoized): the words of its own key there, with only the slots live there (forgetDead has zeroed
   * the others by the time a key is taken), and the words of the kept slots dead there.
   */
  const atPc = threads.map(
    (th) => new Array<{ own: number[]; scratch: number[]; dead: number[] } | undefined>(th.program.instrs.length),
  );
  const wordsAt = (t: number, pc: number): { own: number[]; scratch: number[]; dead: number[] } => {
    let at = atPc[t][pc];
    if (!at) {
      const l = liveness[t];
      const live = L.keptSlots[t]
        .filter((slot) => !options.reduce || !l || isLive(l, pc, slot))
        .map((slot) => slotWord[t][slot]);
      const own = [t, ...ownFixed, ...live];
      const dead =
        options.reduce && l
          ? L.keptSlots[t].filter((slot) => !isLive(l, pc, slot)).map((slot) => slotWord[t][slot])
          : [];
      atPc[t][pc] = at = { own, scratch: new Array<number>(own.length + 1).fill(0), dead };
    }
    return at;
  };
  const key = (w: readonly number[]): string => {
    for (let i = 0; i < w.length; i++) fullScratch[i] = w[i] + 1;
    return String.fromCharCode.apply(null, fullScratch);
  };
  const partKey = (w: readonly number[], words: readonly number[], scratch: number[], prefix: number): string => {
    scratch[0] = prefix;
    for (let i = 0; i < words.length; i++) scratch[i + 1] = w[words[i]] + 1;
    return String.fromCharCode.apply(null, scratch);
  };

  const initial = new Array<number>(L.size).fill(0);
  initial[FIELD] = TABLES;
  initial[FREER] = -1;
  for (let l = 0; l < nLocks; l++) initial[LOCKS + 3 * l] = -1;
  /**
   * Join-point states settle() has run on from, whose outcomes are stored (see settle); the last call's, to add
   * once its outcomes are stored (an ample try that falls back to a full expansion stores nothing).
   */
  const settled = new Map<string, Set<string>>();
  let lastSettled: { bucket: Set<string>; mine: Set<string> } | undefined;
  const commitSettled = (): void => lastSettled?.mine.forEach((k) => lastSettled!.bucket.add(k));
  const landsMemo = new Map<Program, Int8Array>();
  const pushKeyed = (s: State, k: string): void => {
    if (seen.has(k)) return;
    seen.add(k);
    states.push(s);
  };
  const push = (s: State): void => pushKeyed(s, key(s.w));
  push({ w: initial, last: undefined });

  // Locks that order threads, as bits for the reduction (past 30 of them, a lock is simply never a barrier).
  const lockBits = new Map([...sharedLocks].slice(0, 30).map((lock, b) => [lock, b]));
  const lockBitOf = Int32Array.from(L.lockNames, (name) => lockBits.get(name) ?? -1);
  const heldScratch = new Array<number>(threads.length).fill(0);
  const condReadsField = (i: Extract<Instr, { op: 'branch' }>): boolean =>
    collectSrcs(i.cond).some((src) => 'field' in src);
  const lockSignature = [...lockBits.keys()].join(',');
  const barriers = threads.map((th) => {
    const cached = staticsOf(th.program).barriers;
    let b = cached.get(lockSignature);
    if (!b) cached.set(lockSignature, (b = barriersOf(th.program, lockBits, condReadsField)));
    return b;
  });
  const liveness = threads.map((th) => staticsOf(th.program).liveness);

  let complete = true;
  const live: boolean[] = threads.map(() => false);
  for (let i = 0; i < states.length; i++) {
    if (states.length > maxStates) {
      complete = false;
      break;
    }
    const s = states[i];
    // A thread that dereferences NULL or freed memory has crashed there: what it would do next is not explored.
    for (let t = 0; t < threads.length; t++)
      live[t] = s.w[t] >= 0 && !checkHazards(s, t, threads[t].program.instrs[s.w[t]]);
    // If one thread's next step commutes with everything the others can do before it lets go of a lock, taking it
    // alone loses no outcome. Unless that closes a cycle (then everyone moves, so no thread is put off forever).
    let reduced = false;
    for (let t = 0; options.reduce && t < threads.length && !reduced; t++) {
      if (!live[t]) continue;
      const first = aloneSteps(s, t, threads[t].program.instrs[s.w[t]]);
      if (!first) continue;
      const next = settle(first, t);
      const keys = next.map((n) => key(n.w));
      // Nothing left, or back to a stored state: a cycle may be closing, so every thread moves from here instead.
      if (!next.length || keys.some((k) => seen.has(k))) break;
      next.forEach((n, j) => pushKeyed(n, keys[j]));
      commitSettled();
      reduced = true;
    }
    if (reduced) continue;
    for (let t = 0; t < threads.length; t++) {
      if (!live[t]) continue;
      for (const next of settle(successors(s, t, threads[t].program.instrs[s.w[t]]), t)) push(next);
      commitSettled();
    }
  }
  return {
    hazards,
    states: states.length,
    complete,
    guardsSawNull: [...guardsSawNull.values()],
    guardsSawTables: [...guardsSawTables.values()],
  };

  function evalSrc(w: readonly number[], t: number, src: Src): number {
    if ('field' in src) return w[FIELD];
    const at = slotWord[t][src.slot];
    return at < 0 ? UNKNOWN : w[at];
  }

  function holds(w: readonly number[], t: number, l: number): boolean {
    return w[LOCKS + 3 * l] === t || (w[LOCKS + 3 * l + 1] & (1 << t)) !== 0;
  }

  function heldBy(w: readonly number[], t: number): string[] {
    const out: string[] = [];
    for (let l = 0; l < nLocks; l++) if (holds(w, t, l)) out.push(L.lockNames[l]);
    return out.sort();
  }

  /** The steps from the initial state to s. */
  function witnessOf(s: State): Step[] {
    const out: Step[] = [];
    for (let r = s.last; r; r = r.prev)
      out.push({
        thread: r.thread,
        pc: r.pc,
        taken: r.taken,
        seen: r.seen,
        held: heldBy(r.w, r.thread),
        field: r.w[FIELD],
        freed: r.w[FREED] === 1,
      });
    return out.reverse();
  }

  function record(kind: HazardKind, s: State, t: number, pc: number, partner?: Hazard['partner']): void {
    const site = `${kind}:${t}:${pc}`;
    // Each try rebuilds a witness; a site gets many, since a rarer story (a stale pointer) may come late.
    const tries = classifyTries.get(site) ?? 0;
    if (tries >= 1_000_000) return;
    classifyTries.set(site, tries + 1);
    const witness = witnessOf(s);
    witness.push({ thread: t, pc, held: heldBy(s.w, t), field: s.w[FIELD], freed: s.w[FREED] === 1 });
    const h: Hazard = { kind, thread: t, pc, witness, partner, heldAtHazard: heldBy(s.w, t), story: '' };
    h.story = classify(h);
    const k = `${site}:${h.story}`;
    if (hazardKeys.has(k)) return;
    hazardKeys.add(k);
    hazards.push(h);
  }

  function checkHazards(s: State, t: number, instr: Instr): boolean {
    const w = s.w;
    if (instr.op === 'deref') {
      const v = evalSrc(w, t, instr.src);
      const freed = w[FREED] === 1;
      if (v === NULLV) record('null-deref', s, t, w[t]);
      else if (v === TABLES && freed) record('use-after-free', s, t, w[t]);
      else if (v === TABLES) {
        let racing = false;
        // A teardown walk poised to modify the tables at the same moment, with no lock in common: a data race.
        for (let u = 0; u < threads.length; u++) {
          if (u === t || !threads[u].mutates || w[u] < 0) continue;
          const other = threads[u].program.instrs[w[u]];
          if (other.op === 'deref' && evalSrc(w, u, other.src) === TABLES) {
            record('concurrent-teardown', s, t, w[t], { thread: u, pc: w[u], heldByPartner: heldBy(w, u) });
            racing = true;
          }
        }
        return racing;
      }
      return v === NULLV || (v === TABLES && freed);
    } else if (instr.op === 'sleep') {
      checkSleep(s, t, instr);
    } else if (instr.op === 'free') {
      // One thread freeing the tables in two calls (kvm_pgtable_stage2_destroy, then kfree) is one teardown.
      if (evalSrc(w, t, instr.src) === TABLES && w[FREED] === 1 && w[FREER] !== t) {
        record('double-free', s, t, w[t]);
        return true;
      }
    }
    return false;
  }

  /** A sleep where the thread's blockability is not known to be true: some call of this entry may not block. */
  function checkSleep(s: State, t: number, instr: Extract<Instr, { op: 'sleep' }>): void {
    const program = threads[t].program;
    if (program.mayBlock === 'always') return;
    const at = program.blockableSlot >= 0 ? slotWord[t][program.blockableSlot] : -1;
    const v = at >= 0 ? s.w[at] : program.mayBlock === 'never' ? FALSE : UNKNOWN;
    if (v !== TRUE) record('sleeps-in-nonblocking', s, t, s.w[t]);
    void instr;
  }

  /** Slots whose base was given a new value: unknown from here on. */
  function forget(w: number[], t: number, slots: readonly number[]): void {
    for (const slot of slots) {
      const at = slotWord[t][slot];
      if (at >= 0) w[at] = UNKNOWN;
    }
  }

  /** The value of a scalar copy's source; an unknown source is given its symbol first (kept in w). */
  function symbolic(w: number[], t: number, src: Src): number {
    if ('field' in src) return w[FIELD];
    const at = slotWord[t][src.slot];
    if (at < 0) return SYM + src.slot;
    if (w[at] === UNKNOWN) w[at] = SYM + src.slot;
    return w[at];
  }

  /** After a test of flags took one way: the flags it tested (and every slot sharing their symbol) now say so. */
  function refine(w: number[], t: number, c: CondI, truth: boolean): void {
    switch (c.k) {
      case 'flag': {
        const at = slotWord[t][c.slot];
        if (at < 0) return;
        const v = w[at];
        const to = truth ? TRUE : FALSE;
        if (v === UNKNOWN) w[at] = to;
        else if (v >= SYM) for (const slot of L.keptSlots[t]) if (w[slotWord[t][slot]] === v) w[slotWord[t][slot]] = to;
        return;
      }
      case 'not':
        return refine(w, t, c.c, !truth);
      case 'and':
        if (truth) {
          refine(w, t, c.a, true);
          refine(w, t, c.b, true);
        }
        return;
      case 'or':
        if (!truth) {
          refine(w, t, c.a, false);
          refine(w, t, c.b, false);
        }
        return;
    }
  }

  /** A copy of s's words with thread t at pc: the next state, to change before it is recorded (see stepped). */
  function moved(s: State, t: number, pc: number): number[] {
    const w = s.w.slice();
    w[t] = pc;
    return w;
  }

  /** The state t's step from s made, once its words are final. */
  function stepped(s: State, t: number, w: number[], taken?: boolean, seen?: number): State {
    return { w, last: { prev: s.last, thread: t, pc: s.w[t], taken, seen, w } };
  }

  function successors(s: State, t: number, instr: Instr): State[] {
    const bit = 1 << t;
    switch (instr.op) {
      case 'lock': {
        const base = LOCKS + 3 * L.lockIndex.get(instr.lock)!;
        const ex = s.w[base];
        const sh = s.w[base + 1];
        if (ex === t || (sh & bit) !== 0) return [stepped(s, t, moved(s, t, instr.next))]; // already held: nested or core-held
        const free = instr.mode === 'exclusive' ? ex < 0 && sh === 0 : ex < 0;
        if (!free) return [];
        const w = moved(s, t, instr.next);
        if (instr.mode === 'exclusive') w[base] = t;
        else w[base + 1] |= bit;
        return [stepped(s, t, w)];
      }
      case 'unlock':
      case 'resched-drop': {
        const base = LOCKS + 3 * L.lockIndex.get(instr.lock)!;
        const w = moved(s, t, instr.next);
        if (w[base] !== t && (w[base + 1] & bit) === 0) return [stepped(s, t, w)];
        const shared = w[base] !== t;
        if (!shared) w[base] = -1;
        w[base + 1] &= ~bit;
        if (instr.op === 'resched-drop') w[base + 2] |= bit | (shared ? DROPPED_SHARED : 0);
        w[STALE] |= bit;
        return [stepped(s, t, w)];
      }
      case 'resched-take': {
        const base = LOCKS + 3 * L.lockIndex.get(instr.lock)!;
        if ((s.w[base + 2] & bit) === 0) return [stepped(s, t, moved(s, t, instr.next))];
        const free = instr.mode === 'exclusive' ? s.w[base] < 0 && s.w[base + 1] === 0 : s.w[base] < 0;
        if (!free) return [];
        const w = moved(s, t, instr.next);
        w[base + 2] &= ~bit;
        if (instr.mode === 'exclusive') w[base] = t;
        else w[base + 1] |= bit;
        return [stepped(s, t, w)];
      }
      case 'trylock': {
        const base = LOCKS + 3 * L.lockIndex.get(instr.lock)!;
        const w = moved(s, t, instr.next);
        const free =
          instr.mode === 'exclusive' ? w[base] < 0 && w[base + 1] === 0 : w[base] < 0 && (w[base + 1] & bit) === 0;
        if (free) {
          if (instr.mode === 'exclusive') w[base] = t;
          else w[base + 1] |= bit;
        }
        const at = slotWord[t][instr.slot];
        if (at >= 0) w[at] = free ? TRUE : FALSE;
        return [stepped(s, t, w)];
      }
      case 'sleep':
        return [stepped(s, t, moved(s, t, instr.next))];
      case 'assign': {
        const w = moved(s, t, instr.next);
        const at = slotWord[t][instr.slot];
        if (at >= 0)
          w[at] =
            instr.scalar && instr.src ? symbolic(w, t, instr.src) : assignedValue(instr, (src) => evalSrc(s.w, t, src));
        if (instr.clears) forget(w, t, instr.clears);
        if (instr.src && 'field' in instr.src) w[STALE] &= ~bit;
        return [stepped(s, t, w)];
      }
      case 'deref':
        return [stepped(s, t, moved(s, t, instr.next))];
      case 'write': {
        const v =
          typeof instr.value === 'string' ? (instr.value === 'null' ? NULLV : TABLES) : evalSrc(s.w, t, instr.value);
        const w = moved(s, t, instr.next);
        w[FIELD] = v === NULLV ? NULLV : TABLES;
        return [stepped(s, t, w)];
      }
      case 'free': {
        const w = moved(s, t, instr.next);
        if (evalSrc(s.w, t, instr.src) === TABLES && w[FREED] === 0) {
          w[FREED] = 1;
          w[FREER] = t;
        }
        return [stepped(s, t, w)];
      }
      case 'branch': {
        const v = evalCond(instr.cond, (src) => evalSrc(s.w, t, src));
        const srcs = instr.guard ? collectSrcs(instr.cond) : [];
        if (instr.guard) noteGuard(instr, s, t);
        const seenValue = srcs.length ? evalSrc(s.w, t, srcs[0]) : undefined;
        const out: State[] = [];
        const way = (pc: number, taken: boolean): State => {
          const w = moved(s, t, pc);
          if (instr.guard) w[STALE] &= ~bit;
          if (v === undefined) refine(w, t, instr.cond, taken);
          return stepped(s, t, w, taken, seenValue);
        };
        if (v !== false) out.push(way(instr.then, true));
        if (v !== true) out.push(way(instr.else, false));
        return out;
      }
      case 'choice':
        return instr.targets.map((pc) => stepped(s, t, moved(s, t, pc)));
      case 'jump':
        return [stepped(s, t, moved(s, t, instr.target))];
      case 'end': {
        // A thread that ends still holding a lock (an analysis gap, not kernel behaviour) must not block others.
        const w = moved(s, t, -1);
        for (let l = 0; l < nLocks; l++) {
          if (w[LOCKS + 3 * l] === t) w[LOCKS + 3 * l] = -1;
          w[LOCKS + 3 * l + 1] &= ~bit;
        }
        return [stepped(s, t, w)];
      }
    }
  }

  /**
   * Runs thread t's local steps (jumps, choices, copies between locals, tests of locals) right away: they touch
   * nothing another thread can see, so interleaving them changes no outcome and only multiplies states. With the
   * reduction, t's shared steps that commute with what the others can do first (aloneSteps) run on here too.
   * Returns the states where t stops: where the others must be interleaved again, where it crashed, or where a
   * loop through shared steps closed.
   */
  function settle(next: State[], t: number): State[] {
    const program = threads[t].program;
    const out: State[] = [];
    const stack = next.map((x) => ({ x, eager: false }));
    const joins = staticsOf(program).joins;
    // Only thread t moves here, and never through a lock another thread uses: the rest of the state is the same
    // throughout, so join points are keyed by t's part alone, within the bucket of everything else.
    const bucketKey = next.length ? partKey(next[0].w, otherWords[t], otherScratch[t], t) : '';
    let bucket = settled.get(bucketKey);
    if (!bucket) settled.set(bucketKey, (bucket = new Set()));
    const mine = new Set<string>();
    lastSettled = { bucket, mine };
    while (stack.length) {
      // x is freshly made by successors(): its words are its own, so straight-line steps can update it in place;
      // only branching steps make copies. `eager`: it has run a shared step here (not only local ones).
      const { x, eager } = stack.pop()!;
      for (;;) {
        const pc = x.w[t];
        const ins = pc >= 0 ? program.instrs[pc] : undefined;
        if (!ins) {
          out.push(x);
          break;
        }
        const local = localAt[t][pc] === 1;
        if (!local && !options.reduce) {
          out.push(x);
          break;
        }
        if (joins[pc]) {
          // Ways meet only where a pc has two predecessors (every loop head is one): a state met there before was
          // run on from there already, by this call or by an earlier one whose outcomes are stored (what follows
          // depends on the state alone). A loop in this call through shared steps is stored, so the search sees
          // the cycle and lets the other threads move; a loop of local steps only brings nothing new.
          forgetDead(x, t);
          const own = wordsAt(t, pc);
          const k = partKey(x.w, own.own, own.scratch, 0);
          if (mine.has(k)) {
            if (eager) out.push(x);
            break;
          }
          if (bucket.has(k)) break;
          mine.add(k);
        }
        if (!local) {
          // A shared step runs here too when it commutes with everything the others can do first (see
          // aloneSteps); a hazard stops the thread where it is.
          if (checkHazards(x, t, ins)) {
            out.push(x);
            break;
          }
          const ys = aloneSteps(x, t, ins);
          if (!ys) {
            out.push(x);
            break;
          }
          for (const y of ys) stack.push({ x: y, eager: true });
          break;
        }
        if (ins.op === 'jump') {
          x.w[t] = ins.target;
          continue;
        }
        if (ins.op === 'assign' && (!ins.src || !('field' in ins.src))) {
          const w = x.w;
          const at = slotWord[t][ins.slot];
          x.last = { prev: x.last, thread: t, pc, w };
          if (at >= 0)
            w[at] = ins.scalar && ins.src ? symbolic(w, t, ins.src) : assignedValue(ins, (src) => evalSrc(w, t, src));
          if (ins.clears) forget(w, t, ins.clears);
          w[t] = ins.next;
          continue;
        }
        if (ins.op === 'sleep') checkSleep(x, t, ins);
        for (const y of successors(x, t, ins)) {
          // A choice is no step of its own in a witness: the way taken shows in what follows.
          if (ins.op === 'choice') y.last = x.last;
          stack.push({ x: y, eager });
        }
        break;
      }
    }
    return out.map((x) => forgetDead(x, t));
  }

  /**
   * Thread t's next states when its step (at s, not local) commutes with everything the others can do before t
   * lets go of a lock it holds, so taking it alone loses no outcome; undefined when it does not.
   */
  function aloneSteps(s: State, t: number, instr: Instr): State[] | undefined {
    if (!commutes(s, t, instr, false)) return undefined;
    const next = successors(s, t, instr);
    // Landing on a dereference is visible to the concurrent-teardown check: then the step must commute with the
    // other threads' dereferences too. (Local steps after it do not change where it lands for that check's sake:
    // they are never dereferences.)
    const program = threads[t].program;
    if (next.some((n) => n.w[t] >= 0 && landsOnDeref(program, n.w[t])) && !commutes(s, t, instr, true))
      return undefined;
    return next;
  }

  /** The first shared step from pc (through local steps, any way at choices and local tests) is a dereference. */
  function landsOnDeref(program: Program, pc: number): boolean {
    let memo = landsMemo.get(program);
    if (!memo) landsMemo.set(program, (memo = new Int8Array(program.instrs.length).fill(-1)));
    if (memo[pc] < 0) memo[pc] = searchDeref(program, pc) ? 1 : 0;
    return memo[pc] === 1;
  }

  function searchDeref(program: Program, pc: number): boolean {
    const visited = new Set<number>();
    const stack = [pc];
    while (stack.length) {
      const p = stack.pop()!;
      if (p < 0 || visited.has(p)) continue;
      visited.add(p);
      const i = program.instrs[p];
      if (i.op === 'deref') return true;
      if (isLocal(i)) stack.push(...successorsOf(i));
    }
    return false;
  }

  /** Zeroes thread t's slots that nothing reads from its pc on (all of them once it ended), and its stale bit. */
  function forgetDead(x: State, t: number): State {
    const w = x.w;
    const pc = w[t];
    const l = liveness[t];
    if (pc < 0) w[STALE] &= ~(1 << t);
    if (!options.reduce || (pc >= 0 && !l)) return x;
    if (pc < 0) {
      for (const slot of L.keptSlots[t]) w[slotWord[t][slot]] = 0;
      return x;
    }
    const dead = wordsAt(t, pc).dead;
    for (let k = 0; k < dead.length; k++) w[dead[k]] = 0;
    return x;
  }

  /** The kinds of access (bits by Access) by another thread u that thread t's next step does not commute with. */
  function conflicts(s: State, t: number, instr: Instr, u: number): number {
    switch (instr.op) {
      case 'assign':
      case 'branch':
        return 1 << Access.WriteField;
      case 'write':
        return (1 << Access.ReadField) | (1 << Access.WriteField);
      case 'free': {
        const reads = 'field' in instr.src ? 1 << Access.WriteField : 0;
        return evalSrc(s.w, t, instr.src) === TABLES ? reads | (1 << Access.Deref) | (1 << Access.Free) : reads;
      }
      case 'deref': {
        // Only the tables can be freed or torn down under a dereference; an unknown pointer meets no one.
        if (evalSrc(s.w, t, instr.src) !== TABLES) return 0;
        let out = 1 << Access.Free;
        if (threads[t].mutates || threads[u].mutates) out |= 1 << Access.Deref;
        if ('field' in instr.src) out |= 1 << Access.WriteField;
        return out;
      }
      default:
        return 0;
    }
  }

  /** Thread t's next step commutes with whatever any other thread can do before t releases a lock it holds. */
  function commutes(s: State, t: number, instr: Instr, landsOnDeref: boolean): boolean {
    if (
      instr.op === 'lock' ||
      instr.op === 'trylock' ||
      instr.op === 'unlock' ||
      instr.op === 'resched-drop' ||
      instr.op === 'resched-take'
    )
      return false;
    const w = s.w;
    const held = heldScratch.fill(0);
    let tEx = 0;
    for (let l = 0; l < nLocks; l++) {
      const b = lockBitOf[l];
      if (b < 0) continue;
      const ex = w[LOCKS + 3 * l];
      const sh = w[LOCKS + 3 * l + 1];
      if (ex >= 0) held[ex] |= 1 << b;
      for (let u = 0; u < threads.length; u++) if (sh & (1 << u)) held[u] |= 1 << b;
      if (ex === t) tEx |= 1 << b;
    }
    const tAny = held[t];
    if (instr.op === 'end') return tAny === 0;
    for (let u = 0; u < threads.length; u++) {
      const pc = w[u];
      if (u === t || pc < 0) continue;
      const b: Barriers = barriers[u];
      let kinds = conflicts(s, t, instr, u);
      // Moving onto or off a dereference changes what the concurrent-teardown check sees.
      if ((landsOnDeref || instr.op === 'deref') && (threads[t].mutates || threads[u].mutates))
        kinds |= 1 << Access.Deref;
      for (let kind = 0; kinds; kind++, kinds >>>= 1) {
        if (!(kinds & 1) || !b.reach[kind][pc]) continue;
        // u must first acquire a lock t holds (and u does not hold it already, or its lock() would be a no-op).
        if ((((b.any[kind][pc] & tEx) | (b.exclusive[kind][pc] & tAny)) & ~held[u]) >>> 0 === 0) return false;
      }
    }
    return true;
  }

  function noteGuard(instr: Extract<Instr, { op: 'branch' }>, s: State, t: number): void {
    const values = new Set<number>();
    collectSrcs(instr.cond).forEach((src) => values.add(evalSrc(s.w, t, src)));
    const k = `${t}:${s.w[t]}`;
    if (values.has(NULLV) && !guardsSawNull.has(k))
      guardsSawNull.set(k, { thread: t, pc: s.w[t], held: heldBy(s.w, t) });
    if (values.has(TABLES) && !guardsSawTables.has(k))
      guardsSawTables.set(k, { thread: t, pc: s.w[t], held: heldBy(s.w, t) });
  }
}

/** The value an assignment stores: a flag constant, a copy of its source, or unknown. */
function assignedValue(i: Extract<Instr, { op: 'assign' }>, value: (src: Src) => number): number {
  return i.flag ? (i.flag === 'true' ? TRUE : FALSE) : i.src ? value(i.src) : UNKNOWN;
}

/** Steps that neither read nor write anything shared (the field, the tables, locks). */
function isLocalStep(i: Instr): boolean {
  switch (i.op) {
    case 'jump':
    case 'choice':
    case 'sleep':
      return true;
    case 'assign':
      return !i.src || !('field' in i.src);
    case 'branch':
      return collectSrcs(i.cond).every((src) => !('field' in src));
    default:
      return false;
  }
}

function collectSrcs(c: CondI): Src[] {
  switch (c.k) {
    case 'isnull':
      return [c.src];
    case 'not':
      return collectSrcs(c.c);
    case 'and':
    case 'or':
      return [...collectSrcs(c.a), ...collectSrcs(c.b)];
    default:
      return [];
  }
}

/** Three-valued: true, false, or undefined when it depends on something the analysis does not track. */
export function evalCond(c: CondI, value: (src: Src) => number): boolean | undefined {
  switch (c.k) {
    case 'isnull': {
      const v = value(c.src);
      return v === NULLV ? true : v === TABLES ? false : undefined;
    }
    case 'flag': {
      const v = value({ slot: c.slot });
      return v === TRUE ? true : v === FALSE ? false : v === NULLV ? false : v === TABLES ? true : undefined;
    }
    case 'not': {
      const v = evalCond(c.c, value);
      return v === undefined ? undefined : !v;
    }
    case 'and': {
      const a = evalCond(c.a, value);
      const b = evalCond(c.b, value);
      return a === false || b === false ? false : a === true && b === true ? true : undefined;
    }
    case 'or': {
      const a = evalCond(c.a, value);
      const b = evalCond(c.b, value);
      return a === true || b === true ? true : a === false && b === false ? false : undefined;
    }
    default:
      return undefined;
  }
}

/** What the explorer derives from a program alone, computed once per program (entries meet several actors). */
interface ProgramStatics {
  /** Pcs with more than one predecessor: where ways meet, every loop head among them. */
  joins: Uint8Array;
  liveness: Liveness | undefined;
  /** Barriers by the signature of the locks that order threads. */
  barriers: Map<string, Barriers>;
}

const statics = new WeakMap<Program, ProgramStatics>();

function staticsOf(program: Program): ProgramStatics {
  let st = statics.get(program);
  if (!st) {
    const preds = new Uint8Array(program.instrs.length);
    program.instrs.forEach((i) => successorsOf(i).forEach((to) => (preds[to] = Math.min(2, preds[to] + 1))));
    // pc 0 is entered from outside as well.
    if (preds.length) preds[0] = Math.min(2, preds[0] + 1);
    st = { joins: preds.map((n) => (n > 1 ? 1 : 0)), liveness: livenessOf(program), barriers: new Map() };
    statics.set(program, st);
  }
  return st;
}
