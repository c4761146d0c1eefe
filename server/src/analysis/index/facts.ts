// Per-file facts the indexer extracts from one syntax tree. Plain data: cached, compared and sent between stages.

/** Zero-based line and column (UTF-16 code units) in the file's text. */
export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Where a value of the resource lives: the field itself, or a local (or parameter) holding a copy of it. */
export type ValueRef = { kind: 'field' } | { kind: 'local'; name: string };

/** A constant a flag is set to: true, or non-zero (bool locked = true), and false, 0 or NULL. */
export type FlagValue = 'true' | 'false';

/**
 * What an assignment to a local or a path (r.found, range->may_block) stores, besides a resource value: a constant,
 * a copy of another local or path, the context's blockability (mmu_notifier_range_blockable(range)), or nothing
 * known (the slot becomes unknown).
 */
export interface ScalarSource {
  flag?: FlagValue;
  copy?: string;
  blockable?: true;
}

/** A boolean condition over the resource, as far as the analysis can tell; other atoms are unknown. */
export type Cond =
  | { k: 'isnull'; value: ValueRef }
  /** A local or a path (r.found_memslot, range->lockless, written range.lockless) is true / non-zero. */
  | { k: 'flag'; name: string }
  | { k: 'not'; c: Cond }
  | { k: 'and'; a: Cond; b: Cond }
  | { k: 'or'; a: Cond; b: Cond }
  /**
   * A configuration symbol is defined (#ifdef X, defined(X), IS_ENABLED(CONFIG_X) as X or X_MODULE). Symbols the
   * model fixes (its config, a kernel .config, macros the tree's headers define) are folded away when indexing;
   * the rest take one value per path.
   */
  | { k: 'config'; symbol: string }
  | { k: 'unknown' };

export interface CallArg {
  text: string;
  /** The argument names a function (f or &f): a candidate for a function-pointer parameter. */
  functionName?: string;
  /** The argument carries the resource (the field, or a local alias of it). */
  value?: ValueRef;
  /** The argument is a local or path (x, r.found, &r): the callee's parameter copies it, and its fields are the caller's. */
  path?: string;
  /** The argument is &path: the callee's *p is path itself. */
  addressOf?: boolean;
  /** The argument is a constant (true, false, 0, 1, NULL) or the context's blockability. */
  scalar?: ScalarSource;
}

export type CalleeRef =
  | { kind: 'direct'; name: string }
  /** Through a parameter or local variable holding a function pointer. */
  | { kind: 'variable'; name: string }
  /** Through a struct field: ops->release(...), range->handler(...); the base's struct type when known. */
  | { kind: 'field'; field: string; baseType?: string }
  /** Through what a function-like macro yields: KVM_PGT_FN(f)(args); macroArgs are the macro's own arguments. */
  | { kind: 'macro'; name: string; macroArgs: string[] };

/**
 * One statement of a function body in program order. Only what the lifetime analysis needs survives:
 * calls, lock operations, reads/dereferences/writes/frees of the resource, control flow.
 */
export type Stmt =
  /** resultTo: the local (or path) the call's value is stored in, when it is not the resource (struct returns). */
  | { k: 'call'; callee: CalleeRef; args: CallArg[]; at: Span; assignTo?: string; resultTo?: string }
  /** trylock: result names the local that holds whether it succeeded (it fails on a lock anyone holds). */
  | {
      k: 'lock';
      op: 'acquire' | 'release' | 'resched' | 'trylock';
      lock: string;
      mode: 'exclusive' | 'shared';
      fn: string;
      at: Span;
      result?: string;
    }
  /** A call that may sleep (cond_resched, mutex_lock, might_sleep): not allowed where the context may not block. */
  | { k: 'sleep'; fn: string; at: Span }
  /**
   * local := value. The local is a variable or a path (gstage.pgd, r.found_memslot); value: a copy of the root or
   * of a pointer into the tables; scalar: a constant, a copy, or the blockability; neither: unknown from here on.
   */
  | ({ k: 'assign'; local: string; value?: ValueRef; at: Span } & ScalarSource)
  | { k: 'deref'; value: ValueRef; at: Span; text: string }
  | { k: 'write'; value: ValueRef | 'null' | 'other'; at: Span }
  | { k: 'free'; value: ValueRef; fn: string; at: Span }
  /** text: the condition as written, for witnesses and hovers. */
  | { k: 'if'; cond: Cond; text: string; then: Stmt[]; else: Stmt[]; at: Span }
  /** test: effects of evaluating the loop condition; cond: what it says about the resource. */
  | {
      k: 'loop';
      body: Stmt[];
      at: Span;
      form: 'do' | 'while' | 'for' | 'macro';
      test: Stmt[];
      cond: Cond;
      text: string;
    }
  | { k: 'switch'; body: Stmt[]; at: Span }
  | { k: 'case'; at: Span }
  /** local: the function returns a local by value (a struct whose fields the caller's variable receives). */
  | { k: 'return'; value?: ValueRef; local?: string; at: Span }
  | { k: 'break'; at: Span }
  | { k: 'continue'; at: Span }
  | { k: 'goto'; label: string; at: Span }
  | { k: 'label'; name: string; at: Span };

export interface Param {
  name: string;
  type: string;
  isFunctionPointer: boolean;
  /** The parameter points into the stage-2 tables (its type is one of the model's walk types). */
  walks: boolean;
}

export interface CallSiteFacts {
  callee: CalleeRef;
  args: CallArg[];
  at: Span;
  /** Locks held at the call, by lock name, as far as this function's own code shows. */
  locksHeld: string[];
  /** Guards of the resource that dominate the call (the call runs only when they found it non-NULL). */
  guards: Span[];
}

export interface ResourceUse {
  kind: 'read' | 'deref' | 'guard' | 'write' | 'free';
  at: Span;
  /** Locks held there (this function's own code). */
  locksHeld: string[];
}

export interface GuardFacts {
  at: Span;
  /** early-exit: if (!p) return; the rest of the block is protected. block: if (p) { ... }. */
  form: 'early-exit' | 'block';
  /** What the guard protects. */
  protects: Span;
  onField: boolean;
}

export interface FunctionFacts {
  name: string;
  file: string;
  /** The declared return type as written, with pointer stars: int, pud_t *, void, bool. */
  returnType: string;
  params: Param[];
  span: Span;
  nameSpan: Span;
  body: Stmt[];
  bodySpan: Span;
  calls: CallSiteFacts[];
  uses: ResourceUse[];
  guards: GuardFacts[];
  /** Reads the root itself in order to dereference, write or free it (a "walker" or the free path). */
  touchesRoot: boolean;
  /**
   * Struct fields this function fills with functions: local initializers (.handler = handler / = f) and
   * assignments (x->handler = f), with the struct's type when the declaration or the base's type says it.
   */
  fieldInits: { field: string; value: string; structType?: string }[];
  /** Where local function-pointer variables get their value (for calls through them). */
  varSources: { variable: string; from: { function?: string; call?: string; table?: string } }[];
  /** Hash of the function's text, for caches. */
  hash: string;
  /** The function was recovered from a region tree-sitter could not parse. */
  recovered: boolean;
}

/** A struct or array initializer naming functions: ops tables and dispatch arrays. */
export interface TableFacts {
  variable: string;
  structType?: string;
  file: string;
  at: Span;
  entries: { key: string; keyKind: 'field' | 'index'; function: string; at: Span }[];
}

/** A function name in a macro's expansion: fixed (param absent), or a parameter pasted in between (pkvm_##fn). */
export interface MacroName {
  prefix: string;
  /** The index of the macro parameter pasted between prefix and suffix. */
  param?: number;
  suffix: string;
}

/**
 * A function-like macro whose expansion calls or names functions. `KVM_PGT_FN(fn)` defined as
 * `(is_protected_kvm_enabled() ? pkvm_##fn : fn)` calls is_protected_kvm_enabled and names pkvm_##fn and fn, so
 * `KVM_PGT_FN(f)(args)` calls f (and pkvm_f) with args.
 */
export interface MacroAlias {
  name: string;
  params: string[];
  /** The last parameter is `...`: argument index params.length stands for __VA_ARGS__, the rest of the arguments. */
  variadic?: boolean;
  /** The calls of the expansion, in order; each argument is the index of the macro parameter it is, or its text. */
  calls: { callee: MacroName; args: (number | string)[] }[];
  /** Functions the expansion names without calling them (its value, when the macro's result is called). */
  values: MacroName[];
}

export interface Problem {
  file: string;
  at: Span;
  severity: 'error' | 'warning' | 'info';
  message: string;
  /**
   * What kind of problem it is, for programs (the message is for people): `too-deep` (a function nested past the
   * bound was left out: the run did not check everything), `too-long-line` (a file skipped before parsing for a
   * line over the bound), `model-limit` (a model file over a size, nesting or entry limit: it is not used).
   */
  code?: string;
}

export interface FileFacts {
  file: string;
  functions: FunctionFacts[];
  tables: TableFacts[];
  /** Functions that return an element of a table: kvm_get_exit_handler returns arm_exit_handlers[ec]. */
  tableReturns: { function: string; table: string }[];
  /** Function-like macros that call or name functions: #define stage2_apply_range_resched(kvm, a, e, fn) stage2_apply_range(kvm, a, e, fn, true). */
  macros: MacroAlias[];
  /** Parse problems that may hide code (ERROR regions), reported once per region. */
  problems: Problem[];
}
