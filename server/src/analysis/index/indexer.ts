// Extracts the facts of one C file from its syntax tree: functions (with lowered bodies), tables of function
// pointers, and the functions that return table entries. Never throws on odd input: what cannot be read becomes a
// Problem with a location.
import type { Tree } from '../parse/parser';
import { flatten, sourceText, walkNamed, type FlatTree, type SyntaxNode as Node } from '../parse/flat';
import type { Model } from '../model/types';
import { cleanReturnType, declaredName, lowerBlock, newBodyContext } from './body';
import { annotate } from './annotate';
import type { FileFacts, FunctionFacts, MacroAlias, Param, Problem, TableFacts } from './facts';
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
      if (type === 'compound_statement' || type.startsWith('preproc_')) return { t, i: c, depth: depth + 1, nested: true };
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
    if (type !== 'function_definition' && type !== 'declaration' && type !== 'preproc_function_def' && type !== 'ERROR') {
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
        for (const c of p.rootNode.namedChildren) if (c && c.startPosition.row >= node.startPosition.row) parts.push({ t: p, i: c.index, depth: 2, nested: false });
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
export function functionFacts(file: string, node: Node, model: Model, recovered: boolean, bodyNode?: Node): FunctionFacts | undefined {
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
    fieldInits: cx.fieldInits,
    hash: hashText(node.text),
    recovered,
  };
  annotate(fn);
  return fn;
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
    params.push({ name, type: `${type}${isPointer ? ' *' : ''}`, isFunctionPointer, walks: isPointer && model.resource.walkTypes.includes(type) });
  }
  return params;
}

function containsType(node: Node, type: string): boolean {
  let found = node.type === type;
  walkNamed(node, (t) => !(found ||= t === type));
  return found;
}

/** `#define name(a, b) callee(a, b, true)`: a macro that is one call, so calls through it reach the callee. */
function macroAlias(node: Node): MacroAlias | undefined {
  const name = node.childForFieldName('name')?.text;
  const params = (node.childForFieldName('parameters')?.namedChildren ?? []).filter((p): p is Node => p !== null).map((p) => p.text);
  const value = (node.childForFieldName('value')?.text ?? '').replace(/\\\n/g, ' ').trim();
  const m = /^\(?\s*([A-Za-z_]\w*)\s*\(([\s\S]*)\)\s*\)?\s*;?$/.exec(value);
  if (!name || !m || m[1] === name) return undefined;
  const args = splitTopLevel(m[2]).map((a) => {
    const bare = a.trim().replace(/^\((\w+)\)$/, '$1');
    const i = params.indexOf(bare);
    return i >= 0 ? i : a.trim();
  });
  return { name, params, callee: m[1], args };
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/**
 * A top-level node that runs across a `}` in column 0 has swallowed the definitions after a typo (kernel style
 * closes every top-level definition that way). Only such nodes with parse errors in them are suspects.
 */
function swallowsDefinitions(node: Node): boolean {
  if (!node.hasError || (node.type !== 'function_definition' && node.type !== 'ERROR' && node.type !== 'declaration')) return false;
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
      while (value && (value.type === 'cast_expression' || value.type === 'parenthesized_expression')) value = value.childForFieldName('value') ?? value.namedChild(value.namedChildCount - 1);
      if (value?.type === 'pointer_expression' && value.child(0)?.type === '&') value = value.childForFieldName('argument');
      if (!designator || value?.type !== 'identifier') continue;
      const key = designator.type === 'field_designator' ? designator.text.replace(/^\./, '') : designator.text.replace(/^\[|\]$/g, '');
      entries.push({ key, keyKind: designator.type === 'field_designator' ? 'field' : 'index', function: value.text, at: spanOf(item) });
    }
    if (!entries.length) continue;
    const typeNode = decl.childForFieldName('type');
    const structType = typeNode?.type === 'struct_specifier' ? typeNode.childForFieldName('name')?.text : typeNode?.text;
    return { variable: declaredName(d.childForFieldName('declarator') ?? d) ?? '?', structType, file, at: spanOf(decl), entries };
  }
  return undefined;
}

/** One problem per ERROR region: the index keeps going, but the user should know what it could not read. */
function errorProblems(file: string, tree: FlatTree): Problem[] {
  const problems: Problem[] = [];
  if (!tree.rootNode.hasError) return problems;
  // In pre-order over the nodes with errors in them, skipping the inside of an error and of error-free nodes: a
  // node object is made only for a problem's place.
  for (let i = 0; i < tree.count && problems.length < 50; ) {
    if (tree.typeAt(i) === 'ERROR' || tree.isMissingAt(i)) {
      const n = tree.nodeAt(i);
      const what = n.isMissing ? `missing ${n.type}` : `cannot parse \`${n.text.split('\n')[0].slice(0, 40)}\``;
      problems.push({ file, at: spanOf(n), severity: 'info', message: `lockpath: ${what}; analysis continues around it` });
      i = tree.after[i];
    } else i = tree.hasErrorAt(i) ? i + 1 : tree.after[i];
  }
  return problems;
}
