// Re-indexing after an edit inside one function: only that function is indexed again, and the facts of the rest
// of the file are kept (the same objects before it, copies moved by the change in line count after it). Every
// case it is not sure of returns undefined, and the caller indexes the whole file as before; the facts it gives
// must equal what indexing the whole new tree gives (test/analysis/splice.test.ts checks that after random edits).
// It also says whether the file still says the same apart from positions (a comment edited, lines moved), so
// programs compiled from the rest can be kept (simulate/programs.ts).
import type { FileFacts, FunctionFacts, Span } from './index/facts';
import { indexTree } from './index/indexer';
import type { Model } from './model/types';
import type { CParser, Node, Tree } from './parse/parser';

export interface SpliceInput {
  file: string;
  oldText: string;
  newText: string;
  /** The previous tree, already told about the edit (tree.edit): its positions are the new text's. */
  oldTree: Tree;
  newTree: Tree;
  oldFacts: FileFacts;
  model: Model;
  parser: CParser;
}

export interface Spliced {
  facts: FileFacts;
  /** The facts differ from the old ones in positions only (and the text hashes of the edited function). */
  sameShape: boolean;
  /**
   * Old facts objects and what stands for them now, when the shape was kept: edited functions indexed again to the
   * same facts (but for the text hash), and every object of the facts moved by a change in line count (functions,
   * statements, spans), so what refers to them can follow (simulate/programs.ts).
   */
  renamed: Map<object, object>;
}

export function spliceFacts(x: SpliceInput): Spliced | undefined {
  const changed = changedRange(x.oldText, x.newText);
  if (!changed) return { facts: x.oldFacts, sameShape: true, renamed: new Map() };
  const fresh = enclosingFunction(x.newTree.rootNode, changed.start, changed.newEnd);
  const stale = enclosingFunction(x.oldTree.rootNode, changed.start, changed.newEnd);
  if (!fresh || !stale || fresh.startIndex !== stale.startIndex || fresh.endIndex !== stale.endIndex) return undefined;
  // Nothing outside the function may parse differently (error recovery elsewhere changing its mind): the parser
  // reports where the two trees differ, without walking them.
  if (
    !x.oldTree
      .getChangedRanges(x.newTree)
      .every((r) => r.startIndex >= fresh.startIndex && r.endIndex <= fresh.endIndex)
  )
    return undefined;
  // Nothing else may share the function's first or last line: facts are matched to it by line.
  if (fresh.startPosition.column !== 0 || !/^[ \t]*(\n|$)/.test(x.newText.slice(fresh.endIndex, fresh.endIndex + 200)))
    return undefined;
  const firstRow = fresh.startPosition.row;
  const newLastRow = fresh.endPosition.row;
  const delta =
    lineCount(x.newText, changed.start, changed.newEnd) - lineCount(x.oldText, changed.start, changed.oldEnd);
  const oldLastRow = newLastRow - delta;
  const inside = (s: Span): boolean => s.line >= firstRow && s.line <= oldLastRow;
  const after = (s: Span): boolean => s.line > oldLastRow;

  const old = x.oldFacts;
  const oldOwn = old.functions.filter((f) => inside(f.span));
  const segment = indexAlone(x, fresh);
  if (!segment || !oldOwn.length) return undefined;
  // Which function a table lookup belongs to is known by name only: such functions are indexed whole-file.
  const names = new Set([...oldOwn, ...segment.functions].map((f) => f.name));
  if ([...old.tableReturns, ...segment.tableReturns].some((r) => names.has(r.function))) return undefined;
  // Problems (ERROR regions) inside or around the function: its surroundings may parse differently now.
  const around = (s: Span): boolean => s.line <= oldLastRow && s.endLine >= firstRow;
  if (old.problems.some((p) => around(p.at)) || segment.problems.length || segment.macros.length) return undefined;
  if (
    old.tables.some((t) => around(t.at) && !inside(t.at)) ||
    old.functions.some((f) => around(f.span) && !inside(f.span))
  )
    return undefined;

  const copies = new Map<object, object>();
  const moved = delta ? mover(delta, copies) : <T>(v: T): T => v;
  const facts: FileFacts = {
    file: old.file,
    functions: splice(old.functions, (f) => f.span, inside, after, segment.functions, moved),
    tables: splice(old.tables, (t) => t.at, inside, after, segment.tables, moved),
    tableReturns: old.tableReturns,
    macros: old.macros,
    problems: old.problems.map((p) => (after(p.at) ? moved(p) : p)),
  };
  const oldInside = { functions: oldOwn, tables: old.tables.filter((t) => inside(t.at)) };
  const sameShape = shapeOf(oldInside) === shapeOf({ functions: segment.functions, tables: segment.tables });
  const renamed = sameShape ? copies : new Map<object, object>();
  if (sameShape && oldOwn.length === segment.functions.length) {
    oldOwn.forEach((f, i) => {
      if (withoutHash(f) === withoutHash(segment.functions[i])) renamed.set(f, segment.functions[i]);
    });
  }
  return { facts, sameShape, renamed };
}

/** The list with the items inside the function replaced by `fresh` (in their place) and those after it moved. */
function splice<T>(
  items: readonly T[],
  at: (t: T) => Span,
  inside: (s: Span) => boolean,
  after: (s: Span) => boolean,
  fresh: readonly T[],
  moved: <U>(v: U) => U,
): T[] {
  const out: T[] = [];
  let placed = false;
  for (const item of items) {
    const s = at(item);
    if (inside(s)) {
      if (!placed) out.push(...fresh);
      placed = true;
      continue;
    }
    if (after(s) && !placed) {
      out.push(...fresh);
      placed = true;
    }
    out.push(after(s) ? moved(item) : item);
  }
  if (!placed) out.push(...fresh);
  return out;
}

/** The differing middle of two texts (offsets; start is shared). */
function changedRange(a: string, b: string): { start: number; oldEnd: number; newEnd: number } | undefined {
  if (a === b) return undefined;
  let start = 0;
  const min = Math.min(a.length, b.length);
  while (start < min && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let tail = 0;
  while (tail < min - start && a.charCodeAt(a.length - 1 - tail) === b.charCodeAt(b.length - 1 - tail)) tail++;
  return { start, oldEnd: a.length - tail, newEnd: b.length - tail };
}

function lineCount(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The error-free function definition, at the top level or in preprocessor blocks, strictly containing [from, to). */
function enclosingFunction(root: Node, from: number, to: number): Node | undefined {
  if (root.type !== 'translation_unit') return undefined;
  let node: Node = root;
  for (;;) {
    const child = node.namedChildren.find((c) => c && c.startIndex < from && c.endIndex > to);
    if (!child) return undefined;
    if (child.type === 'function_definition') return child.hasError ? undefined : child;
    if (!child.type.startsWith('preproc_')) return undefined;
    node = child;
  }
}

/** Indexes the function on its own: its text parsed alone, padded so that lines and columns are the file's. */
function indexAlone(x: SpliceInput, fn: Node): FileFacts | undefined {
  let tree: Tree | undefined;
  try {
    tree = x.parser.parse('\n'.repeat(fn.startPosition.row) + fn.text);
    const only = tree.rootNode.namedChildren;
    if (
      tree.rootNode.hasError ||
      only.length !== 1 ||
      only[0]?.type !== 'function_definition' ||
      only[0].text !== fn.text
    )
      return undefined;
    return indexTree(x.file, tree, x.model);
  } catch {
    return undefined;
  } finally {
    tree?.delete();
  }
}

const POSITION_KEYS = new Set(['line', 'column', 'endLine', 'endColumn', 'hash']);

const withoutHash = (f: FunctionFacts): string => JSON.stringify({ ...f, hash: '' });

/** Facts as JSON with every position left out: spans, names made from positions, and text hashes. */
function shapeOf(v: unknown): string {
  return JSON.stringify(v, (k, e: unknown) =>
    POSITION_KEYS.has(k) ? undefined : typeof e === 'string' ? movedName(e, 0, true) : e,
  );
}

/** Names the indexer makes from a position (`$ret@12:8`, the temporary holding a call's result) move too. */
export function movedName(s: string, delta: number, dropPosition = false): string {
  if (s.charCodeAt(0) !== 36 /* $ */) return s;
  const m = /^(\$\w+@)(\d+)(:\d+)$/.exec(s);
  if (!m) return s;
  return dropPosition ? m[1] : `${m[1]}${Number(m[2]) + delta}${m[3]}`;
}

/** Deep copies with every Span (and position-made name) moved down `delta` lines; objects shared in the original
 *  stay shared in the copy. `copies` collects each original object and its copy. */
function mover(delta: number, copies: Map<object, object>): <T>(v: T) => T {
  const copy = (v: unknown): unknown => {
    if (typeof v === 'string') return movedName(v, delta);
    if (typeof v !== 'object' || v === null) return v;
    const done = copies.get(v);
    if (done) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      copies.set(v, out);
      for (const e of v) out.push(copy(e));
      return out;
    }
    const out: Record<string, unknown> = {};
    copies.set(v, out);
    for (const [k, e] of Object.entries(v)) out[k] = copy(e);
    if (isSpan(out)) {
      out.line += delta;
      out.endLine += delta;
    }
    return out;
  };
  return <T>(v: T): T => copy(v) as T;
}

function isSpan(o: Record<string, unknown>): o is Record<string, unknown> & Span {
  return (
    typeof o.line === 'number' &&
    typeof o.endLine === 'number' &&
    typeof o.column === 'number' &&
    typeof o.endColumn === 'number'
  );
}
