// Explores every interleaving of a few threads (one chain's thread and the teardown actors it can meet),
// breadth first with state hashing, so each hazard comes with a shortest witness. Values are abstract: a pointer
// is the stage-2 tables (T), NULL, or unknown; the tables are live or freed; locks have holders.
import type { CondI, Instr, Program, Src } from './program';
import { isLive, livenessOf, type Liveness } from './liveness';
import { Access, barriersOf, successorsOf, type Barriers } from './reduce';

export const UNKNOWN = 0;
export const TABLES = 1;
export const NULLV = 2;
/** Flag locals (bool locked): the two constants they are set to. */
export const TRUE = 3;
export const FALSE = 4;

export interface ThreadSpec {
  name: string;
  program: Program;
  /** Teardown actors walk the tables to tear them down: their dereferences modify them. */
  mutates: boolean;
}

export type HazardKind = 'null-deref' | 'use-after-free' | 'concurrent-teardown' | 'double-free';

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

interface State {
  pcs: number[];
  slots: Uint8Array[];
  /** Per thread, its non-zero slots as text: part of the state's key, rebuilt only when a slot changes. */
  slotKeys: string[];
  field: number;
  freed: boolean;
  /** The thread that freed the tables (-1: not freed): freeing them again is a double free for anyone else. */
  freer: number;
  /** lock -> exclusive holder (-1 none), shared holders bitmask, resched-dropped bitmask. */
  locks: LockTable;
  /**
   * Threads (bitmask) that released a lock since they last read or tested the pointer. Part of the state so that
   * a stale history (read, drop, someone frees, retake, use) is not merged with a fresh one reaching the same place.
   */
  staleSince: number;
  /** The last step that led here; steps link back to the first, shared between the states they lead to. */
  last: RawStep | undefined;
}

type LockTable = Map<string, { ex: number; sh: number; dropped: number }>;

/**
 * A step as the search records it: the lock table after it (shared, copy-on-write) instead of the held list, and
 * the step before it, so a witness is never copied while the search runs.
 */
interface RawStep {
  prev: RawStep | undefined;
  thread: number;
  pc: number;
  taken?: boolean;
  seen?: number;
  locks: LockTable;
  field: number;
  freed: boolean;
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
export function explore(threads: readonly ThreadSpec[], maxStates = 250_000, classify: (h: Hazard) => string = () => '', options: ExploreOptions = { reduce: true }): ExploreResult {
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
    for (const i of th.program.instrs) if ('lock' in i) (lockUsers.get(i.lock) ?? lockUsers.set(i.lock, new Set()).get(i.lock)!).add(t);
  });
  const sharedLocks = new Set([...lockUsers].filter(([, users]) => users.size > 1).map(([lock]) => lock));
  const isLocal = (i: Instr): boolean => ('lock' in i ? !sharedLocks.has(i.lock) : isLocalStep(i));

  const initial: State = {
    pcs: threads.map(() => 0),
    slots: threads.map((t) => new Uint8Array(t.program.slots)),
    slotKeys: threads.map(() => ''),
    field: TABLES,
    freed: false,
    freer: -1,
    locks: new Map(),
    staleSince: 0,
    last: undefined,
  };
  /**
   * Join-point states settle() has run on from, whose outcomes are stored (see settle); the last call's, to add
   * once its outcomes are stored (an ample try that falls back to a full expansion stores nothing).
   */
  const settled = new Map<string, Set<string>>();
  let lastSettled: { bucket: Set<string>; mine: Set<string> } | undefined;
  const commitSettled = (): void => lastSettled?.mine.forEach((k) => lastSettled!.bucket.add(k));
  /** The state but thread t's part: the other threads' places and slots, and the locks more than one thread uses. */
  const othersKey = (x: State, t: number): string => {
    let k = '';
    for (let u = 0; u < threads.length; u++) if (u !== t) k += `${x.pcs[u]}/${x.slotKeys[u]}|`;
    for (const [name, l] of x.locks) if (sharedLocks.has(name) && (l.ex >= 0 || l.sh || l.dropped)) k += `${name}:${l.ex},${l.sh},${l.dropped};`;
    return k;
  };
  /** Thread t's part of the state, with the shared values only t can have changed (as key() spells them). */
  const ownKey = (x: State, t: number): string => {
    let k = `${x.pcs[t]}|${x.field}${x.freed ? 1 : 0}${x.freer}${x.staleSince}|${x.slotKeys[t]}|`;
    for (const [name, l] of x.locks) if (!sharedLocks.has(name) && (l.ex >= 0 || l.sh || l.dropped)) k += `${name}:${l.ex},${l.sh},${l.dropped};`;
    return k;
  };
  const landsMemo = new Map<Program, Int8Array>();
  const pushKeyed = (s: State, k: string): void => {
    if (seen.has(k)) return;
    seen.add(k);
    states.push(s);
  };
  const push = (s: State): void => pushKeyed(s, key(s));
  push(initial);

  // Locks that order threads, as bits for the reduction (past 30 of them, a lock is simply never a barrier).
  const lockBits = new Map([...sharedLocks].slice(0, 30).map((lock, b) => [lock, b]));
  const condReadsField = (i: Extract<Instr, { op: 'branch' }>): boolean => collectSrcs(i.cond).some((src) => 'field' in src);
  const lockSignature = [...lockBits.keys()].join(',');
  const barriers = threads.map((th) => {
    const cached = staticsOf(th.program).barriers;
    let b = cached.get(lockSignature);
    if (!b) cached.set(lockSignature, (b = barriersOf(th.program, lockBits, condReadsField)));
    return b;
  });
  const liveness = threads.map((th) => staticsOf(th.program).liveness);

  let complete = true;
  for (let i = 0; i < states.length; i++) {
    if (states.length > maxStates) {
      complete = false;
      break;
    }
    const s = states[i];
    // A thread that dereferences NULL or freed memory has crashed there: what it would do next is not explored.
    const live = threads.map((th, t) => s.pcs[t] >= 0 && !checkHazards(s, t, th.program.instrs[s.pcs[t]]));
    // If one thread's next step commutes with everything the others can do before it lets go of a lock, taking it
    // alone loses no outcome. Unless that closes a cycle (then everyone moves, so no thread is put off forever).
    let reduced = false;
    for (let t = 0; options.reduce && t < threads.length && !reduced; t++) {
      if (!live[t]) continue;
      const first = aloneSteps(s, t, threads[t].program.instrs[s.pcs[t]]);
      if (!first) continue;
      const next = settle(first, t);
      const keys = next.map(key);
      // Nothing left, or back to a stored state: a cycle may be closing, so every thread moves from here instead.
      if (!next.length || keys.some((k) => seen.has(k))) break;
      next.forEach((n, j) => pushKeyed(n, keys[j]));
      commitSettled();
      reduced = true;
    }
    if (reduced) continue;
    for (let t = 0; t < threads.length; t++) {
      if (!live[t]) continue;
      for (const next of settle(successors(s, t, threads[t].program.instrs[s.pcs[t]]), t)) push(next);
      commitSettled();
    }
  }
  return { hazards, states: states.length, complete, guardsSawNull: [...guardsSawNull.values()], guardsSawTables: [...guardsSawTables.values()] };

  function evalSrc(s: State, t: number, src: Src): number {
    return 'field' in src ? s.field : s.slots[t][src.slot];
  }

  function heldBy(s: { locks: LockTable }, t: number): string[] {
    const out: string[] = [];
    for (const [name, l] of s.locks) if (l.ex === t || (l.sh & (1 << t)) !== 0) out.push(name);
    return out.sort();
  }

  /** The steps from the initial state to s. */
  function witnessOf(s: State): Step[] {
    const out: Step[] = [];
    for (let r = s.last; r; r = r.prev) out.push({ thread: r.thread, pc: r.pc, taken: r.taken, seen: r.seen, held: heldBy(r, r.thread), field: r.field, freed: r.freed });
    return out.reverse();
  }

  function record(kind: HazardKind, s: State, t: number, pc: number, partner?: Hazard['partner']): void {
    const site = `${kind}:${t}:${pc}`;
    // Each try rebuilds a witness; a site gets many, since a rarer story (a stale pointer) may come late.
    const tries = classifyTries.get(site) ?? 0;
    if (tries >= 1_000_000) return;
    classifyTries.set(site, tries + 1);
    const witness = witnessOf(s);
    witness.push({ thread: t, pc, held: heldBy(s, t), field: s.field, freed: s.freed });
    const h: Hazard = { kind, thread: t, pc, witness, partner, heldAtHazard: heldBy(s, t), story: '' };
    h.story = classify(h);
    const k = `${site}:${h.story}`;
    if (hazardKeys.has(k)) return;
    hazardKeys.add(k);
    hazards.push(h);
  }

  function checkHazards(s: State, t: number, instr: Instr): boolean {
    if (instr.op === 'deref') {
      const v = evalSrc(s, t, instr.src);
      if (v === NULLV) record('null-deref', s, t, s.pcs[t]);
      else if (v === TABLES && s.freed) record('use-after-free', s, t, s.pcs[t]);
      else if (v === TABLES) {
        let racing = false;
        // A teardown walk poised to modify the tables at the same moment, with no lock in common: a data race.
        for (let u = 0; u < threads.length; u++) {
          if (u === t || !threads[u].mutates || s.pcs[u] < 0) continue;
          const other = threads[u].program.instrs[s.pcs[u]];
          if (other.op === 'deref' && evalSrc(s, u, other.src) === TABLES) {
            record('concurrent-teardown', s, t, s.pcs[t], { thread: u, pc: s.pcs[u], heldByPartner: heldBy(s, u) });
            racing = true;
          }
        }
        return racing;
      }
      return v === NULLV || (v === TABLES && s.freed);
    } else if (instr.op === 'free') {
      // One thread freeing the tables in two calls (kvm_pgtable_stage2_destroy, then kfree) is one teardown.
      if (evalSrc(s, t, instr.src) === TABLES && s.freed && s.freer !== t) {
        record('double-free', s, t, s.pcs[t]);
        return true;
      }
    }
    return false;
  }

  function successors(s: State, t: number, instr: Instr): State[] {
    const move = (pc: number, change?: (n: State) => void, taken?: boolean, seen?: number): State => {
      // Spelled out, not spread: one object shape for every state keeps this hot path fast.
      const n: State = { pcs: s.pcs.slice(), slots: s.slots, slotKeys: s.slotKeys, field: s.field, freed: s.freed, freer: s.freer, locks: s.locks, staleSince: s.staleSince, last: undefined };
      n.pcs[t] = pc;
      if (change) change(n);
      n.last = { prev: s.last, thread: t, pc: s.pcs[t], taken, seen, locks: n.locks, field: n.field, freed: n.freed };
      return n;
    };
    const withSlots = (n: State): Uint8Array => {
      n.slots = [...s.slots];
      n.slots[t] = new Uint8Array(s.slots[t]);
      return n.slots[t];
    };
    const withLocks = (n: State): LockTable => {
      n.locks = new Map([...s.locks].map(([k, v]) => [k, { ...v }]));
      return n.locks;
    };
    const lockOf = (name: string) => s.locks.get(name) ?? { ex: -1, sh: 0, dropped: 0 };
    const bit = 1 << t;
    switch (instr.op) {
      case 'lock': {
        const l = lockOf(instr.lock);
        if (l.ex === t || (l.sh & bit) !== 0) return [move(instr.next)]; // already held: nested or core-held
        const free = instr.mode === 'exclusive' ? l.ex < 0 && l.sh === 0 : l.ex < 0;
        if (!free) return [];
        return [move(instr.next, (n) => {
          const m = withLocks(n);
          const cur = m.get(instr.lock) ?? { ex: -1, sh: 0, dropped: 0 };
          if (instr.mode === 'exclusive') cur.ex = t;
          else cur.sh |= bit;
          m.set(instr.lock, cur);
        })];
      }
      case 'unlock':
      case 'resched-drop': {
        const l = lockOf(instr.lock);
        if (l.ex !== t && (l.sh & bit) === 0) return [move(instr.next)];
        return [move(instr.next, (n) => {
          const m = withLocks(n);
          const cur = m.get(instr.lock)!;
          const mode = cur.ex === t ? 'exclusive' : 'shared';
          if (cur.ex === t) cur.ex = -1;
          cur.sh &= ~bit;
          if (instr.op === 'resched-drop') cur.dropped |= bit | (mode === 'shared' ? 1 << 30 : 0);
          n.staleSince |= bit;
        })];
      }
      case 'resched-take': {
        const l = lockOf(instr.lock);
        if ((l.dropped & bit) === 0) return [move(instr.next)];
        const free = instr.mode === 'exclusive' ? l.ex < 0 && l.sh === 0 : l.ex < 0;
        if (!free) return [];
        return [move(instr.next, (n) => {
          const cur = withLocks(n).get(instr.lock)!;
          cur.dropped &= ~bit;
          if (instr.mode === 'exclusive') cur.ex = t;
          else cur.sh |= bit;
        })];
      }
      case 'assign':
        return [move(instr.next, (n) => {
          const value = assignedValue(instr, (src) => evalSrc(s, t, src));
          if (s.slots[t][instr.slot] !== value) {
            const slots = withSlots(n);
            slots[instr.slot] = value;
            n.slotKeys = [...s.slotKeys];
            n.slotKeys[t] = slotKey(slots);
          }
          if (instr.src && 'field' in instr.src) n.staleSince &= ~bit;
        })];
      case 'deref':
        return [move(instr.next)];
      case 'write':
        return [move(instr.next, (n) => {
          const v = typeof instr.value === 'string' ? (instr.value === 'null' ? NULLV : TABLES) : evalSrc(s, t, instr.value);
          n.field = v === NULLV ? NULLV : TABLES;
        })];
      case 'free':
        return [move(instr.next, (n) => {
          if (evalSrc(s, t, instr.src) === TABLES && !n.freed) {
            n.freed = true;
            n.freer = t;
          }
        })];
      case 'branch': {
        const v = evalCond(instr.cond, (src) => evalSrc(s, t, src));
        const srcs = instr.guard ? collectSrcs(instr.cond) : [];
        if (instr.guard) noteGuard(instr, s, t);
        const seen = srcs.length ? evalSrc(s, t, srcs[0]) : undefined;
        const out: State[] = [];
        const learn = instr.guard ? (n: State): void => void (n.staleSince &= ~bit) : undefined;
        if (v !== false) out.push(move(instr.then, learn, true, seen));
        if (v !== true) out.push(move(instr.else, learn, false, seen));
        return out;
      }
      case 'choice':
        return instr.targets.map((pc) => move(pc));
      case 'jump':
        return [move(instr.target)];
      case 'end':
        return [move(-1, (n) => {
          // A thread that ends still holding a lock (an analysis gap, not kernel behaviour) must not block others.
          const held = heldBy(n, t);
          if (held.length) {
            const m = withLocks(n);
            for (const h of held) {
              const cur = m.get(h)!;
              if (cur.ex === t) cur.ex = -1;
              cur.sh &= ~bit;
            }
          }
        })];
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
    const bucketKey = next.length ? `${t}#${othersKey(next[0], t)}` : '';
    let bucket = settled.get(bucketKey);
    if (!bucket) settled.set(bucketKey, (bucket = new Set()));
    const mine = new Set<string>();
    lastSettled = { bucket, mine };
    while (stack.length) {
      // x is freshly made by successors(): its pcs are its own, so straight-line steps can update it in place;
      // only branching steps make copies. `eager`: it has run a shared step here (not only local ones).
      let { x, eager } = stack.pop()!;
      for (;;) {
        const pc = x.pcs[t];
        const ins = pc >= 0 ? program.instrs[pc] : undefined;
        if (!ins) {
          out.push(x);
          break;
        }
        const local = isLocal(ins);
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
          const k = ownKey(x, t);
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
          x.pcs[t] = ins.target;
          continue;
        }
        if (ins.op === 'assign' && (!ins.src || !('field' in ins.src))) {
          const value = assignedValue(ins, (src) => evalSrc(x, t, src));
          x.last = { prev: x.last, thread: t, pc, locks: x.locks, field: x.field, freed: x.freed };
          if (x.slots[t][ins.slot] !== value) {
            x.slots = [...x.slots];
            x.slots[t] = new Uint8Array(x.slots[t]);
            x.slots[t][ins.slot] = value;
            x.slotKeys = [...x.slotKeys];
            x.slotKeys[t] = slotKey(x.slots[t]);
          }
          x.pcs[t] = ins.next;
          continue;
        }
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
    if (next.some((n) => n.pcs[t] >= 0 && landsOnDeref(program, n.pcs[t])) && !commutes(s, t, instr, true)) return undefined;
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
    const pc = x.pcs[t];
    const l = liveness[t];
    if (pc < 0) x.staleSince &= ~(1 << t);
    if (!options.reduce || (pc >= 0 && !l)) return x;
    const slots = x.slots[t];
    let fresh: Uint8Array | undefined;
    for (let slot = 0; slot < slots.length; slot++) {
      if (slots[slot] === 0 || (pc >= 0 && isLive(l!, pc, slot))) continue;
      fresh ??= new Uint8Array(slots);
      fresh[slot] = 0;
    }
    if (fresh) {
      x.slots = [...x.slots];
      x.slots[t] = fresh;
      x.slotKeys = [...x.slotKeys];
      x.slotKeys[t] = slotKey(fresh);
    }
    return x;
  }

  /** The kinds of access by another thread u that thread t's next step does not commute with. */
  function conflicts(s: State, t: number, instr: Instr, u: number): Access[] {
    switch (instr.op) {
      case 'assign':
      case 'branch':
        return [Access.WriteField];
      case 'write':
        return [Access.ReadField, Access.WriteField];
      case 'free': {
        const reads = 'field' in instr.src ? [Access.WriteField] : [];
        return evalSrc(s, t, instr.src) === TABLES ? [...reads, Access.Deref, Access.Free] : reads;
      }
      case 'deref': {
        // Only the tables can be freed or torn down under a dereference; an unknown pointer meets no one.
        if (evalSrc(s, t, instr.src) !== TABLES) return [];
        const out = [Access.Free];
        if (threads[t].mutates || threads[u].mutates) out.push(Access.Deref);
        if ('field' in instr.src) out.push(Access.WriteField);
        return out;
      }
      default:
        return [];
    }
  }

  /** Thread t's next step commutes with whatever any other thread can do before t releases a lock it holds. */
  function commutes(s: State, t: number, instr: Instr, landsOnDeref: boolean): boolean {
    if (instr.op === 'lock' || instr.op === 'unlock' || instr.op === 'resched-drop' || instr.op === 'resched-take') return false;
    let tEx = 0;
    let tAny = 0;
    const held = new Array<number>(threads.length).fill(0);
    for (const [name, l] of s.locks) {
      const b = lockBits.get(name);
      if (b === undefined) continue;
      if (l.ex >= 0) held[l.ex] |= 1 << b;
      for (let u = 0; u < threads.length; u++) if (l.sh & (1 << u)) held[u] |= 1 << b;
      if (l.ex === t) tEx |= 1 << b;
    }
    tAny = held[t];
    if (instr.op === 'end') return tAny === 0;
    for (let u = 0; u < threads.length; u++) {
      const pc = s.pcs[u];
      if (u === t || pc < 0) continue;
      const b: Barriers = barriers[u];
      const kinds = conflicts(s, t, instr, u);
      // Moving onto or off a dereference changes what the concurrent-teardown check sees.
      if ((landsOnDeref || instr.op === 'deref') && (threads[t].mutates || threads[u].mutates)) kinds.push(Access.Deref);
      for (const kind of kinds) {
        if (!b.reach[kind][pc]) continue;
        // u must first acquire a lock t holds (and u does not hold it already, or its lock() would be a no-op).
        if (((((b.any[kind][pc] & tEx) | (b.exclusive[kind][pc] & tAny)) & ~held[u]) >>> 0) === 0) return false;
      }
    }
    return true;
  }

  function noteGuard(instr: Extract<Instr, { op: 'branch' }>, s: State, t: number): void {
    const values = new Set<number>();
    collectSrcs(instr.cond).forEach((src) => values.add(evalSrc(s, t, src)));
    const k = `${t}:${s.pcs[t]}`;
    if (values.has(NULLV) && !guardsSawNull.has(k)) guardsSawNull.set(k, { thread: t, pc: s.pcs[t], held: heldBy(s, t) });
    if (values.has(TABLES) && !guardsSawTables.has(k)) guardsSawTables.set(k, { thread: t, pc: s.pcs[t], held: heldBy(s, t) });
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
      return v === TRUE ? true : v === FALSE ? false : undefined;
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

function slotKey(slots: Uint8Array): string {
  let k = '';
  for (let i = 0; i < slots.length; i++) if (slots[i]) k += `${i}=${slots[i]},`;
  return k;
}

function key(s: State): string {
  let k = `${s.pcs.join(',')}|${s.field}${s.freed ? 1 : 0}${s.freer}${s.staleSince}|${s.slotKeys.join('/')}|`;
  for (const [name, l] of s.locks) if (l.ex >= 0 || l.sh || l.dropped) k += `${name}:${l.ex},${l.sh},${l.dropped};`;
  return k;
}
