// Where execution contexts enter the indexed code. From the tree when it has them (ops tables such as
// kvm_mmu_notifier_ops and the vcpu/VM file_operations; teardown start functions), otherwise from the model's
// built-in hook table. Both views are compared where they meet, and disagreements are reported.
import type { CallGraph } from '../callgraph/graph';
import type { FunctionFacts, Span, Stmt } from '../index/facts';
import type { MayBlock, Model } from '../model/types';

export interface Entry {
  fn: FunctionFacts;
  context: string;
  /** How the core enters: kvm_mmu_notifier_ops.clear_young, KVM_RUN exit handler, teardown path. */
  via: string;
  /** Derived from a table or function in the tree (true), or taken from the built-in hook table (false). */
  derived: boolean;
  /** Locks the core holds when it calls in (built-in hooks only; derived entries show their own locking). */
  locksHeld: string[];
  /** The table entry or hook that made it an entry. */
  at: Span;
  file: string;
  /** May it sleep: from the model, by the ops field or hook it enters by (see mayBlockOf). */
  mayBlock: MayBlock;
}

/**
 * Whether an entry may sleep. `per-call` (a notifier invalidation the OOM reaper may call as non-blockable) holds only
 * in a tree that can ask (mmu_notifier_range_blockable): before that API existed, every such call could block.
 */
function mayBlockOf(graph: CallGraph, model: Model, key: string): MayBlock {
  const m = model.viaMayBlock?.[key] ?? 'always';
  return m === 'per-call' && !asksBlockability(graph) ? 'always' : m;
}

const asked = new WeakMap<CallGraph, boolean>();

/** Some function of the tree tests or passes on whether the current call may block. */
function asksBlockability(graph: CallGraph): boolean {
  let a = asked.get(graph);
  if (a === undefined) {
    const has = (stmts: readonly Stmt[]): boolean =>
      stmts.some((s) =>
        s.k === 'assign'
          ? !!s.blockable
          : s.k === 'call'
            ? s.args.some((x) => x.scalar?.blockable)
            : s.k === 'if'
              ? has(s.then) || has(s.else)
              : s.k === 'loop'
                ? has(s.test) || has(s.body)
                : s.k === 'switch'
                  ? has(s.body)
                  : false,
      );
    a = false;
    for (const fn of graph.allFunctions())
      if (has(fn.body)) {
        a = true;
        break;
      }
    asked.set(graph, a);
  }
  return a;
}

export interface ContextCheck {
  hook: string;
  builtin: string;
  derived: string[];
  agrees: boolean;
}

/** Entries the tree itself defines: ops-table fields and teardown start functions. */
export function findEntries(graph: CallGraph, model: Model): Entry[] {
  const entries: Entry[] = [];
  for (const spec of model.entryTables) {
    for (const t of graph.tables) {
      if (t.structType !== spec.structType || (spec.variable && t.variable !== spec.variable)) continue;
      for (const e of t.entries) {
        const context = e.keyKind === 'field' ? spec.fields[e.key] : undefined;
        const fn = context ? graph.lookup(e.function, t.file) : undefined;
        if (!fn || !context) continue;
        entries.push({
          fn,
          context,
          via: `${t.variable}.${e.key}`,
          derived: true,
          locksHeld: [],
          at: e.at,
          file: t.file,
          mayBlock: mayBlockOf(graph, model, e.key),
        });
      }
    }
  }
  for (const path of model.teardownPaths) {
    const fn = path.startFunction ? graph.lookup(path.startFunction) : undefined;
    if (fn)
      entries.push({
        fn,
        context: 'teardown',
        via: path.label,
        derived: true,
        locksHeld: [],
        at: fn.nameSpan,
        file: fn.file,
        mayBlock: 'always',
      });
  }
  return sortEntries(entries);
}

/**
 * Entries from the built-in hook table, for hooks that no chain from the tree's own entries reaches (with only
 * mmu.c open, all of them): the core calls them, the model says in which context and under which locks.
 */
export function builtinEntries(
  graph: CallGraph,
  model: Model,
  reached: ReadonlySet<string>,
  derived: readonly Entry[],
): Entry[] {
  const entries: Entry[] = [];
  for (const hook of model.hooks) {
    const fn = graph.lookup(hook.function);
    if (!fn || reached.has(fn.name) || derived.some((e) => e.fn === fn)) continue;
    for (const via of hook.via) {
      entries.push({
        fn,
        context: hook.context,
        via,
        derived: false,
        locksHeld: hook.locksHeld,
        at: fn.nameSpan,
        file: fn.file,
        mayBlock: mayBlockOf(graph, model, via),
      });
    }
  }
  return sortEntries(entries);
}

function sortEntries(entries: Entry[]): Entry[] {
  return entries.sort(
    (a, b) => a.context.localeCompare(b.context) || a.fn.name.localeCompare(b.fn.name) || a.via.localeCompare(b.via),
  );
}

/**
 * For each built-in hook that the tree reaches from its own entries, do the derived contexts include the
 * built-in one? `contextsThrough` maps a function to the contexts of the chains passing through it.
 */
export function checkContexts(
  model: Model,
  contextsThrough: ReadonlyMap<string, Set<string>>,
  entries: readonly Entry[],
): ContextCheck[] {
  const checks: ContextCheck[] = [];
  for (const hook of model.hooks) {
    if (entries.some((e) => e.fn.name === hook.function && !e.derived)) continue;
    const derived = contextsThrough.get(hook.function);
    if (!derived || derived.size === 0) continue;
    checks.push({
      hook: hook.function,
      builtin: hook.context,
      derived: [...derived].sort(),
      agrees: derived.has(hook.context),
    });
  }
  return checks;
}
