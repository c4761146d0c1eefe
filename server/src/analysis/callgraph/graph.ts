// The cross-file call graph: which functions a call site can reach, including calls through function-pointer
// parameters (bound from the caller's arguments), table lookups (arm_exit_handlers[ec]), struct fields
// (range->handler) and core functions the model says invoke an ops-table field (mmu_notifier_unregister).
import type { Model } from '../model/types';
import type { CallSiteFacts, FileFacts, FunctionFacts, Stmt, TableFacts } from '../index/facts';

/** Function-pointer parameters bound to the functions the caller passed: handler -> [kvm_age_hva_handler]. */
export type Bindings = ReadonlyMap<string, readonly string[]>;

export interface Target {
  fn: FunctionFacts;
  /** How the call reaches it, for hops and hovers: direct, param handler, table arm_exit_handlers, ... */
  via: string;
}

export class CallGraph {
  private readonly byName = new Map<string, FunctionFacts[]>();
  private readonly tablesByVariable = new Map<string, TableFacts[]>();
  private readonly fieldTargets = new Map<string, string[]>();
  private readonly tableReturns = new Map<string, string>();
  private callers = new Map<string, { caller: FunctionFacts; site: CallSiteFacts }[]>();
  private readonly reaches = new Map<FunctionFacts, boolean>();
  readonly tables: TableFacts[] = [];

  constructor(readonly files: readonly FileFacts[], readonly model: Model) {
    for (const f of files) {
      for (const fn of f.functions) push(this.byName, fn.name, fn);
      for (const t of f.tables) {
        this.tables.push(t);
        push(this.tablesByVariable, t.variable, t);
        for (const e of t.entries) if (e.keyKind === 'field') push(this.fieldTargets, e.key, e.function);
      }
      for (const r of f.tableReturns) this.tableReturns.set(r.function, r.table);
    }
    // Two passes: calls through parameters are resolved from the callers found by the first (other calls).
    for (const pass of [1, 2]) {
      this.paramCallsResolved = pass === 2;
      this.siteTargets.clear();
      const found = new Map<string, { caller: FunctionFacts; site: CallSiteFacts }[]>();
      for (const fn of this.allFunctions()) {
        for (const site of fn.calls) {
          for (const t of this.staticTargets(fn, site)) push(found, t.fn.name, { caller: fn, site });
        }
      }
      this.callers = found;
    }
  }

  private paramCallsResolved = false;

  *allFunctions(): Iterable<FunctionFacts> {
    for (const list of this.byName.values()) yield* list;
  }

  /** The definition a caller in `fromFile` means: its own file's static one first, then any. */
  lookup(name: string, fromFile?: string): FunctionFacts | undefined {
    const defs = this.byName.get(name);
    if (!defs) return undefined;
    return defs.find((d) => d.file === fromFile) ?? defs[0];
  }

  isDefined(name: string): boolean {
    return this.byName.has(name);
  }

  callersOf(name: string): readonly { caller: FunctionFacts; site: CallSiteFacts }[] {
    return this.callers.get(name) ?? [];
  }

  /** Functions that an ops-table field of `structType` names (all .release handlers of mmu_notifier_ops). */
  tableFieldFunctions(structType: string, field: string): { function: string; table: TableFacts }[] {
    const found: { function: string; table: TableFacts }[] = [];
    for (const t of this.tables) {
      if (t.structType !== structType) continue;
      for (const e of t.entries) if (e.keyKind === 'field' && e.key === field) found.push({ function: e.function, table: t });
    }
    return found;
  }

  /**
   * What a call site can reach. With `bindings` (chain enumeration, inlining), calls through function-pointer
   * parameters go only where this caller's caller pointed them; without, to every function any caller passes.
   */
  targets(fn: FunctionFacts, site: CallSiteFacts, bindings: Bindings | undefined): Target[] {
    const out: Target[] = [];
    const add = (name: string, via: string): void => {
      const t = this.lookup(name, fn.file);
      if (t && !out.some((o) => o.fn === t)) out.push({ fn: t, via });
    };
    const callee = site.callee;
    if (callee.kind === 'direct') {
      if (this.isDefined(callee.name)) add(callee.name, 'direct');
      else {
        for (const inv of this.model.externalInvokes.filter((i) => i.function === callee.name)) {
          for (const e of this.tableFieldFunctions(inv.structType, inv.field)) add(e.function, `${callee.name} -> ${e.table.variable}.${inv.field}`);
        }
      }
    } else if (callee.kind === 'variable') {
      const paramIndex = fn.params.findIndex((p) => p.name === callee.name);
      if (paramIndex >= 0) {
        const bound = bindings?.get(callee.name);
        if (bound) for (const b of bound) add(b, `param ${callee.name}`);
        else if (!bindings && this.paramCallsResolved) {
          for (const { site: s } of this.callersOf(fn.name)) {
            const a = s.args[paramIndex]?.functionName;
            if (a) add(a, `param ${callee.name}`);
          }
        }
      }
      for (const src of fn.varSources.filter((v) => v.variable === callee.name)) {
        if (src.from.function) add(src.from.function, `variable ${callee.name}`);
        const table = src.from.table ?? (src.from.call ? this.tableReturns.get(src.from.call) : undefined);
        if (table) for (const t of this.tablesByVariable.get(table) ?? []) for (const e of t.entries) add(e.function, `table ${table}[${e.key}]`);
      }
    } else {
      for (const name of this.fieldTargets.get(callee.field) ?? []) add(name, `field .${callee.field}`);
    }
    return out;
  }

  /** Bindings for the callee of `site`: its function-pointer parameters get the functions passed (or passed on). */
  bindingsFor(caller: FunctionFacts, site: CallSiteFacts, callee: FunctionFacts, outer: Bindings | undefined): Bindings {
    const b = new Map<string, string[]>();
    callee.params.forEach((p, i) => {
      if (!p.isFunctionPointer) return;
      const arg = site.args[i];
      if (!arg) return;
      const passedOn = arg.functionName ? outer?.get(arg.functionName) : undefined;
      if (passedOn) b.set(p.name, [...passedOn]);
      else if (arg.functionName && this.isDefined(arg.functionName)) b.set(p.name, [arg.functionName]);
      else if (arg.functionName && caller.params.some((cp) => cp.name === arg.functionName)) b.set(p.name, []);
    });
    return b;
  }

  /** Can this function (through any callee) read the root? Over-approximate: prunes chain search and inlining. */
  reachesRoot(fn: FunctionFacts): boolean {
    return this.reachesWith('root', fn, (f) => f.touchesRoot || f.uses.length > 0);
  }

  /** Can this function reach the root or an operation on a lock (what inlining has to keep)? */
  matters(fn: FunctionFacts): boolean {
    return this.reachesWith('matters', fn, (f) => f.touchesRoot || f.uses.length > 0 || hasLockOp(f.body));
  }

  /** Static targets of every call site, computed once (context-insensitive). */
  staticTargets(fn: FunctionFacts, site: CallSiteFacts): Target[] {
    let t = this.siteTargets.get(site);
    if (!t) this.siteTargets.set(site, (t = this.targets(fn, site, undefined)));
    return t;
  }

  private readonly siteTargets = new Map<CallSiteFacts, Target[]>();
  private readonly reachCache = new Map<string, Map<FunctionFacts, boolean>>();

  private reachesWith(key: string, fn: FunctionFacts, base: (f: FunctionFacts) => boolean): boolean {
    let cache = this.reachCache.get(key);
    if (!cache) this.reachCache.set(key, (cache = new Map()));
    const known = cache.get(fn);
    if (known !== undefined) return known;
    // Iterative fixpoint over the reachable part, so deep or cyclic graphs cannot overflow the stack.
    const order: FunctionFacts[] = [fn];
    const seen = new Set<FunctionFacts>(order);
    for (let i = 0; i < order.length; i++) {
      const f = order[i];
      if (cache.has(f)) continue;
      for (const site of f.calls) {
        for (const t of this.staticTargets(f, site)) {
          if (!seen.has(t.fn)) {
            seen.add(t.fn);
            order.push(t.fn);
          }
        }
      }
    }
    const result = new Map<FunctionFacts, boolean>();
    for (const f of order) result.set(f, cache.get(f) ?? base(f));
    for (let changed = true; changed; ) {
      changed = false;
      for (const f of order) {
        if (result.get(f)) continue;
        if (f.calls.some((site) => this.staticTargets(f, site).some((t) => result.get(t.fn)))) {
          result.set(f, true);
          changed = true;
        }
      }
    }
    for (const [f, v] of result) cache.set(f, v);
    return cache.get(fn)!;
  }
}

function hasLockOp(stmts: readonly Stmt[]): boolean {
  return stmts.some((s) =>
    s.k === 'lock' ||
    (s.k === 'if' && (hasLockOp(s.then) || hasLockOp(s.else))) ||
    (s.k === 'loop' && hasLockOp(s.body)) ||
    (s.k === 'switch' && hasLockOp(s.body)));
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
