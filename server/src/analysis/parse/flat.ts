// A syntax tree copied out of wasm in one cursor walk: each node's type, field, offsets and flags in typed arrays,
// read through SyntaxNode, a stand-in for the part of web-tree-sitter's Node the indexer uses. Every property of a
// real Node is a call into wasm (and most allocate); the indexer reads most nodes several times, so it reads this
// copy instead. The copy holds no wasm memory: the tree can be deleted as soon as it is made.
import type { Tree } from 'web-tree-sitter';
import { lineAt, lineStarts } from '../base/lines';
import { cursorPort, type CursorPort } from './cursor';
import { ERROR_SYMBOL, firstNodes, nodeArrays, readTree, type NodeArrays } from './memory';

const NAMED = 1;
const MISSING = 2;
const HAS_ERROR = 4;

/** What every tree of one language shares: type and field names, and which types are named (learnt per type). */
export interface Grammar {
  types: readonly string[];
  fieldIds: Map<string, number>;
  /** By type id: 1 named, 2 anonymous, 0 not seen yet. A node's type decides whether it is named. */
  named: Uint8Array;
}

const grammars = new WeakMap<object, Grammar>();

function grammarOf(tree: Tree): Grammar {
  const language = tree.language;
  let g = grammars.get(language);
  if (!g) {
    const fieldIds = new Map<string, number>();
    language.fields.forEach((f, i) => {
      if (f !== null && !fieldIds.has(f)) fieldIds.set(f, i);
    });
    // Interned, so that comparing a node's type with a literal compares pointers, not characters.
    g = { types: language.types.map((t) => (t ? intern(t) : t)), fieldIds, named: new Uint8Array(ERROR_SYMBOL + 1) };
    grammars.set(language, g);
  }
  return g;
}

/** The engine's one copy of a string: property names are interned. */
function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0];
}

export class FlatTree {
  private lineStarts?: Int32Array;

  constructor(
    readonly text: string,
    readonly grammar: Grammar,
    readonly count: number,
    readonly typeIds: Uint16Array,
    readonly fieldIds: Uint16Array,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
    /** The index just past each node's subtree (nodes are in pre-order): its next sibling, if it has one. */
    readonly after: Int32Array,
    readonly flags: Uint8Array,
  ) {}

  get rootNode(): SyntaxNode {
    return new SyntaxNode(this, 0);
  }

  /** The node at an index of the arrays (pre-order). */
  nodeAt(index: number): SyntaxNode {
    return new SyntaxNode(this, index);
  }

  typeAt(index: number): string {
    const id = this.typeIds[index];
    return (id === ERROR_SYMBOL ? undefined : this.grammar.types[id]) || 'ERROR';
  }

  isNamedAt(index: number): boolean {
    return (this.flags[index] & NAMED) !== 0;
  }

  isMissingAt(index: number): boolean {
    return (this.flags[index] & MISSING) !== 0;
  }

  hasErrorAt(index: number): boolean {
    return (this.flags[index] & HAS_ERROR) !== 0;
  }

  /** Zero-based row and UTF-16 column of an offset, as tree-sitter counts them (rows end at '\n'). */
  pointAt(index: number): { row: number; column: number } {
    const row = this.rowAt(index);
    return { row, column: index - this.lineStart(row) };
  }

  /** The row of an offset; `from`, a row known to start at or before it, narrows the search. */
  rowAt(index: number, from = 0): number {
    return lineAt((this.lineStarts ??= lineStarts(this.text)), index, from);
  }

  /**
   * How many levels of nodes lie below the node at `index` (0 for a leaf). By index and without recursion, so any
   * nesting can be measured: the indexer measures a function before its (recursive) lowering.
   */
  depthBelow(index: number): number {
    const open: number[] = []; // where the subtree of each open ancestor ends
    let max = 0;
    for (let c = index + 1, end = this.after[index]; c < end; c++) {
      while (open.length && c >= open[open.length - 1]) open.pop();
      open.push(this.after[c]);
      if (open.length > max) max = open.length;
    }
    return max;
  }

  /** The offset where a row starts (rowAt has made the table). */
  lineStart(row: number): number {
    return this.lineStarts![row];
  }
}

/**
 * One node of a FlatTree, with web-tree-sitter's Node semantics for what it offers. Like a real Node, every access
 * that returns a node returns a new object: code that compares nodes by identity behaves as it did on real Nodes.
 */
export class SyntaxNode {
  private namedKids?: SyntaxNode[];
  private kids?: SyntaxNode[];

  constructor(
    readonly tree: FlatTree,
    readonly index: number,
  ) {}

  get type(): string {
    return this.tree.typeAt(this.index);
  }

  get text(): string {
    return this.tree.text.slice(this.tree.starts[this.index], this.tree.ends[this.index]);
  }

  get startIndex(): number {
    return this.tree.starts[this.index];
  }

  get endIndex(): number {
    return this.tree.ends[this.index];
  }

  get startPosition(): { row: number; column: number } {
    return this.tree.pointAt(this.tree.starts[this.index]);
  }

  get endPosition(): { row: number; column: number } {
    return this.tree.pointAt(this.tree.ends[this.index]);
  }

  get isNamed(): boolean {
    return this.tree.isNamedAt(this.index);
  }

  get isMissing(): boolean {
    return this.tree.isMissingAt(this.index);
  }

  get hasError(): boolean {
    return this.tree.hasErrorAt(this.index);
  }

  get children(): SyntaxNode[] {
    return (this.kids ??= this.collect(false));
  }

  get namedChildren(): SyntaxNode[] {
    return (this.namedKids ??= this.collect(true));
  }

  get childCount(): number {
    return this.kids ? this.kids.length : this.count(false);
  }

  get namedChildCount(): number {
    return this.namedKids ? this.namedKids.length : this.count(true);
  }

  child(i: number): SyntaxNode | null {
    return this.kids ? (this.kids[i] ?? null) : this.nth(i, false);
  }

  namedChild(i: number): SyntaxNode | null {
    return this.namedKids ? (this.namedKids[i] ?? null) : this.nth(i, true);
  }

  childForFieldName(name: string): SyntaxNode | null {
    const id = this.tree.grammar.fieldIds.get(name);
    if (id === undefined) return null;
    const t = this.tree;
    const end = t.after[this.index];
    for (let c = this.index + 1; c < end; c = t.after[c]) if (t.fieldIds[c] === id) return new SyntaxNode(t, c);
    return null;
  }

  childrenForFieldName(name: string): SyntaxNode[] {
    const id = this.tree.grammar.fieldIds.get(name);
    const out: SyntaxNode[] = [];
    if (id === undefined || id === 0) return out;
    const t = this.tree;
    const end = t.after[this.index];
    for (let c = this.index + 1; c < end; c = t.after[c]) if (t.fieldIds[c] === id) out.push(new SyntaxNode(t, c));
    return out;
  }

  private collect(namedOnly: boolean): SyntaxNode[] {
    const t = this.tree;
    const out: SyntaxNode[] = [];
    const end = t.after[this.index];
    for (let c = this.index + 1; c < end; c = t.after[c])
      if (!namedOnly || t.flags[c] & NAMED) out.push(new SyntaxNode(t, c));
    return out;
  }

  // Counting and picking one child read the arrays: no list of children is made for them.
  private count(namedOnly: boolean): number {
    const t = this.tree;
    const end = t.after[this.index];
    let n = 0;
    for (let c = this.index + 1; c < end; c = t.after[c]) if (!namedOnly || t.flags[c] & NAMED) n++;
    return n;
  }

  private nth(i: number, namedOnly: boolean): SyntaxNode | null {
    const t = this.tree;
    const end = t.after[this.index];
    if (i < 0) return null;
    for (let c = this.index + 1; c < end; c = t.after[c])
      if ((!namedOnly || t.flags[c] & NAMED) && i-- === 0) return new SyntaxNode(t, c);
    return null;
  }
}

/**
 * One tree and one node that live as long as the module. The engine keeps an object shape (and the optimized code
 * that reads it) only while some object has it; between two indexes every tree and node may be gone, and a full
 * GC then would throw away the indexer's optimized code with the shapes, to be recompiled on the next index.
 */
const keptShapes = ((): SyntaxNode => {
  const none = new Uint16Array(1);
  const tree = new FlatTree(
    '',
    { types: [], fieldIds: new Map(), named: new Uint8Array(1) },
    1,
    none,
    none,
    new Int32Array(1),
    new Int32Array(1),
    new Int32Array(1),
    new Uint8Array(1),
  );
  return tree.rootNode;
})();
void keptShapes; // kept for its shapes only

/**
 * Copies `tree` (parsed from `text`) out of wasm: read from wasm memory when it can be (memory.ts), else with a
 * cursor walk (`portOf` forces the cursor walk). The tree itself is left as it was.
 */
export function flatten(tree: Tree, text: string, portOf?: (tree: Tree) => CursorPort): FlatTree {
  const grammar = grammarOf(tree);
  const a = (!portOf && readTree(tree)) || cursorWalk(text.length, grammar, (portOf ?? cursorPort)(tree));
  markErrors(a);
  return new FlatTree(text, grammar, a.count, a.typeIds, a.fieldIds, a.starts, a.ends, a.after, a.flags);
}

/** A node has an error when it is one, is missing, or has one inside (tree-sitter's error cost > 0). */
function markErrors({ count: n, typeIds, flags, parents }: NodeArrays): void {
  for (let i = 0; i < n; i++) if (flags[i] & MISSING || typeIds[i] === ERROR_SYMBOL) flags[i] |= HAS_ERROR;
  for (let i = n - 1; i > 0; i--) if (flags[i] & HAS_ERROR) flags[parents[i]] |= HAS_ERROR;
}

function cursorWalk(textLength: number, grammar: Grammar, cursor: CursorPort): NodeArrays {
  let cap = Math.max(64, textLength >> 2);
  let a = nodeArrays(cap);
  let { typeIds, fieldIds, starts, ends, after, parents, flags } = a;
  const open: number[] = [];
  let n = 0;
  try {
    walk: for (;;) {
      if (n === cap) {
        a = nodeArrays((cap *= 2), a);
        ({ typeIds, fieldIds, starts, ends, after, parents, flags } = a);
      }
      const i = n++;
      const typeId = cursor.typeId();
      const start = cursor.startIndex();
      const end = cursor.endIndex();
      typeIds[i] = typeId;
      fieldIds[i] = cursor.fieldId();
      starts[i] = start;
      ends[i] = end;
      parents[i] = open.length ? open[open.length - 1] : -1;
      // Only zero-width nodes can be missing: ask wasm about those alone.
      const missing = start === end && cursor.isMissing();
      let named = grammar.named[typeId];
      if (!named) grammar.named[typeId] = named = cursor.isNamed() ? 1 : 2;
      flags[i] = (named === 1 ? NAMED : 0) | (missing ? MISSING : 0);
      if (cursor.gotoFirstChild()) {
        open.push(i);
        continue;
      }
      after[i] = n;
      while (!cursor.gotoNextSibling()) {
        if (!open.length) break walk;
        cursor.gotoParent();
        after[open.pop()!] = n;
      }
    }
  } finally {
    cursor.dispose();
  }
  return firstNodes(a, n);
}

/**
 * The text a tree was parsed from, as far as offsets go: web-tree-sitter's root node starts after leading
 * whitespace, which the tree does not keep; spaces and newlines stand in for it, with the last newline where it was,
 * so every node's text and position come out as in the original.
 */
export function sourceText(tree: Tree): string {
  const root = tree.rootNode;
  const { row, column } = root.startPosition;
  const lead = row
    ? ' '.repeat(root.startIndex - column - row) + '\n'.repeat(row) + ' '.repeat(column)
    : ' '.repeat(root.startIndex);
  return lead + root.text;
}

/**
 * Visits the named nodes below `node` in pre-order, as a recursion over namedChildren would (so nothing under an
 * anonymous node); `visit` says whether to go inside the node it was given. Reads the arrays: no node object is
 * made unless `visit` asks its tree for one (nodeAt).
 */
export function walkNamed(node: SyntaxNode, visit: (type: string, index: number) => boolean): void {
  const t = node.tree;
  const end = t.after[node.index];
  for (let c = node.index + 1; c < end;) {
    if (!(t.flags[c] & NAMED)) {
      c = t.after[c];
      continue;
    }
    c = visit(t.typeAt(c), c) ? c + 1 : t.after[c];
  }
}
