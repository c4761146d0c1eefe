// Derives a function's summary facts from its lowered body: call sites with the locks and guards around them,
// resource uses, guards and what they protect. A straight walk in program order; the simulator is precise, this
// is for the index, chains and hovers.
import type { CallSiteFacts, Cond, FunctionFacts, GuardFacts, Span, Stmt } from './facts';

interface Walk {
  locks: string[];
  guards: Span[];
}

export function annotate(fn: FunctionFacts): void {
  const exits = (stmts: Stmt[]): boolean =>
    stmts.some((s) => s.k === 'return' || s.k === 'goto' || s.k === 'break' || s.k === 'continue');

  const walk = (stmts: Stmt[], state: Walk, blockEnd: Span): Walk => {
    let cur: Walk = { locks: [...state.locks], guards: [...state.guards] };
    for (let i = 0; i < stmts.length; i++) {
      const s = stmts[i];
      switch (s.k) {
        case 'call':
          fn.calls.push({
            callee: s.callee,
            args: s.args,
            at: s.at,
            locksHeld: [...cur.locks],
            guards: [...cur.guards],
          } satisfies CallSiteFacts);
          for (const a of s.args)
            if (a.value?.kind === 'field') fn.uses.push({ kind: 'read', at: s.at, locksHeld: [...cur.locks] });
          break;
        case 'lock':
          if (s.op === 'acquire') cur.locks.push(s.lock);
          else if (s.op === 'release')
            cur.locks = cur.locks.filter((l, j) => l !== s.lock || j !== cur.locks.lastIndexOf(s.lock));
          break;
        case 'assign':
          if (s.value?.kind === 'field') fn.uses.push({ kind: 'read', at: s.at, locksHeld: [...cur.locks] });
          break;
        case 'deref':
          fn.uses.push({ kind: 'deref', at: s.at, locksHeld: [...cur.locks] });
          break;
        case 'write':
          fn.uses.push({ kind: 'write', at: s.at, locksHeld: [...cur.locks] });
          break;
        case 'free':
          fn.uses.push({ kind: 'free', at: s.at, locksHeld: [...cur.locks] });
          break;
        case 'if': {
          const test = guardTest(s.cond);
          if (test) {
            fn.uses.push({ kind: 'guard', at: s.at, locksHeld: [...cur.locks] });
            // if (!p) exit;  -> protects the rest of the block.  if (p) {...} -> protects the block.
            if (test.whenNull === 'then' && exits(s.then)) {
              const rest: Span = {
                line: s.at.endLine,
                column: s.at.endColumn,
                endLine: blockEnd.endLine,
                endColumn: blockEnd.endColumn,
              };
              fn.guards.push({
                at: s.at,
                form: 'early-exit',
                protects: rest,
                onField: test.onField,
              } satisfies GuardFacts);
              walk(s.then, cur, s.at);
              cur = { locks: cur.locks, guards: [...cur.guards, s.at] };
              break;
            }
            if (test.whenNull === 'else') {
              fn.guards.push({ at: s.at, form: 'block', protects: s.at, onField: test.onField });
              const inner = walk(s.then, { locks: cur.locks, guards: [...cur.guards, s.at] }, s.at);
              walk(s.else, cur, s.at);
              if (!exits(s.then)) cur = { locks: inner.locks, guards: cur.guards };
              break;
            }
          }
          const t = walk(s.then, cur, s.at);
          const e = walk(s.else, cur, s.at);
          // Locks after the if: those held on a branch that falls through (prefer the then branch's view).
          cur = { locks: exits(s.then) ? e.locks : t.locks, guards: cur.guards };
          break;
        }
        case 'loop':
          // do { } while (test): the body runs before the test.
          if (s.form !== 'do') walk(s.test, cur, s.at);
          cur = { locks: walk(s.body, cur, s.at).locks, guards: cur.guards };
          if (s.form === 'do') walk(s.test, cur, s.at);
          break;
        case 'switch':
          walk(s.body, cur, s.at);
          break;
      }
    }
    return cur;
  };
  walk(fn.body, { locks: [], guards: [] }, fn.bodySpan);
  fn.touchesRoot = rootReadOutsideGuards(fn.body);
}

/** Which branch runs when the tested value is NULL, if the condition is a plain null test. */
export function guardTest(c: Cond): { whenNull: 'then' | 'else'; onField: boolean } | undefined {
  if (c.k === 'isnull') return { whenNull: 'then', onField: c.value.kind === 'field' };
  if (c.k === 'not' && c.c.k === 'isnull') return { whenNull: 'else', onField: c.c.value.kind === 'field' };
  // Each side is tested once: a chain of n `||` is n calls deep, not 2^n calls wide.
  if (c.k === 'or') {
    const a = guardTest(c.a);
    if (a?.whenNull === 'then') return a;
    const b = guardTest(c.b);
    return b?.whenNull === 'then' ? b : undefined;
  }
  if (c.k === 'and') {
    const a = guardTest(c.a);
    return a?.whenNull === 'else' ? a : undefined;
  }
  return undefined;
}

/** The function reads the root field other than in a null test: into an alias, to write, free or dereference it. */
function rootReadOutsideGuards(stmts: Stmt[]): boolean {
  for (const s of stmts) {
    switch (s.k) {
      case 'assign':
        if (s.value?.kind === 'field') return true;
        break;
      case 'deref':
      case 'free':
        if (s.value.kind === 'field') return true;
        break;
      case 'write':
        return true;
      case 'call':
        if (s.args.some((a) => a.value?.kind === 'field')) return true;
        break;
      case 'return':
        if (s.value?.kind === 'field') return true;
        break;
      case 'if':
        if (rootReadOutsideGuards(s.then) || rootReadOutsideGuards(s.else)) return true;
        break;
      case 'loop':
        if (rootReadOutsideGuards(s.test) || rootReadOutsideGuards(s.body)) return true;
        break;
      case 'switch':
        if (rootReadOutsideGuards(s.body)) return true;
        break;
    }
  }
  return false;
}
