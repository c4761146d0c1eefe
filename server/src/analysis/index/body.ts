// Lowers one function body (a tree-sitter subtree) to the statement list of facts.ts: calls, lock operations,
// resource reads, dereferences, writes, frees, and the control flow around them. Everything else is dropped.
// Kernel macros often parse as ERROR nodes; their children are still lowered, so no call or access is lost.
import type { SyntaxNode as Node } from '../parse/flat';
import type { Model } from '../model/types';
import type { CallArg, CalleeRef, Cond, Param, ScalarSource, Stmt, ValueRef } from './facts';
import { spanOf } from './span';
import { configCall, fixesSymbols, foldConfig, hasConfig, modelSymbol, preprocCondition, type Folded } from './config';

/** Calls that only pass their argument through (for reads and conditions alike). */
const TRANSPARENT = new Set([
  'READ_ONCE',
  'ACCESS_ONCE',
  'likely',
  'unlikely',
  'rcu_dereference',
  'smp_load_acquire',
  'WARN_ON',
  'WARN_ON_ONCE',
  'WARN',
  'BUG_ON',
]);
const NULLS = new Set(['NULL', '0', '((void *)0)']);

export interface BodyContext {
  model: Model;
  /** Locals and parameters known to hold a pointer into the stage-2 tables. */
  aliases: Set<string>;
  /** Locals whose declared type is a walk type (pud_t *pud): a call result stored there is a table pointer. */
  walkLocals: Set<string>;
  varSources: { variable: string; from: { function?: string; call?: string; table?: string } }[];
  /** Parameters declared as function pointers (int (*handler)(...)). */
  fnParams: Set<string>;
  /** All parameters: a call through one is a call through a function pointer, whatever its typedef. */
  params: Set<string>;
  /** Locals set to true/false literals (bool locked = false): their tests are tracked, not guessed. */
  flags: Set<string>;
  /** Struct fields filled in local initializers: .handler = kvm_age_gfn, .handler = handler (with the struct type). */
  fieldInits: { field: string; value: string; structType?: string }[];
  /** Struct types of parameters and locals (ops -> kvm_device_ops), for calls through their fields. */
  structTypes: Map<string, string>;
  readonly lockOps: ReadonlyMap<string, Model['lockOps'][number]>;
  readonly freeCalls: ReadonlySet<string>;
  /** Calls that may sleep, and what reads the context's blockability (see the model). */
  readonly sleepCalls: ReadonlySet<string>;
  readonly blockableQueries: ReadonlySet<string>;
  readonly blockableFlags: ReadonlySet<string>;
}

/** A fresh lowering context for one function: its parameters, and the model's lock and free primitives. */
export function newBodyContext(model: Model, params: readonly Param[] = []): BodyContext {
  const aliases = new Set<string>();
  const fnParams = new Set<string>();
  const names = new Set<string>();
  const structTypes = new Map<string, string>();
  for (const p of params) {
    if (p.walks) aliases.add(p.name);
    if (p.isFunctionPointer) fnParams.add(p.name);
    names.add(p.name);
    const m = STRUCT_TYPE.exec(p.type);
    if (m) structTypes.set(p.name, m[1]);
  }
  const prims = primitivesOf(model);
  return {
    model,
    aliases,
    walkLocals: new Set(),
    varSources: [],
    fnParams,
    params: names,
    flags: new Set(),
    fieldInits: [],
    structTypes,
    ...prims,
  };
}

const STRUCT_TYPE = /^(?:const\s+)?struct\s+(\w+)/;

type Primitives = Pick<BodyContext, 'lockOps' | 'freeCalls' | 'sleepCalls' | 'blockableQueries' | 'blockableFlags'>;
const primitives = new WeakMap<Model['lockOps'], WeakMap<Model['freeCalls'], Primitives>>();

/** The model's lock and free primitives by name, made once per pair of lists (a context only reads them). */
function primitivesOf(model: Model): Primitives {
  let byFree = primitives.get(model.lockOps);
  if (!byFree) primitives.set(model.lockOps, (byFree = new WeakMap()));
  let p = byFree.get(model.freeCalls);
  if (!p) {
    p = {
      lockOps: new Map(model.lockOps.map((o) => [o.function, o])),
      freeCalls: new Set(model.freeCalls),
      sleepCalls: new Set(model.sleepCalls ?? []),
      blockableQueries: new Set(model.blockability?.queries ?? []),
      blockableFlags: new Set(model.blockability?.flags ?? []),
    };
    byFree.set(model.freeCalls, p);
  }
  return p;
}

export function lowerBlock(node: Node, cx: BodyContext): Stmt[] {
  return lowerList(
    node.namedChildren.filter((c): c is Node => c !== null),
    cx,
  );
}

/** Lowers statements given as a list of nodes (a block's children, or what follows a `{` inside an ERROR). */
export function lowerList(nodes: readonly Node[], cx: BodyContext): Stmt[] {
  const out: Stmt[] = [];
  const kids = nodes.filter((c) => c.type !== 'comment');
  for (let i = 0; i < kids.length; i++) {
    const kid = kids[i];
    const loopMacro = macroLoopHead(kid);
    if (loopMacro && i + 1 < kids.length) {
      // kvm_for_each_memslot(memslot, slots) { ... }: the macro's arguments, then the body as a loop.
      const test: Stmt[] = [];
      lowerExpr(loopMacro, cx, test, false, true);
      out.push({
        k: 'loop',
        form: 'macro',
        at: spanOf(kid),
        test,
        cond: { k: 'unknown' },
        text: loopMacro.text,
        body: lowerStmt(kids[++i], cx),
      });
      continue;
    }
    out.push(...lowerStmt(kid, cx));
  }
  return out;
}

/** A statement `foo_for_each_bar(a, b)` (missing its semicolon) that heads the statement after it. */
function macroLoopHead(node: Node): Node | undefined {
  if (node.type !== 'expression_statement') return undefined;
  const call = node.namedChild(0);
  if (!call || call.type !== 'call_expression') return undefined;
  const name = call.childForFieldName('function')?.text ?? '';
  const missingSemicolon = node.children.some((c) => c?.isMissing);
  return /for_each|_foreach/.test(name) || missingSemicolon ? call : undefined;
}

export function lowerStmt(node: Node, cx: BodyContext): Stmt[] {
  const out: Stmt[] = [];
  // Spans are made only for statements that keep one (a span costs two searches and an object).
  switch (node.type) {
    case 'compound_statement':
      return lowerBlock(node, cx);
    case 'declaration':
      lowerDeclaration(node, cx, out);
      return out;
    case 'expression_statement':
      for (const c of node.namedChildren) if (c) lowerExpr(c, cx, out);
      return out;
    case 'if_statement': {
      const at = spanOf(node);
      const cond = node.childForFieldName('condition');
      const cons = node.childForFieldName('consequence');
      const alt = node.childForFieldName('alternative');
      const thenStmts = cons ? lowerStmt(cons, cx) : [];
      const elseStmts = alt ? lowerStmt(alt.type === 'else_clause' ? (alt.namedChild(0) ?? alt) : alt, cx) : [];
      return cond ? lowerIf(cond, thenStmts, elseStmts, cx, at) : thenStmts;
    }
    case 'else_clause':
      return node.namedChild(0) ? lowerStmt(node.namedChild(0)!, cx) : [];
    case 'while_statement': {
      const at = spanOf(node);
      const test: Stmt[] = [];
      const c = node.childForFieldName('condition');
      if (c) lowerExpr(c, cx, test);
      const body = node.childForFieldName('body');
      return [
        {
          k: 'loop',
          form: 'while',
          at,
          test,
          cond: c ? lowerCond(c, cx) : { k: 'unknown' },
          text: condText(c),
          body: body ? lowerStmt(body, cx) : [],
        },
      ];
    }
    case 'do_statement': {
      const at = spanOf(node);
      const test: Stmt[] = [];
      const c = node.childForFieldName('condition');
      if (c) lowerExpr(c, cx, test);
      const body = node.childForFieldName('body');
      return [
        {
          k: 'loop',
          form: 'do',
          at,
          test,
          cond: c ? lowerCond(c, cx) : { k: 'unknown' },
          text: condText(c),
          body: body ? lowerStmt(body, cx) : [],
        },
      ];
    }
    case 'for_statement': {
      const at = spanOf(node);
      const init = node.childForFieldName('initializer');
      if (init) out.push(...(init.type === 'declaration' ? lowerStmt(init, cx) : lowerExprStmts(init, cx)));
      const test: Stmt[] = [];
      const c = node.childForFieldName('condition');
      if (c) lowerExpr(c, cx, test);
      const body = node.childForFieldName('body');
      const bodyStmts = body ? lowerStmt(body, cx) : [];
      const update = node.childForFieldName('update');
      if (update) bodyStmts.push(...lowerExprStmts(update, cx));
      out.push({
        k: 'loop',
        form: 'for',
        at,
        test,
        cond: c ? lowerCond(c, cx) : { k: 'unknown' },
        text: condText(c),
        body: bodyStmts,
      });
      return out;
    }
    case 'switch_statement': {
      const at = spanOf(node);
      const c = node.childForFieldName('condition');
      if (c) lowerExpr(c, cx, out);
      const body = node.childForFieldName('body');
      out.push({ k: 'switch', at, body: body ? lowerBlock(body, cx) : [] });
      return out;
    }
    case 'case_statement': {
      const at = spanOf(node);
      out.push({ k: 'case', at });
      const value = node.childForFieldName('value');
      for (const c of node.namedChildren)
        if (c && !sameNode(c, value) && c.type !== 'comment') out.push(...lowerStmt(c, cx));
      return out;
    }
    case 'return_statement': {
      const at = spanOf(node);
      const e = node.namedChild(0);
      const value = e ? lowerExpr(e, cx, out, true) : undefined;
      const local = e && !value ? pathOf(e, cx) : undefined;
      out.push(local ? { k: 'return', at, value, local } : { k: 'return', at, value });
      return out;
    }
    case 'break_statement':
      return [{ k: 'break', at: spanOf(node) }];
    case 'continue_statement':
      return [{ k: 'continue', at: spanOf(node) }];
    case 'goto_statement':
      return [{ k: 'goto', at: spanOf(node), label: node.childForFieldName('label')?.text ?? '' }];
    case 'labeled_statement': {
      const at = spanOf(node);
      out.push({ k: 'label', at, name: node.childForFieldName('label')?.text ?? '' });
      for (const c of node.namedChildren) if (c && c.type !== 'statement_identifier') out.push(...lowerStmt(c, cx));
      return out;
    }
    case 'comment':
    case 'preproc_call':
    // A definition inside a body is what the parser makes of the functions after a typo: indexed on its own.
    case 'function_definition':
      return out;
    case 'preproc_if':
    case 'preproc_ifdef':
    case 'preproc_elif':
    case 'preproc_elifdef': {
      // #if A ... #else ... #endif: one branch or the other is compiled in, never both. The condition is over
      // config symbols: those the model fixes decide the branch here, the others stay in the condition.
      const alt = node.childForFieldName('alternative');
      const head = node.childForFieldName('condition') ?? node.childForFieldName('name');
      const cond = foldFixed(preprocCondition(node, head), cx.model);
      const inner = node.namedChildren.filter((c): c is Node => c !== null && !sameNode(c, alt) && !sameNode(c, head));
      if (cond === true) return inner.flatMap((c) => lowerStmt(c, cx));
      if (cond === false) return alt ? lowerStmt(alt, cx) : [];
      const at = spanOf(node);
      const thenStmts = inner.flatMap((c) => lowerStmt(c, cx));
      return [
        {
          k: 'if',
          at,
          cond,
          text: `#${node.type.slice(7)} ${head?.text ?? ''}`,
          then: thenStmts,
          else: alt ? lowerStmt(alt, cx) : [],
        },
      ];
    }
    case 'preproc_else':
      return node.namedChildren.filter((c): c is Node => c !== null).flatMap((c) => lowerStmt(c, cx));
    default:
      // Other preprocessor nodes and ERROR regions hold statements: lower their children in order.
      if (node.type.startsWith('preproc_') || node.type === 'ERROR') return lowerBlock(node, cx);
      lowerExpr(node, cx, out);
      return out;
  }
}

function condText(c: Node | null): string {
  const t = (c?.text ?? '').replace(/\s+/g, ' ').trim();
  return t.startsWith('(') && t.endsWith(')') ? t.slice(1, -1) : t;
}

function lowerExprStmts(node: Node, cx: BodyContext): Stmt[] {
  const out: Stmt[] = [];
  lowerExpr(node, cx, out);
  return out;
}

function lowerDeclaration(node: Node, cx: BodyContext, out: Stmt[]): void {
  const typeNode = node.childForFieldName('type');
  const typeText = typeNode?.text ?? '';
  const structName = typeNode?.type === 'struct_specifier' ? typeNode.childForFieldName('name')?.text : undefined;
  for (const d of node.childrenForFieldName('declarator')) {
    if (!d) continue;
    const name = declaredName(d);
    if (name && structName) cx.structTypes.set(name, structName);
    const isPointer = d.text.trimStart().startsWith('*') || /\*/.test(d.childForFieldName('declarator')?.text ?? '');
    if (name && isPointer && cx.model.resource.walkTypes.includes(typeText)) cx.walkLocals.add(name);
    if (d.type !== 'init_declarator') continue;
    const value = d.childForFieldName('value');
    if (!value || !name) continue;
    if (value.type === 'initializer_list') {
      recordFieldInits(value, cx, structName);
      lowerExpr(value, cx, out);
      assignInitializedFields(name, value, cx, out, spanOf(d));
      continue;
    }
    assignLocal(name, value, cx, out, spanOf(d));
  }
}

/** The identifier a declarator declares: *pgd, pgd[4], (*handler)(...) and pgd = x all name pgd. */
export function declaredName(node: Node): string | undefined {
  let cur: Node | null = node;
  while (cur) {
    if (cur.type === 'identifier' || cur.type === 'field_identifier' || cur.type === 'type_identifier') return cur.text;
    cur =
      cur.childForFieldName('declarator') ??
      cur.namedChildren.find((c) => c && /declarator|identifier/.test(c.type)) ??
      null;
  }
  return undefined;
}

function recordFieldInits(list: Node, cx: BodyContext, structType: string | undefined): void {
  for (const item of list.namedChildren) {
    if (!item || item.type !== 'initializer_pair') continue;
    const designator = item.childForFieldName('designator') ?? item.namedChild(0);
    let v = item.childForFieldName('value');
    while (v && (v.type === 'cast_expression' || v.type === 'parenthesized_expression'))
      v = v.childForFieldName('value') ?? v.namedChild(v.namedChildCount - 1);
    if (v?.type === 'pointer_expression' && v.child(0)?.type === '&') v = v.childForFieldName('argument');
    // A field set to something that is not a function name (NULL, an expression) calls nothing we know.
    if (designator?.type === 'field_designator')
      cx.fieldInits.push({
        field: designator.text.replace(/^\./, ''),
        value: v?.type === 'identifier' ? v.text : '',
        ...(structType ? { structType } : {}),
      });
  }
}

/**
 * `struct kvm_gfn_range range = { .may_block = x, .lockless = false }`: each designated field is a path of the local
 * (range.may_block) that gets its value here, like an assignment.
 */
function assignInitializedFields(
  name: string,
  list: Node,
  cx: BodyContext,
  out: Stmt[],
  at: ReturnType<typeof spanOf>,
): void {
  for (const item of list.namedChildren) {
    if (!item || item.type !== 'initializer_pair') continue;
    const designator = item.childForFieldName('designator') ?? item.namedChild(0);
    const value = item.childForFieldName('value');
    if (designator?.type !== 'field_designator' || !value || value.type === 'initializer_list') continue;
    const path = `${name}.${designator.text.replace(/^\./, '')}`;
    const scratch: Stmt[] = [];
    const v = lowerExpr(value, cx, scratch);
    if (v) {
      cx.aliases.add(path);
      out.push({ k: 'assign', local: path, value: v, at });
    } else {
      const flag = constantOf(value);
      out.push({ k: 'assign', local: path, at, ...(flag ? { flag } : scalarOf(value, cx)) });
    }
  }
}

/**
 * local (a variable or a path such as r.found_memslot) := value. Every assignment is kept, so a later test of the
 * local sees what was stored last: a constant, a copy of another local, the resource, or unknown.
 */
function assignLocal(name: string, value: Node, cx: BodyContext, out: Stmt[], at: ReturnType<typeof spanOf>): void {
  const literal = constantOf(value);
  if (literal) {
    cx.flags.add(name);
    cx.aliases.delete(name);
    out.push({ k: 'assign', local: name, flag: literal, at });
    return;
  }
  const source = functionSource(value);
  if (source) cx.varSources.push({ variable: name, from: source });
  const v = lowerExpr(value, cx, out, cx.walkLocals.has(name) || cx.aliases.has(name) || isHolderPath(name, cx));
  if (v) {
    cx.aliases.add(name);
    out.push({ k: 'assign', local: name, value: v, at });
    return;
  }
  cx.aliases.delete(name);
  const call = strip(value).type === 'call_expression' ? out[out.length - 1] : undefined;
  if (call?.k === 'call' && call.at.line === at.line && !scalarOf(value, cx).blockable) {
    // r = helper(...): after the call, r holds whatever the helper's returned struct held (program.ts), else unknown.
    call.resultTo = name;
    return;
  }
  out.push({ k: 'assign', local: name, at, ...scalarOf(value, cx) });
}

const TRUE_WORDS = new Set(['true', '1']);
const FALSE_WORDS = new Set(['false', '0', 'NULL', '((void *)0)']);

/** true, false, 0, 1, NULL and other integer literals, through parentheses and casts. */
export function constantOf(node: Node): 'true' | 'false' | undefined {
  const inner = strip(node);
  const t = inner.text.trim();
  if (TRUE_WORDS.has(t)) return 'true';
  if (FALSE_WORDS.has(t)) return 'false';
  if (inner.type === 'number_literal') return /^0+[uUlL]*$|^0[xX]0+[uUlL]*$/.test(t) ? 'false' : 'true';
  return undefined;
}

function strip(node: Node): Node {
  let n = node;
  while ((n.type === 'parenthesized_expression' || n.type === 'cast_expression') && n.namedChildCount > 0) {
    n = n.childForFieldName('value') ?? n.namedChild(n.namedChildCount - 1)!;
  }
  return n;
}

/** What a non-resource value is: a copy of a local or path, the context's blockability, or unknown ({}). */
function scalarOf(node: Node, cx: BodyContext): ScalarSource {
  const n = strip(node);
  if (isBlockabilityQuery(n, cx)) return { blockable: true };
  if (n.type === 'call_expression' && TRANSPARENT.has(n.childForFieldName('function')?.text ?? '')) {
    const arg = n.childForFieldName('arguments')?.namedChild(0);
    return arg ? scalarOf(arg, cx) : {};
  }
  const path = pathOf(n, cx);
  return path ? { copy: path } : {};
}

/** mmu_notifier_range_blockable(range), or flags & MMU_NOTIFIER_RANGE_BLOCKABLE: whether this call may block. */
function isBlockabilityQuery(n: Node, cx: BodyContext): boolean {
  if (n.type === 'call_expression') return cx.blockableQueries.has(n.childForFieldName('function')?.text ?? '');
  if (n.type === 'binary_expression' && n.child(1)?.type === '&') {
    const l = n.childForFieldName('left');
    const r = n.childForFieldName('right');
    return (!!l && cx.blockableFlags.has(strip(l).text)) || (!!r && cx.blockableFlags.has(strip(r).text));
  }
  return false;
}

/**
 * The local or path an expression names: x, r.found_memslot, range->lockless (written range.lockless: a pointer's
 * fields and a struct's fields are one path, so a callee's p->f is the caller's x.f when it was given &x).
 */
export function pathOf(node: Node, cx: { model: Model }): string | undefined {
  const n = strip(node);
  if (n.type === 'identifier') return FALSE_WORDS.has(n.text) || TRUE_WORDS.has(n.text) ? undefined : n.text;
  if (n.type === 'field_expression') {
    if (isRootField(n, cx)) return undefined;
    const base = n.childForFieldName('argument');
    const field = n.childForFieldName('field')?.text;
    const b = base ? pathOf(base, cx) : undefined;
    return b && field ? `${b}.${field}` : undefined;
  }
  if (n.type === 'pointer_expression' && n.child(0)?.type === '&') {
    const arg = n.childForFieldName('argument');
    return arg ? pathOf(arg, cx) : undefined;
  }
  // *locked: what a pointer points to (a callee given &x sees x there).
  if (n.type === 'pointer_expression' && n.child(0)?.type === '*') {
    const arg = n.childForFieldName('argument');
    const b = arg ? pathOf(arg, cx) : undefined;
    return b ? `${b}.*` : undefined;
  }
  return undefined;
}

/** A path whose last field has the resource's name (gstage.pgd, mmu.pgt): a holder of a copy of the root. */
function isHolderPath(path: string, cx: { model: Model }): boolean {
  const dot = path.lastIndexOf('.');
  const fp = cx.model.resource.fieldPath;
  return dot > 0 && path.slice(dot + 1) === fp[fp.length - 1];
}

/** Where a function-pointer variable's value comes from: f, &f, table[i], or a call's result. */
function functionSource(value: Node): { function?: string; call?: string; table?: string } | undefined {
  let v = value;
  while (v.type === 'parenthesized_expression' || v.type === 'cast_expression')
    v = v.childForFieldName('value') ?? v.namedChild(v.namedChildCount - 1)!;
  if (v.type === 'identifier') return { function: v.text };
  if (
    v.type === 'pointer_expression' &&
    v.child(0)?.type === '&' &&
    v.childForFieldName('argument')?.type === 'identifier'
  ) {
    return { function: v.childForFieldName('argument')!.text };
  }
  if (v.type === 'subscript_expression' && v.childForFieldName('argument')?.type === 'identifier') {
    return { table: v.childForFieldName('argument')!.text };
  }
  if (v.type === 'call_expression' && v.childForFieldName('function')?.type === 'identifier') {
    return { call: v.childForFieldName('function')!.text };
  }
  return undefined;
}

/** Does `node` name the resource field (kvm->arch.pgd, kvm->arch.mmu.pgt)? */
export function isRootField(node: Node, cx: { model: Model }): boolean {
  if (node.type !== 'field_expression') return false;
  const path = cx.model.resource.fieldPath;
  let cur: Node | null = node;
  for (let i = path.length - 1; i >= 0; i--) {
    if (!cur || cur.type !== 'field_expression' || cur.childForFieldName('field')?.text !== path[i]) return false;
    cur = cur.childForFieldName('argument');
  }
  return true;
}

/**
 * Emits the effects of evaluating `node` into `out`, in evaluation order, and returns the resource value it
 * yields, if any (the field, an alias, or a pointer computed from them). `wantValue` asks for call results too.
 */
export function lowerExpr(
  node: Node,
  cx: BodyContext,
  out: Stmt[],
  wantValue = false,
  isCallArg = false,
): ValueRef | undefined {
  switch (node.type) {
    case 'identifier':
      return cx.aliases.has(node.text) ? { kind: 'local', name: node.text } : undefined;
    case 'parenthesized_expression':
    case 'cast_expression': {
      const inner = node.childForFieldName('value') ?? node.namedChild(node.namedChildCount - 1);
      return inner ? lowerExpr(inner, cx, out, wantValue, isCallArg) : undefined;
    }
    case 'field_expression': {
      if (isRootField(node, cx)) return { kind: 'field' };
      const base = node.childForFieldName('argument');
      const v = base ? lowerExpr(base, cx, out) : undefined;
      if (v) {
        out.push({ k: 'deref', value: v, at: spanOf(node), text: node.text });
        return undefined;
      }
      // gstage->pgd: a copy of the root kept in a struct (here, or by a helper that filled the caller's struct).
      const path = pathOf(node, cx);
      return path && (cx.aliases.has(path) || isHolderPath(path, cx)) ? { kind: 'local', name: path } : undefined;
    }
    case 'pointer_expression': {
      const arg = node.childForFieldName('argument');
      const v = arg ? lowerExpr(arg, cx, out) : undefined;
      if (v && node.child(0)?.type === '*') out.push({ k: 'deref', value: v, at: spanOf(node), text: node.text });
      return undefined;
    }
    case 'subscript_expression': {
      const arg = node.childForFieldName('argument');
      const v = arg ? lowerExpr(arg, cx, out) : undefined;
      const index = node.childForFieldName('index') ?? node.childForFieldName('indices');
      if (index) lowerExpr(index, cx, out);
      if (v) out.push({ k: 'deref', value: v, at: spanOf(node), text: node.text });
      return undefined;
    }
    case 'binary_expression': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      const op = node.childForFieldName('operator')?.type ?? node.child(1)?.type;
      if (op === '&' && isBlockabilityQuery(node, cx)) {
        out.push({ k: 'assign', local: tempName('$blk', node), blockable: true, at: spanOf(node) });
        return undefined;
      }
      const lv = left ? lowerExpr(left, cx, out) : undefined;
      const rv = right ? lowerExpr(right, cx, out) : undefined;
      return op === '+' || op === '-' ? (lv ?? rv) : undefined;
    }
    case 'update_expression': {
      const arg = node.childForFieldName('argument');
      const v = arg ? lowerExpr(arg, cx, out) : undefined;
      const path = arg ? pathOf(arg, cx) : undefined;
      if (path && !v && !cx.aliases.has(path)) out.push({ k: 'assign', local: path, at: spanOf(node) });
      return v;
    }
    case 'assignment_expression':
      return lowerAssignment(node, cx, out);
    case 'comma_expression': {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (left) lowerExpr(left, cx, out);
      return right ? lowerExpr(right, cx, out, wantValue) : undefined;
    }
    case 'call_expression':
      return lowerCall(node, cx, out, wantValue);
    case 'sizeof_expression':
    case 'alignof_expression':
    case 'offsetof_expression':
    case 'string_literal':
    case 'number_literal':
    case 'char_literal':
      return undefined;
    default:
      for (const c of node.namedChildren) if (c) lowerExpr(c, cx, out, false, isCallArg);
      return undefined;
  }
}

function lowerAssignment(node: Node, cx: BodyContext, out: Stmt[]): ValueRef | undefined {
  const left = node.childForFieldName('left');
  const right = node.childForFieldName('right');
  const op = node.childForFieldName('operator')?.text ?? '=';
  if (!left || !right) return undefined;
  const at = spanOf(node);
  if (isRootField(left, cx)) {
    const rv = lowerExpr(right, cx, out);
    out.push({ k: 'write', at, value: NULLS.has(right.text.trim()) ? 'null' : (rv ?? 'other') });
    return undefined;
  }
  if (left.type === 'identifier') {
    if (op === '=') assignLocal(left.text, right, cx, out, at);
    else {
      lowerExpr(right, cx, out);
      out.push({ k: 'assign', local: left.text, at });
    }
    return cx.aliases.has(left.text) ? { kind: 'local', name: left.text } : undefined;
  }
  const path =
    left.type === 'field_expression' || (left.type === 'pointer_expression' && left.child(0)?.type === '*')
      ? pathOf(left, cx)
      : undefined;
  if (path && !(left.type === 'pointer_expression' && cx.aliases.has(path.slice(0, -2)))) {
    // r.found_memslot = true, gstage->pgd = kvm->arch.pgd: the path's base is evaluated (it may be a table pointer).
    const base = left.childForFieldName('argument');
    if (base) lowerExpr(base, cx, out);
    if (op === '=') assignLocal(path, right, cx, out, at);
    else {
      lowerExpr(right, cx, out);
      out.push({ k: 'assign', local: path, at });
    }
    return undefined;
  }
  lowerExpr(right, cx, out);
  lowerExpr(left, cx, out);
  return undefined;
}

function calleeOf(fn: Node): CalleeRef | undefined {
  let f = fn;
  // (*fn)(args) and (fn)(args); but (u64)(x) is a cast tree-sitter reads as a call, so only strip around a '*'.
  while (
    (f.type === 'parenthesized_expression' && f.namedChild(0)?.type === 'pointer_expression') ||
    (f.type === 'pointer_expression' && f.child(0)?.type === '*')
  ) {
    f = f.childForFieldName('argument') ?? f.namedChild(0)!;
  }
  if (f.type === 'identifier') return { kind: 'direct', name: f.text };
  if (f.type === 'field_expression') return { kind: 'field', field: f.childForFieldName('field')?.text ?? '' };
  // KVM_PGT_FN(f)(args): a call of what a macro yields (the call graph expands it).
  const macro = f.type === 'call_expression' ? f.childForFieldName('function') : null;
  if (macro?.type === 'identifier')
    return {
      kind: 'macro',
      name: macro.text,
      macroArgs: (f.childForFieldName('arguments')?.namedChildren ?? []).flatMap((a) =>
        a && a.type !== 'comment' ? [a.text] : [],
      ),
    };
  return undefined;
}

/** The struct type of a field call's base when it is a parameter or local of known type: ops->release(). */
function baseStructType(fnNode: Node, cx: BodyContext): string | undefined {
  const base = fnNode.childForFieldName('argument');
  return base?.type === 'identifier' ? cx.structTypes.get(base.text) : undefined;
}

function lowerCall(node: Node, cx: BodyContext, out: Stmt[], wantValue: boolean): ValueRef | undefined {
  const at = spanOf(node);
  const fnNode = node.childForFieldName('function');
  const argNodes = (node.childForFieldName('arguments')?.namedChildren ?? []).filter(
    (a): a is Node => a !== null && a.type !== 'comment',
  );
  const callee = fnNode ? calleeOf(fnNode) : undefined;
  const name = callee?.kind === 'direct' ? callee.name : undefined;

  if (name && TRANSPARENT.has(name)) {
    let v: ValueRef | undefined;
    argNodes.forEach((a, i) => {
      const av = lowerExpr(a, cx, out, wantValue);
      if (i === 0) v = av;
    });
    return v;
  }
  if (name === 'WRITE_ONCE' && argNodes.length === 2 && isRootField(argNodes[0], cx)) {
    const rv = lowerExpr(argNodes[1], cx, out);
    out.push({ k: 'write', at, value: NULLS.has(argNodes[1].text.trim()) ? 'null' : (rv ?? 'other') });
    return undefined;
  }
  const lockOp = name ? cx.lockOps.get(name) : undefined;
  if (lockOp) {
    for (const a of argNodes) lowerExpr(a, cx, out);
    if (lockOp.sleeps || lockOp.op === 'resched') out.push({ k: 'sleep', fn: lockOp.function, at });
    const stmt: Stmt = {
      k: 'lock',
      op: lockOp.op,
      mode: lockOp.mode,
      fn: lockOp.function,
      lock: lockOp.lock ?? lockName(argNodes[0]),
      at,
    };
    if (lockOp.op === 'trylock') stmt.result = tempName('$try', node);
    out.push(stmt);
    return undefined;
  }
  if (name && cx.blockableQueries.has(name)) {
    for (const a of argNodes) lowerExpr(a, cx, out);
    out.push({ k: 'assign', local: tempName('$blk', node), blockable: true, at });
    return undefined;
  }
  if (name && cx.sleepCalls.has(name)) out.push({ k: 'sleep', fn: name, at });
  if (name && cx.freeCalls.has(name)) {
    const values = argNodes.map((a) => lowerExpr(a, cx, out, true));
    const v = values[0];
    if (v) out.push({ k: 'free', value: v, fn: name, at });
    return undefined;
  }
  if (fnNode && callee?.kind === 'field') {
    const base = fnNode.childForFieldName('argument');
    if (base) lowerExpr(base, cx, out);
  }
  const args: CallArg[] = argNodes.map((a) => {
    const v = lowerExpr(a, cx, out, false, true);
    const arg: CallArg = { text: a.text };
    const fname = functionArg(a);
    if (fname) arg.functionName = fname;
    if (v) arg.value = v;
    else {
      const flag = constantOf(a);
      const scalar = flag ? { flag } : scalarOf(a, cx);
      if (scalar.copy) {
        arg.path = scalar.copy;
        if (strip(a).type === 'pointer_expression' && strip(a).child(0)?.type === '&') arg.addressOf = true;
      } else if (scalar.flag || scalar.blockable) arg.scalar = scalar;
      // A blockability test made in the argument (flags & MMU_NOTIFIER_RANGE_BLOCKABLE) was given a temp: pass it.
      if (!flag && !scalar.copy && isBlockabilityQuery(strip(a), cx)) arg.scalar = { blockable: true };
    }
    return arg;
  });
  if (!callee) return undefined;
  const ref: CalleeRef =
    callee.kind === 'direct' && (cx.params.has(callee.name) || isFunctionVariable(callee.name, cx))
      ? { kind: 'variable', name: callee.name }
      : callee;
  if (ref.kind === 'field' && fnNode) {
    const baseType = baseStructType(fnNode, cx);
    if (baseType) ref.baseType = baseType;
  }
  const stmt: Stmt = { k: 'call', callee: ref, args, at };
  out.push(stmt);
  if (!wantValue) return undefined;
  // A call whose result may point into the tables: the callee's return (if indexed) or, for macros such as
  // stage2_pud_offset(pgd, addr), the table pointer it was given.
  const tmp = `$ret@${at.line}:${at.column}`;
  stmt.assignTo = tmp;
  cx.aliases.add(tmp);
  return { kind: 'local', name: tmp };
}

/** A temporary named after the expression's place, so the lowering of a condition finds what its effects set. */
function tempName(prefix: string, node: Node): string {
  return `${prefix}@${node.startIndex}`;
}

/** A call through a function-pointer parameter or a local that was given a function (or table entry). */
function isFunctionVariable(name: string, cx: BodyContext): boolean {
  return cx.fnParams.has(name) || cx.varSources.some((s) => s.variable === name);
}

function functionArg(a: Node): string | undefined {
  if (a.type === 'identifier') return a.text;
  if (a.type === 'pointer_expression' && a.child(0)?.type === '&') {
    const inner = a.childForFieldName('argument');
    if (inner?.type === 'identifier') return inner.text;
  }
  return undefined;
}

/** The lock's name: the last identifier of its expression (&kvm->mmu_lock -> mmu_lock). */
function lockName(arg: Node | undefined): string {
  if (!arg) return '?';
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\)*\s*$/.exec(arg.text);
  return m ? m[1] : arg.text;
}

/** The condition of an if/while as far as the resource is concerned. */
export function lowerCond(node: Node, cx: BodyContext): Cond {
  switch (node.type) {
    case 'parenthesized_expression':
    case 'condition_clause': {
      const inner = node.childForFieldName('value') ?? node.namedChild(node.namedChildCount - 1);
      return inner ? lowerCond(inner, cx) : { k: 'unknown' };
    }
    case 'unary_expression':
      if (node.child(0)?.type === '!') {
        const arg = node.childForFieldName('argument');
        return arg ? negate(lowerCond(arg, cx)) : { k: 'unknown' };
      }
      return { k: 'unknown' };
    case 'binary_expression': {
      const op = node.child(1)?.type;
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (!left || !right) return { k: 'unknown' };
      if (op === '&&' || op === '||') {
        const a = lowerCond(left, cx);
        const b = lowerCond(right, cx);
        // Nothing about the resource on either side: the whole condition is unknown (and no guard).
        if (a.k === 'unknown' && b.k === 'unknown') return a;
        return { k: op === '&&' ? 'and' : 'or', a, b };
      }
      if (op === '==' || op === '!=') {
        const [v, other] = NULLS.has(right.text.trim()) ? [valueOf(left, cx), right] : [valueOf(right, cx), left];
        if (v && NULLS.has(other.text.trim())) {
          const isnull: Cond = { k: 'isnull', value: v };
          return op === '==' ? isnull : negate(isnull);
        }
        // x == false, r.found != 0: a flag test.
        const exact = (n: Node): 'true' | 'false' | undefined =>
          TRUE_WORDS.has(n.text.trim()) || FALSE_WORDS.has(n.text.trim()) ? constantOf(n) : undefined;
        const [subject, constant] = exact(right) ? [left, exact(right)] : [right, exact(left)];
        const path =
          constant && (subject.type === 'identifier' || subject.type === 'field_expression')
            ? pathOf(subject, cx)
            : undefined;
        if (path) {
          const flag: Cond = { k: 'flag', name: path };
          return (op === '==') === (constant === 'true') ? flag : negate(flag);
        }
      }
      return { k: 'unknown' };
    }
    case 'call_expression': {
      const name = node.childForFieldName('function')?.text ?? '';
      const arg = node.childForFieldName('arguments')?.namedChild(0);
      if (TRANSPARENT.has(name) && arg) return lowerCond(arg, cx);
      // if (spin_trylock(&kvm->mmu_lock)), if (mmu_notifier_range_blockable(range)): the value the call's effect set.
      if (cx.lockOps.get(name)?.op === 'trylock') return { k: 'flag', name: tempName('$try', node) };
      if (cx.blockableQueries.has(name)) return { k: 'flag', name: tempName('$blk', node) };
      const config = configCall(node);
      if (config) return config;
      return { k: 'unknown' };
    }
  }
  const v = valueOf(node, cx);
  if (v) return negate({ k: 'isnull', value: v });
  if (isBlockabilityQuery(node, cx)) return { k: 'flag', name: tempName('$blk', node) };
  const path =
    node.type === 'identifier' || node.type === 'field_expression' || node.type === 'pointer_expression'
      ? pathOf(node, cx)
      : undefined;
  return path ? { k: 'flag', name: path } : { k: 'unknown' };
}

function negate(c: Cond): Cond {
  return c.k === 'not' ? c.c : c.k === 'unknown' ? c : { k: 'not', c };
}

/** The resource value an expression denotes, without emitting effects (for conditions). */
function valueOf(node: Node, cx: BodyContext): ValueRef | undefined {
  if (node.type === 'parenthesized_expression')
    return node.namedChild(0) ? valueOf(node.namedChild(0)!, cx) : undefined;
  if (node.type === 'call_expression' && TRANSPARENT.has(node.childForFieldName('function')?.text ?? '')) {
    const arg = node.childForFieldName('arguments')?.namedChild(0);
    return arg ? valueOf(arg, cx) : undefined;
  }
  if (isRootField(node, cx)) return { kind: 'field' };
  if (node.type === 'identifier' && cx.aliases.has(node.text)) return { kind: 'local', name: node.text };
  return undefined;
}

/**
 * `if (cond)` with short-circuit operands that have effects (if (!pgd || pgd_none(*pgd))) becomes nested ifs, so
 * a dereference in the right operand runs only when the left one let it.
 */
function lowerIf(
  condNode: Node,
  thenStmts: Stmt[],
  elseStmts: Stmt[],
  cx: BodyContext,
  at: ReturnType<typeof spanOf>,
): Stmt[] {
  let c = condNode;
  while (c.type === 'parenthesized_expression' || c.type === 'condition_clause') {
    const inner = c.childForFieldName('value') ?? c.namedChild(c.namedChildCount - 1);
    if (!inner) break;
    c = inner;
  }
  if (c.type === 'binary_expression') {
    const op = c.child(1)?.type;
    const left = c.childForFieldName('left');
    const right = c.childForFieldName('right');
    if (left && right && (op === '||' || op === '&&') && hasEffects(right, cx)) {
      const inner = lowerIf(right, thenStmts, elseStmts, cx, at);
      return op === '||' ? lowerIf(left, thenStmts, inner, cx, at) : lowerIf(left, inner, elseStmts, cx, at);
    }
  }
  if (c.type === 'unary_expression' && c.child(0)?.type === '!') {
    const arg = c.childForFieldName('argument');
    let a = arg;
    while (a && a.type === 'parenthesized_expression') a = a.namedChild(0);
    if (a && a.type === 'binary_expression' && ['||', '&&'].includes(a.child(1)?.type ?? '') && hasEffects(a, cx)) {
      return lowerIf(a, elseStmts, thenStmts, cx, at);
    }
  }
  const out: Stmt[] = [];
  lowerExpr(c, cx, out);
  // if (IS_ENABLED(CONFIG_X)): a symbol the model fixes decides the branch.
  const cond = foldFixed(lowerCond(c, cx), cx.model);
  if (typeof cond === 'boolean') return [...out, ...(cond ? thenStmts : elseStmts)];
  out.push({ k: 'if', at, cond, text: condText(c), then: thenStmts, else: elseStmts });
  return out;
}

function hasEffects(node: Node, cx: BodyContext): boolean {
  const scratch: Stmt[] = [];
  const aliasesBefore = new Set(cx.aliases);
  lowerExpr(node, { ...cx, varSources: [...cx.varSources] }, scratch);
  for (const a of cx.aliases) if (!aliasesBefore.has(a)) cx.aliases.delete(a);
  return scratch.length > 0;
}

/**
 * The return type as written before the name, without storage classes and kernel attributes: `static
 * __always_inline int foo(` gives int, `static pud_t *stage2_get_pud(` gives pud_t *. Read from the text because
 * attribute macros often land in ERROR nodes.
 */
export function cleanReturnType(head: string): string {
  const words = head
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\b__\w+\s*\([^()]*\)/g, ' ')
    .replace(/\*/g, ' * ')
    .split(/\s+/)
    .filter((w) => w && !/^(static|inline|extern|noinline|notrace|__\w+|asmlinkage)$/.test(w));
  const type = words.join(' ').replace(/\s+\*/g, ' *').replace(/\* \*/g, '**').trim();
  return type || 'int';
}

/** A condition with the config symbols the model fixes folded (true/false when they decide it). */
function foldFixed(c: Folded, model: Model): Folded {
  return typeof c === 'boolean' || !fixesSymbols(model) || !hasConfig(c)
    ? c
    : foldConfig(c, (s) => modelSymbol(model, s));
}

/** Every access returns a new node object (as web-tree-sitter does): nodes are the same when their places are. */
function sameNode(a: Node | null | undefined, b: Node | null | undefined): boolean {
  return !!a && !!b && a.startIndex === b.startIndex && a.endIndex === b.endIndex && a.type === b.type;
}
