// The cross-file call graph: which functions a call site can reach, including calls through function-pointer
// parameters (bound from the caller's arguments), table lookups (arm_exit_handlers[ec]), struct fields
// (range->handler) and core functions the model says invoke an ops-table field (mmu_notifier_unregister).
import type { Model } from '../model/types';
import type {
  CallArg,
  CallSiteFacts,
  Cond,
  FileFacts,
  FunctionFacts,
  MacroAlias,
  Span,
  Stmt,
  TableFacts,
} from '../index/facts';
import { foldConfig, hasConfig, impliedSymbols, modelSymbol } from '../index/config';
import { expandMacro, macroNameText, textArg, type MacroTarget } from './macros';

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
  /**
   * Functions stored into struct fields, by field: .release -> [{ kvm_mmu_notifier_release, mmu_notifier_ops }, ...]:
   * from designated initializers, local initializers and assignments (x->release = f), with the struct type when known.
   */
  private readonly fieldTargets = new Map<string, { function: string; structType?: string }[]>();
  private readonly tableReturns = new Map<string, string>();
  private readonly macros = new Map<string, MacroAlias>();
  private callers = new Map<string, { caller: FunctionFacts; site: CallSiteFacts }[]>();
  readonly tables: TableFacts[] = [];

  constructor(
    readonly files: readonly FileFacts[],
    readonly model: Model,
  ) {
    for (const f of files) {
      for (const fn of f.functions) push(this.byName, fn.name, fn);
      for (const fn of f.functions) for (const init of fn.fieldInits) push(this.assignedFields, init.field, init);
      for (const t of f.tables) {
        this.tables.push(t);
        push(this.tablesByVariable, t.variable, t);
        for (const e of t.entries)
          if (e.keyKind === 'field') push(this.fieldTargets, e.key, { function: e.function, structType: t.structType });
      }
      for (const r of f.tableReturns) this.tableReturns.set(r.function, r.table);
      for (const m of f.macros) if (!this.macros.has(m.name)) this.macros.set(m.name, m);
    }
    // Stored functions (range->handler = f): only names the tree defines; parameters are handled below.
    for (const [field, inits] of this.assignedFields) {
      for (const init of inits)
        if (this.isDefined(init.value))
          push(this.fieldTargets, field, { function: init.value, structType: init.structType });
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
  private readonly assignedFields = new Map<string, FunctionFacts['fieldInits']>();

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
          if (name && this.isDefined(name))
            push(this.fieldTargets, init.field, { function: name, structType: init.structType });
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
      for (const e of t.entries)
        if (e.keyKind === 'field' && e.key === field) found.push({ function: e.function, table: t });
    }
    return found;
  }

  /**
   * What a call site can reach. With `bindings` (chain enumeration, inlining), calls through function-pointer
   * parameters go only where this caller's caller pointed them; without, to every function any caller passes.
   */
  targets(fn: FunctionFacts, site: CallSiteFacts, bindings: Bindings | undefined): Target[] {
    const out: Target[] = [];
    if (this.siteConfig(fn, site, NO_SYMBOLS) === undefined) return out; // in a branch the configuration leaves out
    const add = (name: string, via: string, args: readonly CallArg[] = site.args): void => {
      const t = this.lookup(name, fn.file);
      if (t && !out.some((o) => o.fn === t)) out.push({ fn: t, via, args });
    };
    const callee = site.callee;
    if (callee.kind === 'macro') {
      // KVM_PGT_FN(f)(args): what the expansion calls, then the functions it yields, called with args.
      for (const t of this.macroTargets(callee.name, callee.macroArgs.map(textArg), site.args))
        add(t.name, t.via, t.args);
    } else if (callee.kind === 'direct') {
      const expanded = this.isDefined(callee.name) ? [] : this.macroTargets(callee.name, site.args);
      if (this.isDefined(callee.name)) add(callee.name, 'direct');
      else if (expanded.length) for (const t of expanded) add(t.name, t.via, t.args);
      else {
        for (const inv of this.model.externalInvokes.filter((i) => i.function === callee.name)) {
          for (const e of this.tableFieldFunctions(inv.structType, inv.field))
            add(e.function, `${callee.name} -> ${e.table.variable}.${inv.field}`, []);
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
        if (table)
          for (const t of this.tablesByVariable.get(table) ?? [])
            for (const e of t.entries) add(e.function, `table ${table}[${e.key}]`);
      }
    } else {
      // A handler carried in a struct the caller filled in (.handler = kvm_age_gfn), else every function stored
      // into that field of the base's struct type. Without the base's type, or from a store whose struct type is
      // unknown, the match is by the field's name alone, and the hop says so.
      const bound = boundField(bindings, callee.field, callee.baseType);
      if (bound) {
        for (const b of bound) add(b.name, fieldVia(callee.field, b.byName));
        return out;
      }
      // Never the ops tables the core calls (mmu_notifier_ops, file_operations) by name: indexed code does not.
      const coreTypes = new Set(this.model.entryTables.map((t) => t.structType));
      for (const e of this.fieldTargets.get(callee.field) ?? []) {
        if (
          callee.baseType
            ? e.structType !== callee.baseType && e.structType !== undefined
            : coreTypes.has(e.structType ?? '')
        )
          continue;
        add(e.function, fieldVia(callee.field, !callee.baseType || e.structType === undefined));
      }
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
      return this.macroTargets(callee.name, site.args).length ? undefined : callee.name;
    }
    if (callee.kind === 'macro') {
      if (this.macroTargets(callee.name, callee.macroArgs.map(textArg), site.args).length) return undefined;
      // KVM_PGT_FN(kvm_pgtable_stage2_destroy)(pgt) with neither defined: named as the function it yields.
      const first = this.macros.get(callee.name)?.values[0];
      return (first && macroNameText(first, callee.macroArgs)) ?? callee.name;
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
  bindingsFor(
    caller: FunctionFacts,
    args: readonly CallArg[],
    callee: FunctionFacts,
    outer: Bindings | undefined,
  ): Bindings {
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
      const called =
        p.isFunctionPointer ||
        callee.calls.some((c) => c.callee.kind === 'variable' && c.callee.name === p.name) ||
        callee.fieldInits.some((x) => x.value === p.name);
      const r = resolve(name) ?? (called ? [name] : undefined);
      if (r) b.set(p.name, r);
    });
    for (const [k, v] of outer ?? []) if (k.startsWith('.')) b.set(k, [...v]);
    for (const init of caller.fieldInits) {
      const r = resolve(init.value);
      if (r) b.set(fieldKey(init.field, init.structType), r);
    }
    return b;
  }

  private macroTargets(name: string, args: readonly CallArg[], resultArgs?: readonly CallArg[]): MacroTarget[] {
    return expandMacro(this.macros, (n) => this.isDefined(n), name, args, resultArgs);
  }

  /**
   * What a configuration symbol is fixed to (the model's config: the model file, a kernel .config, the macros the
   * tree's headers define); undefined: either way. The indexer folded these already; paths assume the others.
   */
  configValue(symbol: string): boolean | undefined {
    return modelSymbol(this.model, symbol);
  }

  /**
   * The config symbols a path through this call site assumes, given those it assumed before (`assumed`): one choice
   * per symbol along a path. Undefined when the site is in a branch that the fixed symbols or `assumed` leave out.
   */
  siteConfig(
    fn: FunctionFacts,
    site: CallSiteFacts,
    assumed: ReadonlyMap<string, boolean>,
  ): ReadonlyMap<string, boolean> | undefined {
    const constraints = this.configConstraints(fn).get(spanKey(site.at));
    if (!constraints) return assumed;
    let next: Map<string, boolean> | undefined;
    for (const { cond, want } of constraints) {
      const implied = impliedSymbols(
        foldConfig(cond, (x) => this.configValue(x) ?? (next ?? assumed).get(x)),
        want,
      );
      if (!implied) return undefined;
      for (const [k, v] of implied) (next ??= new Map(assumed)).set(k, v);
    }
    return next ?? assumed;
  }

  private readonly constraints = new Map<FunctionFacts, Map<string, { cond: Cond; want: boolean }[]>>();

  /** The config conditions around each call of `fn`, by the call's place (facts read from a cache share no objects). */
  private configConstraints(fn: FunctionFacts): Map<string, { cond: Cond; want: boolean }[]> {
    let m = this.constraints.get(fn);
    if (m) return m;
    const found = new Map<string, { cond: Cond; want: boolean }[]>();
    const walk = (stmts: readonly Stmt[], around: { cond: Cond; want: boolean }[]): void => {
      for (const st of stmts) {
        if (st.k === 'call' && around.length) found.set(spanKey(st.at), around);
        else if (st.k === 'if') {
          const config = hasConfig(st.cond);
          walk(st.then, config ? [...around, { cond: st.cond, want: true }] : around);
          walk(st.else, config ? [...around, { cond: st.cond, want: false }] : around);
        } else if (st.k === 'loop') {
          walk(st.test, around);
          walk(st.body, around);
        } else if (st.k === 'switch') walk(st.body, around);
      }
    };
    walk(fn.body, []);
    this.constraints.set(fn, (m = found));
    return m;
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
    for (let changed = true; changed;) {
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
  return stmts.some(
    (s) =>
      s.k === 'lock' ||
      (s.k === 'if' && (hasLockOp(s.then) || hasLockOp(s.else))) ||
      (s.k === 'loop' && hasLockOp(s.body)) ||
      (s.k === 'switch' && hasLockOp(s.body)),
  );
}

const NO_SYMBOLS: ReadonlyMap<string, boolean> = new Map();

function spanKey(at: Span): string {
  return `${at.line}:${at.column}:${at.endLine}:${at.endColumn}`;
}

/** Bindings of struct fields are keyed by field and struct type: `.handler@kvm_gfn_range`, `.handler@` (type unknown). */
function fieldKey(field: string, structType: string | undefined): string {
  return `.${field}@${structType ?? ''}`;
}

/**
 * What the caller stored into `field`: with the base's type, the stores into that type and those of unknown type
 * (by name); without it, every store into a field of that name (by name). Undefined when nothing was stored.
 */
function boundField(
  bindings: Bindings | undefined,
  field: string,
  baseType: string | undefined,
): { name: string; byName: boolean }[] | undefined {
  if (!bindings) return undefined;
  const prefix = `.${field}@`;
  let found: { name: string; byName: boolean }[] | undefined;
  for (const [k, names] of bindings) {
    if (!k.startsWith(prefix)) continue;
    const type = k.slice(prefix.length);
    if (baseType && type && type !== baseType) continue;
    found ??= [];
    for (const name of names) found.push({ name, byName: !baseType || !type });
  }
  return found;
}

function fieldVia(field: string, byName: boolean): string {
  return byName ? `field .${field} (by name)` : `field .${field}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
