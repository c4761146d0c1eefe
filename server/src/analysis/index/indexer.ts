// Extracts the facts of one C file from its syntax tree: functions (with lowered bodies), tables of function
// pointers, and the functions that return table entries. Never throws on odd input: what cannot be read becomes a
// Problem with a location.
import type { Tree } from '../parse/parser';
import { flatten, sourceText, walkNamed, type FlatTree, type SyntaxNode as Node } from '../parse/flat';
import type { Model } from '../model/types';
import { cleanReturnType, declaredName, lowerBlock, newBodyContext } from './body';
import { annotate } from './annotate';
import type { FileFacts, FunctionFacts, MacroAlias, MacroName, Param, Problem, TableFacts } from './facts';
import { hashText, spanOf } from './span';
import { recoverFunctions } from './recover';
import { excessNesting, tooDeepProblem } from './nesting';

/** Parses a piece of the file again (positions as in the whole file): see swallowsDefinitions. */
export type Reparse = (text: string) => Tree | undefined;

/** `text` is what `tree` was parsed from (read back from the tree when not given). */
export function indexTree(file: string, tree: Tree, model: Model, reparse?: Reparse, text?: string): FileFacts {
  return indexFlat(file, flatten(tree, text ?? sourceText(tree)), model, reparse);
}

/** One step of the indexer's walk: a node to index, or (`nested`) a block to search for definitions. */
interface Visit {
  t: FlatTree;
  i: number;
  depth: number;
  nested: boolean;
}

function indexFlat(file: string, tree: FlatTree, model: Model, reparse?: Reparse): FileFacts {
  const facts: FileFacts = { file, functions: [], tables: [], tableReturns: [], macros: [], problems: [] };
  const seen = new Set<string>();
  const addFunction = (fn: FunctionFacts): boolean => {
    if (seen.has(`${fn.name}@${fn.span.line}`)) return false;
    seen.add(`${fn.name}@${fn.span.line}`);
    facts.functions.push(fn);
    return true;
  };
  // Walked by index, in pre-order, with a stack of its own rather than recursion: any nesting is walked. A node
  // object is made only for the types that are read; the others only hold them.
  const work: Visit[] = [{ t: tree, i: 0, depth: 0, nested: false }];
  const later: Visit[] = [];
  /** Queues the named children of `i` that `pick` keeps, to be walked in order before anything queued earlier. */
  const push = (t: FlatTree, i: number, pick: (c: number) => Visit | undefined): void => {
    later.length = 0;
    for (let c = i + 1, end = t.after[i]; c < end; c = t.after[c]) {
      const v = t.isNamedAt(c) ? pick(c) : undefined;
      if (v) later.push(v);
    }
    for (let k = later.length - 1; k >= 0; k--) work.push(later[k]);
  };
  // After a typo, tree-sitter may nest every following definition inside a function's body: blocks and
  // preprocessor branches are searched for definitions (which are indexed), nothing else.
  const nestedIn = (t: FlatTree, i: number, depth: number): void =>
    push(t, i, (c) => {
      const type = t.typeAt(c);
      if (type === 'function_definition' || type === 'ERROR') return { t, i: c, depth, nested: false };
      if (type === 'compound_statement' || type.startsWith('preproc_'))
        return { t, i: c, depth: depth + 1, nested: true };
      return undefined;
    });
  const allIn = (t: FlatTree, i: number, depth: number): void => push(t, i, (c) => ({ t, i: c, depth, nested: false }));

  for (let v = work.pop(); v; v = work.pop()) {
    const { t, i, depth } = v;
    if (v.nested) {
      nestedIn(t, i, depth);
      continue;
    }
    const type = t.typeAt(i);
    if (
      type !== 'function_definition' &&
      type !== 'declaration' &&
      type !== 'preproc_function_def' &&
      type !== 'ERROR'
    ) {
      allIn(t, i, depth + 1);
      continue;
    }
    const node = t.nodeAt(i);
    if (depth <= 1 && reparse && swallowsDefinitions(node)) {
      const parts: Visit[] = [];
      for (const piece of pieces(tree.rootNode.text, node)) {
        const parsed = reparse(piece);
        if (!parsed) continue;
        const p = flatten(parsed, piece);
        parsed.delete();
        for (const c of p.rootNode.namedChildren)
          if (c && c.startPosition.row >= node.startPosition.row)
            parts.push({ t: p, i: c.index, depth: 2, nested: false });
      }
      for (let k = parts.length - 1; k >= 0; k--) work.push(parts[k]);
      continue;
    }
    switch (type) {
      case 'function_definition': {
        const tooDeep = excessNesting(node);
        if (tooDeep !== undefined) {
          facts.problems.push(tooDeepProblem(file, functionName(node)?.text, functionName(node) ?? node, tooDeep));
        } else {
          const fn = functionFacts(file, node, model, false);
          if (fn && addFunction(fn)) {
            const ret = tableReturn(node);
            if (ret) facts.tableReturns.push({ function: fn.name, table: ret });
          }
          // Local initializers name handlers too: const struct kvm_hva_range range = { .handler = kvm_age_gfn };
          collectLocalTables(file, node, facts.tables);
        }
        const body = node.childForFieldName('body');
        if (body) work.push({ t, i: body.index, depth: depth + 1, nested: true });
        continue;
      }
      case 'declaration': {
        const table = tableFacts(file, node);
        if (table) facts.tables.push(table);
        continue;
      }
      case 'preproc_function_def': {
        const alias = macroAlias(node);
        if (alias) facts.macros.push(alias);
        continue;
      }
      case 'ERROR': {
        const recovered = recoverFunctions(file, node, model);
        for (const fn of recovered.functions) addFunction(fn);
        facts.problems.push(...recovered.problems);
        allIn(t, i, depth + 1);
        continue;
      }
    }
  }
  facts.problems.push(...errorProblems(file, tree));
  return facts;
}

/** Builds the facts of one function_definition node (also used for functions recovered from ERROR regions). */
export function functionFacts(
  file: string,
  node: Node,
  model: Model,
  recovered: boolean,
  bodyNode?: Node,
): FunctionFacts | undefined {
  const declarator = node.childForFieldName('declarator');
  const body = bodyNode ?? node.childForFieldName('body');
  const fnDecl = declarator ? findFunctionDeclarator(declarator) : undefined;
  const name = functionName(node);
  if (!fnDecl || !name || !body) return undefined;
  const params = paramsOf(fnDecl, model);
  const cx = newBodyContext(model, params);
  const stmts = lowerBlock(body, cx);
  const fn: FunctionFacts = {
    name: name.text,
    file,
    returnType: cleanReturnType(node.text.slice(0, name.startIndex - node.startIndex)),
    params,
    span: spanOf(node),
    nameSpan: spanOf(name),
    body: stmts,
    bodySpan: spanOf(body),
    calls: [],
    uses: [],
    guards: [],
    touchesRoot: false,
    varSources: cx.varSources,
    fieldInits: [...cx.fieldInits, ...fieldAssignments(body, params)],
    hash: hashText(node.text),
    recovered,
  };
  annotate(fn);
  return fn;
}

/**
 * `x->handler = f` and `x.handler = &f`: a function stored into a struct field, with the struct type of x when a
 * parameter or local declares it (for calls through that field elsewhere: resolved by type, not by name).
 */
function fieldAssignments(body: Node, params: readonly Param[]): FunctionFacts['fieldInits'] {
  const types = new Map<string, string>();
  for (const p of params) {
    const m = /^(?:const\s+)?struct\s+(\w+)/.exec(p.type);
    if (m) types.set(p.name, m[1]);
  }
  const out: FunctionFacts['fieldInits'] = [];
  walkNamed(body, (type, index) => {
    if (type === 'declaration') {
      const decl = body.tree.nodeAt(index);
      const t = decl.childForFieldName('type');
      const name = t?.type === 'struct_specifier' ? t.childForFieldName('name')?.text : undefined;
      if (name) for (const d of decl.childrenForFieldName('declarator')) if (d) types.set(declaredName(d) ?? '', name);
      return true;
    }
    if (type !== 'assignment_expression') return true;
    const a = body.tree.nodeAt(index);
    const left = a.childForFieldName('left');
    const value = functionNameIn(a.childForFieldName('right'));
    if (left?.type !== 'field_expression' || a.childForFieldName('operator')?.text !== '=' || !value) return true;
    const field = left.childForFieldName('field')?.text;
    const base = left.childForFieldName('argument');
    const structType = base?.type === 'identifier' ? types.get(base.text) : undefined;
    if (field) out.push({ field, value, ...(structType ? { structType } : {}) });
    return true;
  });
  return out;
}

/** f, &f, (cast)f: the name a function-pointer value is taken from. */
function functionNameIn(node: Node | null): string | undefined {
  let v = node;
  while (v && (v.type === 'cast_expression' || v.type === 'parenthesized_expression'))
    v = v.childForFieldName('value') ?? v.namedChild(v.namedChildCount - 1);
  if (v?.type === 'pointer_expression' && v.child(0)?.type === '&') v = v.childForFieldName('argument');
  return v?.type === 'identifier' ? v.text : undefined;
}

/** The identifier a function definition declares, if it has one. */
function functionName(node: Node): Node | undefined {
  const declarator = node.childForFieldName('declarator');
  const nameNode = declarator ? findFunctionDeclarator(declarator)?.childForFieldName('declarator') : undefined;
  return nameNode ? innermostIdentifier(nameNode) : undefined;
}

function findFunctionDeclarator(node: Node): Node | undefined {
  let cur: Node | null = node;
  while (cur) {
    if (cur.type === 'function_declarator') return cur;
    cur = cur.childForFieldName('declarator');
  }
  return undefined;
}

function innermostIdentifier(node: Node): Node | undefined {
  let cur: Node | null = node;
  while (cur && cur.type !== 'identifier') {
    cur = cur.childForFieldName('declarator') ?? cur.namedChild(0);
  }
  return cur ?? undefined;
}

function paramsOf(fnDecl: Node, model: Model): Param[] {
  const list = fnDecl.childForFieldName('parameters');
  const params: Param[] = [];
  for (const p of list?.namedChildren ?? []) {
    if (!p || p.type !== 'parameter_declaration') continue;
    const d = p.childForFieldName('declarator');
    const type = p.childForFieldName('type')?.text ?? '';
    const name = d ? declaredName(d) : undefined;
    if (!name) continue;
    const isFunctionPointer = !!d && containsType(d, 'function_declarator');
    const isPointer = !!d && d.type === 'pointer_declarator';
    params.push({
      name,
      type: `${type}${isPointer ? ' *' : ''}`,
      isFunctionPointer,
      walks: isPointer && model.resource.walkTypes.includes(type),
    });
  }
  return params;
}

function containsType(node: Node, type: string): boolean {
  let found = node.type === type;
  walkNamed(node, (t) => !(found ||= t === type));
  return found;
}

/**
 * `#define name(a, b) callee(a, b, true)`, `#define KVM_PGT_FN(fn) (is_protected_kvm_enabled() ? pkvm_##fn : fn)`:
 * the functions a macro's expansion calls (with their arguments) and names (token pasting included). Read from
 * the expansion's tokens: the parser does not parse macro bodies.
 */
function macroAlias(node: Node): MacroAlias | undefined {
  const name = node.childForFieldName('name')?.text;
  const paramsNode = node.childForFieldName('parameters');
  const params = (paramsNode?.namedChildren ?? []).filter((p): p is Node => p !== null).map((p) => p.text);
  const value = (node.childForFieldName('value')?.text ?? '').replace(/\\\n/g, ' ');
  if (!name) return undefined;
  const variadic = /\.\.\.\s*\)\s*$/.test(paramsNode?.text ?? '');
  const tokens = value.match(MACRO_TOKEN) ?? [];
  const alias: MacroAlias = { name, params, ...(variadic ? { variadic } : {}), calls: [], values: [] };
  scanExpansion(tokens, 0, tokens.length, alias, true);
  alias.calls = alias.calls.filter((c) => c.callee.param !== undefined || c.callee.prefix !== name);
  return alias.calls.length || alias.values.length ? alias : undefined;
}

const MACRO_TOKEN = /[A-Za-z_]\w*|##|->|\.\.\.|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\d[\w.]*|\S/g;
const NOT_FUNCTIONS = new Set([
  'if',
  'else',
  'while',
  'for',
  'do',
  'switch',
  'case',
  'return',
  'sizeof',
  'typeof',
  '__typeof__',
  'typeof_unqual',
  'defined',
  'void',
  'int',
  'char',
  'long',
  'unsigned',
  'signed',
  'short',
  'bool',
  'const',
  'volatile',
  'struct',
  'union',
  'enum',
  'break',
  'continue',
  'goto',
  'NULL',
  'true',
  'false',
  '__VA_ARGS__',
  '__builtin_expect',
  '_Generic',
  'asm',
  '__asm__',
]);

/** Scans tokens [from, to): calls anywhere, values only where `values` (outside any call's arguments). */
function scanExpansion(tokens: readonly string[], from: number, to: number, alias: MacroAlias, values: boolean): void {
  for (let i = from; i < to; i++) {
    if (!/^[A-Za-z_]/.test(tokens[i])) continue;
    // One name: identifiers glued with ##.
    const pieces = [tokens[i]];
    while (tokens[i + 1] === '##' && /^[A-Za-z_]/.test(tokens[i + 2] ?? '')) {
      pieces.push(tokens[i + 2]);
      i += 2;
    }
    const before = tokens[i - pieces.length * 2 + 1];
    const next = tokens[i + 1];
    const member = before === '.' || before === '->';
    const named = macroName(pieces, alias.params);
    if (next === '(') {
      const close = matchingParen(tokens, i + 1, to);
      if (named && !member && !NOT_FUNCTIONS.has(pieces[0]))
        alias.calls.push({ callee: named, args: macroArgs(tokens, i + 2, close, alias) });
      scanExpansion(tokens, i + 2, close, alias, false);
      i = close;
      continue;
    }
    if (values && named && !member && next !== '->' && next !== '.' && next !== '[' && !NOT_FUNCTIONS.has(pieces[0]))
      alias.values.push(named);
  }
}

function macroName(pieces: readonly string[], params: readonly string[]): MacroName | undefined {
  const at = pieces.map((p) => params.indexOf(p));
  const paramPieces = at.filter((x) => x >= 0);
  if (paramPieces.length > 1) return undefined;
  const k = at.findIndex((x) => x >= 0);
  if (k < 0) return { prefix: pieces.join(''), suffix: '' };
  return { prefix: pieces.slice(0, k).join(''), param: at[k], suffix: pieces.slice(k + 1).join('') };
}

function matchingParen(tokens: readonly string[], open: number, to: number): number {
  let depth = 0;
  for (let j = open; j < to; j++) {
    if (tokens[j] === '(') depth++;
    else if (tokens[j] === ')' && --depth === 0) return j;
  }
  return to;
}

/** The arguments of a call in the expansion: a macro parameter by index (__VA_ARGS__: params.length), else text. */
function macroArgs(tokens: readonly string[], from: number, to: number, alias: MacroAlias): (number | string)[] {
  const args: string[][] = [];
  let cur: string[] = [];
  let depth = 0;
  for (let j = from; j < to; j++) {
    const t = tokens[j];
    if (t === '(' || t === '[' || t === '{') depth++;
    if (t === ')' || t === ']' || t === '}') depth--;
    if (t === ',' && depth === 0) {
      args.push(cur);
      cur = [];
    } else if (t !== '##') cur.push(t);
  }
  if (cur.length) args.push(cur);
  return args.map((a) => {
    const bare = a.length === 3 && a[0] === '(' && a[2] === ')' ? a[1] : a.length === 1 ? a[0] : undefined;
    if (bare === '__VA_ARGS__' && alias.variadic) return alias.params.length;
    const i = bare === undefined ? -1 : alias.params.indexOf(bare);
    return i >= 0 ? i : a.reduce((text, t) => text + (/\w$/.test(text) && /^\w/.test(t) ? ' ' : '') + t, '');
  });
}

/**
 * A top-level node that runs across a `}` in column 0 has swallowed the definitions after a typo (kernel style
 * closes every top-level definition that way). Only such nodes with parse errors in them are suspects.
 */
function swallowsDefinitions(node: Node): boolean {
  if (!node.hasError || (node.type !== 'function_definition' && node.type !== 'ERROR' && node.type !== 'declaration'))
    return false;
  const text = node.text;
  const inner = text.slice(0, text.lastIndexOf('\n'));
  return /\n\}[^\n]*\n/.test(inner);
}

/**
 * The node's lines cut after each column-0 `}`, each piece padded with the lines before it, so that parsing it
 * alone gives the positions it has in the whole file.
 */
function pieces(whole: string, node: Node): string[] {
  const lines = whole.split('\n');
  const out: string[] = [];
  let start = node.startPosition.row;
  for (let row = start; row <= node.endPosition.row; row++) {
    if (/^\}/.test(lines[row] ?? '') || row === node.endPosition.row) {
      out.push('\n'.repeat(start) + lines.slice(start, row + 1).join('\n') + '\n');
      start = row + 1;
    }
  }
  return out;
}

function collectLocalTables(file: string, node: Node, into: TableFacts[]): void {
  walkNamed(node, (type, index) => {
    if (type !== 'declaration') return true;
    const decl = node.tree.nodeAt(index);
    if (!decl.text.includes('=')) return true;
    const t = tableFacts(file, decl);
    if (t) into.push(t);
    return false;
  });
}

/** `return table[i];` makes the function a table lookup (kvm_get_exit_handler). */
function tableReturn(fn: Node): string | undefined {
  const body = fn.childForFieldName('body');
  if (!body) return undefined;
  let found: string | undefined;
  walkNamed(body, (type, index) => {
    if (found) return false;
    if (type === 'return_statement') {
      const e = body.tree.nodeAt(index).namedChild(0);
      if (e?.type === 'subscript_expression' && e.childForFieldName('argument')?.type === 'identifier') {
        found = e.childForFieldName('argument')!.text;
      }
    }
    return true;
  });
  return found;
}

/** Designated initializers naming functions: .release = f, [EC] = f, .handler = &f. */
function tableFacts(file: string, decl: Node): TableFacts | undefined {
  for (const d of decl.childrenForFieldName('declarator')) {
    if (!d || d.type !== 'init_declarator') continue;
    const list = d.childForFieldName('value');
    if (list?.type !== 'initializer_list') continue;
    const entries: TableFacts['entries'] = [];
    for (const item of list.namedChildren) {
      if (!item || item.type !== 'initializer_pair') continue;
      const designator = item.childForFieldName('designator') ?? item.namedChild(0);
      let value = item.childForFieldName('value');
      while (value && (value.type === 'cast_expression' || value.type === 'parenthesized_expression'))
        value = value.childForFieldName('value') ?? value.namedChild(value.namedChildCount - 1);
      if (value?.type === 'pointer_expression' && value.child(0)?.type === '&')
        value = value.childForFieldName('argument');
      if (!designator || value?.type !== 'identifier') continue;
      const key =
        designator.type === 'field_designator'
          ? designator.text.replace(/^\./, '')
          : designator.text.replace(/^\[|\]$/g, '');
      entries.push({
        key,
        keyKind: designator.type === 'field_designator' ? 'field' : 'index',
        function: value.text,
        at: spanOf(item),
      });
    }
    if (!entries.length) continue;
    const typeNode = decl.childForFieldName('type');
    const structType =
      typeNode?.type === 'struct_specifier' ? typeNode.childForFieldName('name')?.text : typeNode?.text;
    return {
      variable: declaredName(d.childForFieldName('declarator') ?? d) ?? '?',
      structType,
      file,
      at: spanOf(decl),
      entries,
    };
  }
  return undefined;
}

/** One problem per ERROR region: the index keeps going, but the user should know what it could not read. */
function errorProblems(file: string, tree: FlatTree): Problem[] {
  const problems: Problem[] = [];
  if (!tree.rootNode.hasError) return problems;
  // In pre-order over the nodes with errors in them, skipping the inside of an error and of error-free nodes: a
  // node object is made only for a problem's place.
  for (let i = 0; i < tree.count && problems.length < 50;) {
    if (tree.typeAt(i) === 'ERROR' || tree.isMissingAt(i)) {
      const n = tree.nodeAt(i);
      const what = n.isMissing ? `missing ${n.type}` : `cannot parse \`${n.text.split('\n')[0].slice(0, 40)}\``;
      problems.push({
        file,
        at: spanOf(n),
        severity: 'info',
        message: `lockpath: ${what}; analysis continues around it`,
      });
      i = tree.after[i];
    } else i = tree.hasErrorAt(i) ? i + 1 : tree.after[i];
  }
  return problems;
}
