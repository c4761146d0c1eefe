// The cross-file call graph: which functions a call site can reach, including calls through function-pointer
// parameters (bound from the caller's arguments), table lookups (arm_exit_handlers[ec]), struct fields
// (range->handler) and core functions the model says invoke an ops-table field (mmu_notifier_unregister).
import type { Model } from '../model/types';
import type { CallArg, CallSiteFacts, FileFacts, FunctionFacts, MacroAlias, Stmt, TableFacts } from '../index/facts';

/** Function-pointer parameters bound to the functions the caller passed: handler -> [kvm_age_hva_handler]. */
export type Bindings = ReadonlyMap<string, readonly string[]>;

export interface Target {
  fn: FunctionFacts;
  /** How the call reaches it, for hops and hovers: direct, param handler, table arm_exit_handlers, ... */
  via: string;
  /** The arguments the target receives (through a macro they differ from the call's). */
  args: readonly CallArg[];
}

export class CallGraph {
  private readonly byName = new Map<string, FunctionFacts[]>();
  private readonly tablesByVariable = new Map<string, TableFacts[]>();
  /** Functions named in initializers, by field: .release -> [{ kvm_mmu_notifier_release, mmu_notifier_ops }, ...]. */
  private readonly fieldTargets = new Map<string, { function: string; structType?: string }[]>();
  private readonly tableReturns = new Map<string, string>();
  private readonly macros = new Map<string, MacroAlias>();
  private callers = new Map<string, { caller: FunctionFacts; site: CallSiteFacts }[]>();
  readonly tables: TableFacts[] = [];

  constructor(readonly files: readonly FileFacts[], readonly model: Model) {
    for (const f of files) {
      for (const fn of f.functions) push(this.byName, fn.name, fn);
      for (const t of f.tables) {
        this.tables.push(t);
        push(this.tablesByVariable, t.variable, t);
        for (const e of t.entries) if (e.keyKind === 'field') push(this.fieldTargets, e.key, { function: e.function, structType: t.structType });
      }
      for (const r of f.tableReturns) this.tableReturns.set(r.function, r.table);
      for (const m of f.macros) if (!this.macros.has(m.name)) this.macros.set(m.name, m);
    }
    // Two passes: calls through parameters are resolved from the callers found by the first (other calls).
    for (const pass of [1, 2]) {
      this.paramCallsResolved = pass === 2;
      if (pass === 2) this.addHandlersPassedIntoFields();
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

  /**
   * kvm_handle_hva_range(mn, ..., handler) puts its handler parameter in a struct (.handler = handler): the
   * functions its callers pass are candidates for calls through that field too (when no binding says better).
   */
  private addHandlersPassedIntoFields(): void {
    for (const fn of this.allFunctions()) {
      for (const init of fn.fieldInits) {
        const i = fn.params.findIndex((p) => p.name === init.value);
        if (i < 0) continue;
        for (const { site } of this.callersOf(fn.name)) {
          const name = site.args[i]?.functionName;
          if (name && this.isDefined(name)) push(this.fieldTargets, init.field, { function: name });
        }
      }
    }
  }

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
    const add = (name: string, via: string, args: readonly CallArg[] = site.args): void => {
      const t = this.lookup(name, fn.file);
      if (t && !out.some((o) => o.fn === t)) out.push({ fn: t, via, args });
    };
    const callee = site.callee;
    if (callee.kind === 'direct') {
      const macro = this.isDefined(callee.name) ? undefined : this.macros.get(callee.name);
      if (this.isDefined(callee.name)) add(callee.name, 'direct');
      else if (macro && this.isDefined(macro.callee)) add(macro.callee, `macro ${macro.name}`, expandArgs(macro, site.args));
      else {
        for (const inv of this.model.externalInvokes.filter((i) => i.function === callee.name)) {
          for (const e of this.tableFieldFunctions(inv.structType, inv.field)) add(e.function, `${callee.name} -> ${e.table.variable}.${inv.field}`, []);
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
      // A handler carried in a struct the caller filled in (.handler = kvm_age_gfn), else every such handler.
      const bound = bindings?.get(`.${callee.field}`);
      // Without a binding: tables of the base's struct type when known; never the ops tables the core calls
      // (mmu_notifier_ops, file_operations), which indexed code does not call through.
      const coreTypes = new Set(this.model.entryTables.map((t) => t.structType));
      const candidates = (this.fieldTargets.get(callee.field) ?? []).filter((e) =>
        callee.baseType ? e.structType === callee.baseType || e.structType === undefined : !coreTypes.has(e.structType ?? ''));
      for (const name of bound ?? candidates.map((e) => e.function)) add(name, `field .${callee.field}`);
    }
    return out;
  }

  /**
   * The function outside the indexed code a call goes to, if that is all it can be: a macro or external
   * function (stage2_pud_offset), or a function-pointer parameter bound to one (fn = kvm_pgtable_stage2_unmap).
   */
  externalCallee(fn: FunctionFacts, site: CallSiteFacts, bindings: Bindings | undefined): string | undefined {
    const callee = site.callee;
    if (callee.kind === 'direct') {
      if (this.isDefined(callee.name) || fn.params.some((p) => p.name === callee.name)) return undefined;
      const macro = this.macros.get(callee.name);
      return macro && this.isDefined(macro.callee) ? undefined : callee.name;
    }
    if (callee.kind === 'variable') {
      const bound = bindings?.get(callee.name);
      if (bound && bound.length && bound.every((b) => !this.isDefined(b))) return bound[0];
    }
    return undefined;
  }

  /**
   * Bindings for a callee: parameters that receive a function (by name, or passed on from the caller's own
   * bound parameters), and struct fields the caller filled with functions (.handler = handler), which calls
   * through that field deeper down resolve to.
   */
  bindingsFor(caller: FunctionFacts, args: readonly CallArg[], callee: FunctionFacts, outer: Bindings | undefined): Bindings {
    const b = new Map<string, string[]>();
    const resolve = (name: string): string[] | undefined => {
      if (name === '') return [];
      const passedOn = outer?.get(name);
      if (passedOn) return [...passedOn];
      if (this.isDefined(name)) return [name];
      if (caller.params.some((p) => p.name === name)) return [];
      return undefined;
    };
    callee.params.forEach((p, i) => {
      const name = args[i]?.functionName;
      if (!name) return;
      const called = p.isFunctionPointer || callee.calls.some((c) => c.callee.kind === 'variable' && c.callee.name === p.name) || callee.fieldInits.some((x) => x.value === p.name);
      const r = resolve(name) ?? (called ? [name] : undefined);
      if (r) b.set(p.name, r);
    });
    for (const [k, v] of outer ?? []) if (k.startsWith('.')) b.set(k, [...v]);
    for (const init of caller.fieldInits) {
      const r = resolve(init.value);
      if (r) b.set(`.${init.field}`, r);
    }
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
    if (!cache) this.reachCache.set(key, (cache = new Map<FunctionFacts, boolean>()));
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

/** The arguments a macro's callee receives: the macro's own arguments where the expansion names its parameters. */
function expandArgs(macro: MacroAlias, args: readonly CallArg[]): CallArg[] {
  return macro.args.map((a) => (typeof a === 'number' ? (args[a] ?? { text: '' }) : { text: a, ...(/^[A-Za-z_]\w*$/.test(a) ? { functionName: a } : {}) }));
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
