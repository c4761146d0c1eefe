// Functions hidden inside ERROR regions. Kernel macros in a signature (__acquires(x), __must_hold(x), attribute
// soup) can make tree-sitter give up on the whole definition; a name, a parameter list and a body in a row are
// enough to get it back.
import type { SyntaxNode as Node } from '../parse/flat';
import type { Model } from '../model/types';
import type { FunctionFacts, Problem } from './facts';
import { excessNesting, MAX_NESTING, tooDeepProblem } from './nesting';
import { cleanReturnType, lowerBlock, lowerList, newBodyContext } from './body';
import { annotate } from './annotate';
import { hashText, spanOf } from './span';

const NOT_NAMES = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else']);

/** The functions found in an ERROR node, and a problem for each found too deeply nested to analyse. */
export function recoverFunctions(
  file: string,
  error: Node,
  model: Model,
): { functions: FunctionFacts[]; problems: Problem[] } {
  const found: FunctionFacts[] = [];
  const problems: Problem[] = [];
  const kids = error.children.filter((c): c is Node => c !== null);
  found.push(...unterminated(file, kids, model, problems));
  for (let i = 1; i < kids.length; i++) {
    const body = kids[i];
    if (body.type !== 'compound_statement') continue;
    // The text between the previous statement boundary and the body: "static int foo(struct kvm *kvm) __acquires(x)"
    let start = i - 1;
    while (
      start > 0 &&
      ![';', '}', 'compound_statement', 'declaration', 'function_definition'].includes(kids[start - 1].type)
    )
      start--;
    const head = kids.slice(start, i);
    const headText = head.map((n) => n.text).join(' ');
    const m = /([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)[^(){};]*(?:\([^()]*\)\s*)*$/.exec(headText);
    if (!m || NOT_NAMES.has(m[1])) continue;
    // What stands before the name since the last punctuation must read like a return type: "static int".
    const prefix = headText.slice(0, m.index);
    const tail = prefix.slice(Math.max(...[';', '}', '{', ')', '(', ',', '"'].map((c) => prefix.lastIndexOf(c))) + 1);
    if (!/^[\s\w*]*\b[A-Za-z_]\w*[\s*]*$/.test(tail)) continue;
    const nameNode = findIdentifier(head, m[1]);
    const tooDeep = excessNesting(body);
    if (tooDeep !== undefined) {
      problems.push(tooDeepProblem(file, m[1], nameNode ?? body, tooDeep));
      continue;
    }
    const cx = newBodyContext(model);
    const params = m[2]
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p && p !== 'void')
      .map((p) => {
        const pm = /^(.*?)([A-Za-z_]\w*)\s*$/.exec(p.replace(/\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\(.*\)$/, ' $1'));
        const type = (pm?.[1] ?? '').replace(/\b(const|struct|volatile)\b/g, (w) => (w === 'struct' ? w : '')).trim();
        const walks = /\*/.test(type) && model.resource.walkTypes.some((t) => type.replace(/\s*\*/g, '').trim() === t);
        return { name: pm?.[2] ?? p, type, isFunctionPointer: /\(\s*\*/.test(p), walks };
      });
    for (const p of params) {
      if (p.walks) cx.aliases.add(p.name);
      if (p.isFunctionPointer) cx.fnParams.add(p.name);
      cx.params.add(p.name);
    }
    const stmts = lowerBlock(body, cx);
    const before = cleanReturnType(tail);
    const from = nameNode
      ? { line: nameNode.startPosition.row, column: 0 }
      : { line: head[0].startPosition.row, column: head[0].startPosition.column };
    const span = { ...from, endLine: body.endPosition.row, endColumn: body.endPosition.column };
    const fn: FunctionFacts = {
      name: m[1],
      file,
      returnType: before,
      params,
      span,
      nameSpan: nameNode ? spanOf(nameNode) : span,
      body: stmts,
      bodySpan: spanOf(body),
      calls: [],
      uses: [],
      guards: [],
      touchesRoot: false,
      varSources: cx.varSources,
      fieldInits: cx.fieldInits,
      hash: hashText(headText + body.text),
      recovered: true,
    };
    annotate(fn);
    found.push(fn);
  }
  return { functions: found, problems };
}

/**
 * A definition still being typed at the end of the file: `int f(...) {` and statements, no closing brace. The
 * parser leaves the `{` as a bare token in an ERROR node; what follows it is the body so far.
 */
function unterminated(file: string, kids: readonly Node[], model: Model, problems: Problem[]): FunctionFacts[] {
  const out: FunctionFacts[] = [];
  for (let i = 0; i + 1 < kids.length; i++) {
    const decl = kids[i];
    if (decl.type !== 'function_declarator' || kids[i + 1].type !== '{') continue;
    const name = decl.childForFieldName('declarator');
    if (!name || name.type !== 'identifier') continue;
    let end = i + 2;
    while (end < kids.length && kids[end].type !== '}') end++;
    const bodyNodes = kids.slice(i + 2, end).filter((n) => n.isNamed);
    let tooDeep = 0;
    for (const n of bodyNodes) tooDeep = Math.max(tooDeep, n.tree.depthBelow(n.index) + 1);
    if (tooDeep > MAX_NESTING) {
      problems.push(tooDeepProblem(file, name.text, name, tooDeep));
      continue;
    }
    const cx = newBodyContext(model);
    const stmts = lowerList(bodyNodes, cx);
    const last = bodyNodes[bodyNodes.length - 1] ?? kids[i + 1];
    const typeNode = i > 0 ? kids[i - 1] : undefined;
    const fn: FunctionFacts = {
      name: name.text,
      file,
      returnType: cleanReturnType(typeNode && typeNode.type !== ';' && typeNode.type !== '}' ? typeNode.text : 'int'),
      params: [],
      span: {
        line: (typeNode ?? decl).startPosition.row,
        column: 0,
        endLine: last.endPosition.row,
        endColumn: last.endPosition.column,
      },
      nameSpan: spanOf(name),
      body: stmts,
      bodySpan: { ...spanOf(kids[i + 1]), endLine: last.endPosition.row, endColumn: last.endPosition.column },
      calls: [],
      uses: [],
      guards: [],
      touchesRoot: false,
      varSources: cx.varSources,
      fieldInits: cx.fieldInits,
      hash: hashText(decl.text + bodyNodes.map((n) => n.text).join('\n')),
      recovered: true,
    };
    annotate(fn);
    out.push(fn);
  }
  return out;
}

/** The first identifier (in pre-order) spelled `name` in the nodes or below them. */
function findIdentifier(nodes: Node[], name: string): Node | undefined {
  for (const n of nodes) {
    const t = n.tree;
    // Identifiers are leaves: the subtree's nodes in index order are its pre-order.
    for (let i = n.index, end = t.after[n.index]; i < end; i++) {
      const type = t.typeAt(i);
      if ((type === 'identifier' || type === 'type_identifier') && t.text.slice(t.starts[i], t.ends[i]) === name)
        return t.nodeAt(i);
    }
  }
  return undefined;
}
