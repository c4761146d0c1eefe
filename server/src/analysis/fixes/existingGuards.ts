// Is the fix already in the code? A quick fix must not insert a second copy of a guard that is there, nor
// rewrite a free function that already tests and clears under the lock. Read from the statement IR, so the
// spelling (`!kvm->arch.pgd`, `== NULL`, READ_ONCE) does not matter.
import type { CallGraph } from '../callgraph/graph';
import type { FunctionFacts, Stmt } from '../index/facts';
import { guardTest } from '../index/annotate';
import type { Model } from '../model/types';

type Exit = 'return' | 'break' | 'continue' | 'goto';

/** `if (!root ...) <exit>;`: the branch taken when the root is NULL leaves. */
export function isRootExit(s: Stmt, exits: readonly Exit[]): boolean {
  if (s.k !== 'if') return false;
  const g = guardTest(s.cond);
  return !!g && g.onField && g.whenNull === 'then' && s.then.some((t) => (exits as string[]).includes(t.k));
}

/** Could this statement touch the root (read it, or call something that can)? Guards themselves do not. */
function touchesRoot(fn: FunctionFacts, s: Stmt, graph: CallGraph): boolean {
  switch (s.k) {
    case 'call': {
      if (s.args.some((a) => a.value)) return true;
      const site = fn.calls.find((c) => c.at.line === s.at.line && c.at.column === s.at.column);
      return !site || graph.staticTargets(fn, site).some((t) => graph.reachesRoot(t.fn));
    }
    case 'lock':
    case 'sleep':
    case 'case':
    case 'break':
    case 'continue':
      return false;
    case 'assign':
      // Flags and other scalars: only a copy of the root (or of a table pointer) touches it.
      return !!s.value;
    case 'if':
      return [...s.then, ...s.else].some((t) => touchesRoot(fn, t, graph));
    default:
      // assign, deref, write, free, loops, switches, returns, gotos, labels: stop looking.
      return true;
  }
}

/** Does `stmts` test the root and leave before anything in it can touch the root? */
export function guardedAtTop(
  fn: FunctionFacts,
  stmts: readonly Stmt[],
  exits: readonly Exit[],
  graph: CallGraph,
): boolean {
  for (const s of stmts) {
    if (isRootExit(s, exits)) return true;
    if (touchesRoot(fn, s, graph)) return false;
  }
  return false;
}

/**
 * The free function already has the v4.12 shape: every clear of the root happens with the model's lock held,
 * at least one does, and every free is of a local copy, after the lock is dropped. Tests of the root outside
 * the lock count against it (two releases could both pass them).
 */
export function freesUnderLock(fn: FunctionFacts, model: Model): boolean {
  let held = 0;
  let ok = true;
  let cleared = false;
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      switch (s.k) {
        case 'lock':
          if (s.lock === model.lock.name && s.op === 'acquire') held++;
          else if (s.lock === model.lock.name && s.op === 'release') held--;
          break;
        case 'write':
          if (held <= 0) ok = false;
          else if (s.value === 'null') cleared = true;
          break;
        case 'free':
          if (held > 0 || s.value.kind === 'field') ok = false;
          break;
        case 'if':
          if (held <= 0 && guardTest(s.cond)?.onField) ok = false;
          walk(s.then);
          walk(s.else);
          break;
        case 'loop':
          walk(s.test);
          walk(s.body);
          break;
        case 'switch':
          walk(s.body);
          break;
      }
    }
  };
  walk(fn.body);
  return ok && cleared;
}
