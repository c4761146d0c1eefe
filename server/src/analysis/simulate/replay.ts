// Replays a hazard's witness step by step with a plain interpreter of the programs, written apart from the
// explorer (no reduction, no layout, every slot kept), and says whether it is feasible: each step is the next thing
// its thread can do (through jumps and choices only), every lock it takes is free, every test goes the way the
// values say, the locks held after each step are the ones the witness shows, and the last step is hazardous. An
// infeasible witness is a defect of the analysis, never a finding (simulate.ts turns it into an inconclusive chain).
import { FALSE, NULLV, SYM, TABLES, TRUE, UNKNOWN, evalCond, type Hazard, type ThreadSpec } from './explore';
import type { CondI, Instr, Src } from './program';
import { branchDecides } from './relevance';

export type ReplayResult = { feasible: true } | { feasible: false; step: number; why: string };

interface LockState {
  ex: number;
  sh: Set<number>;
  dropped: Set<number>;
}

export function replayWitness(threads: readonly ThreadSpec[], hazard: Hazard): ReplayResult {
  const pcs = threads.map(() => 0);
  const slots = threads.map(() => new Map<number, number>());
  let field = TABLES;
  let freed = false;
  let freer = -1;
  const locks = new Map<string, LockState>();
  const lock = (name: string): LockState =>
    locks.get(name) ?? locks.set(name, { ex: -1, sh: new Set(), dropped: new Set() }).get(name)!;
  const holds = (t: number, name: string): boolean => lock(name).ex === t || lock(name).sh.has(t);
  const heldBy = (t: number): string[] => [...locks.keys()].filter((n) => holds(t, n)).sort();
  const value = (t: number, src: Src): number => ('field' in src ? field : (slots[t].get(src.slot) ?? UNKNOWN));
  const fail = (step: number, why: string): ReplayResult => ({ feasible: false, step, why });

  const refine = (t: number, c: CondI, truth: boolean): void => {
    if (c.k === 'flag') {
      const v = slots[t].get(c.slot) ?? UNKNOWN;
      const to = truth ? TRUE : FALSE;
      if (v === UNKNOWN) slots[t].set(c.slot, to);
      else if (v >= SYM) for (const [s, x] of slots[t]) if (x === v) slots[t].set(s, to);
    } else if (c.k === 'not') refine(t, c.c, !truth);
    else if (c.k === 'and' && truth) {
      refine(t, c.a, true);
      refine(t, c.b, true);
    } else if (c.k === 'or' && !truth) {
      refine(t, c.a, false);
      refine(t, c.b, false);
    }
  };

  /** Moves thread t from its pc to `to` through jumps and choices only (the steps a witness leaves out). */
  const reach = (t: number, to: number): boolean => {
    const instrs = threads[t].program.instrs;
    const seen = new Set<number>();
    const queue = [pcs[t]];
    while (queue.length) {
      const pc = queue.shift()!;
      if (pc === to) {
        pcs[t] = to;
        return true;
      }
      if (pc < 0 || seen.has(pc)) continue;
      seen.add(pc);
      const i = instrs[pc];
      if (i.op === 'jump') queue.push(i.target);
      else if (i.op === 'choice') queue.push(...i.targets);
    }
    return false;
  };

  const steps = hazard.witness;
  for (let n = 0; n < steps.length; n++) {
    const st = steps[n];
    const t = st.thread;
    const program = threads[t]?.program;
    if (!program) return fail(n, `no thread ${t}`);
    if (!reach(t, st.pc)) return fail(n, `thread ${t} cannot be at step ${st.pc} after step ${pcs[t]}`);
    const i = program.instrs[st.pc];
    if (n === steps.length - 1) return hazardous(i, t, n);
    const why = execute(i, t, st.taken);
    if (why) return fail(n, why);
    const held = heldBy(t);
    if (held.join(',') !== [...st.held].sort().join(','))
      return fail(n, `the witness says thread ${t} holds [${st.held.join(', ')}], the code says [${held.join(', ')}]`);
  }
  return fail(steps.length, 'the witness is empty');

  function execute(i: Instr, t: number, taken: boolean | undefined): string | undefined {
    const bit = t;
    switch (i.op) {
      case 'lock': {
        const l = lock(i.lock);
        if (holds(t, i.lock)) break;
        if (l.ex >= 0 || (i.mode === 'exclusive' && l.sh.size > 0))
          return `${i.fn}: ${i.lock} is held by another thread`;
        if (i.mode === 'exclusive') l.ex = t;
        else l.sh.add(t);
        break;
      }
      case 'unlock':
      case 'resched-drop': {
        const l = lock(i.lock);
        if (!holds(t, i.lock)) break;
        if (l.ex === t) l.ex = -1;
        l.sh.delete(t);
        if (i.op === 'resched-drop') l.dropped.add(bit);
        break;
      }
      case 'resched-take': {
        const l = lock(i.lock);
        if (!l.dropped.has(bit)) break;
        if (l.ex >= 0 || (i.mode === 'exclusive' && l.sh.size > 0))
          return `${i.fn}: ${i.lock} is held by another thread`;
        l.dropped.delete(bit);
        if (i.mode === 'exclusive') l.ex = t;
        else l.sh.add(t);
        break;
      }
      case 'trylock': {
        const l = lock(i.lock);
        const free = l.ex < 0 && (i.mode === 'shared' ? !l.sh.has(t) : l.sh.size === 0);
        if (free) {
          if (i.mode === 'exclusive') l.ex = t;
          else l.sh.add(t);
        }
        slots[t].set(i.slot, free ? TRUE : FALSE);
        break;
      }
      case 'assign': {
        let v = UNKNOWN;
        if (i.flag) v = i.flag === 'true' ? TRUE : FALSE;
        else if (i.src && i.scalar && 'slot' in i.src) {
          v = slots[t].get(i.src.slot) ?? UNKNOWN;
          if (v === UNKNOWN) slots[t].set(i.src.slot, (v = SYM + i.src.slot));
        } else if (i.src) v = value(t, i.src);
        slots[t].set(i.slot, v);
        for (const s of i.clears ?? []) slots[t].set(s, UNKNOWN);
        break;
      }
      case 'write': {
        const v = typeof i.value === 'string' ? (i.value === 'null' ? NULLV : TABLES) : value(t, i.value);
        field = v === NULLV ? NULLV : TABLES;
        break;
      }
      case 'free':
        if (value(t, i.src) === TABLES && !freed) {
          freed = true;
          freer = t;
        }
        break;
      case 'branch': {
        const v = evalCond(i.cond, (src) => value(t, src));
        if (taken === undefined) return `the test \`${i.text}\` has no way recorded`;
        // A test whose two ways lead to the same steps that matter may be taken either way (relevance.ts): the
        // witness is then the same as one that took the way the values say.
        if (v !== undefined && v !== taken && branchDecides(threads[t].program, pcs[t]))
          return `the test \`${i.text}\` is ${v} here, but the witness takes it as ${taken}`;
        if (v === undefined) refine(t, i.cond, taken);
        pcs[t] = taken ? i.then : i.else;
        return undefined;
      }
      case 'end':
        for (const [, l] of locks) {
          if (l.ex === t) l.ex = -1;
          l.sh.delete(t);
        }
        pcs[t] = -1;
        return undefined;
      case 'deref':
      case 'sleep':
        break;
      case 'jump':
        pcs[t] = i.target;
        return undefined;
      case 'choice':
        return 'a choice is never a witness step';
    }
    pcs[t] = i.next;
    return undefined;
  }

  function hazardous(i: Instr, t: number, n: number): ReplayResult {
    switch (hazard.kind) {
      case 'null-deref':
        return i.op === 'deref' && value(t, i.src) === NULLV
          ? { feasible: true }
          : fail(n, 'the walk does not meet NULL here');
      case 'use-after-free':
        return i.op === 'deref' && value(t, i.src) === TABLES && freed
          ? { feasible: true }
          : fail(n, 'the tables are not freed when the walk reaches them');
      case 'concurrent-teardown': {
        const p = hazard.partner;
        const other = p ? threads[p.thread].program.instrs[pcs[p.thread]] : undefined;
        const ok =
          i.op === 'deref' &&
          value(t, i.src) === TABLES &&
          !!p &&
          pcs[p.thread] === p.pc &&
          other?.op === 'deref' &&
          value(p.thread, other.src) === TABLES;
        return ok ? { feasible: true } : fail(n, 'no teardown walk is poised at the same tables');
      }
      case 'double-free':
        return i.op === 'free' && value(t, i.src) === TABLES && freed && freer !== t
          ? { feasible: true }
          : fail(n, 'the tables are not freed by another thread first');
      case 'sleeps-in-nonblocking': {
        if (i.op !== 'sleep') return fail(n, 'the last step does not sleep');
        const program = threads[t].program;
        const v = program.mayBlock === 'never' ? FALSE : (slots[t].get(i.slot) ?? UNKNOWN);
        return program.mayBlock !== 'always' && v !== TRUE ? { feasible: true } : fail(n, 'the call may block here');
      }
    }
  }
}
