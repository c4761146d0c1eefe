// Reads a syntax tree straight out of wasm memory: the subtrees tree-sitter keeps (lib/subtree.h), walked as
// ts_tree_cursor walks them (lib/tree_cursor.c: hidden nodes flattened into their parents, aliases, fields of
// hidden ancestors), with no call into wasm at all. A cursor walk makes about six calls a node; this reads a few
// words. The layouts are those of web-tree-sitter 0.25.10 built for wasm32 (little endian, 4-byte pointers): the
// reader runs only on the tree-sitter.wasm of that release (WRITTEN_FOR), checks what it can against the public
// API before it is trusted (see check), and flat.ts falls back to the cursor walk otherwise.
// test/analysis/flat.test.ts compares both walks array by array, and the fuzz suite on every tree it generates;
// ARCHITECTURE.md has the checklist for an upgrade.
import type { Language, Tree } from 'web-tree-sitter';
import { loadedWasmSha256, wasmHeap, type WasmHeap } from './parser';

/** ts_builtin_sym_error: web-tree-sitter names it "ERROR" (the language's type table has no entry for it). */
export const ERROR_SYMBOL = 65535;

/** What the walk records of each node, as flat.ts stores it. */
export interface NodeArrays {
  count: number;
  typeIds: Uint16Array;
  fieldIds: Uint16Array;
  starts: Int32Array;
  ends: Int32Array;
  after: Int32Array;
  parents: Int32Array;
  /** bit 0: named, bit 1: missing (flat.ts's NAMED and MISSING). */
  flags: Uint8Array;
}

/** The per-language tables the walk reads, copied out of the language's TSLanguage once. */
interface LanguageTables {
  /** Trees this reader has read and the full check agreed with (see FULL_CHECKS). */
  checked: number;
  publicSymbol: Uint16Array;
  namedSymbol: Uint8Array;
  aliasSequences: Uint16Array;
  maxAliasLength: number;
  /** fieldAt[production * fieldWidth + structural child index]: the first non-inherited field entry, or 0. */
  fieldAt: Uint16Array;
  fieldWidth: number;
}

// TSLanguage (lib/parser.h), wasm32 offsets.
const L_ABI_VERSION = 0;
const L_SYMBOL_COUNT = 4;
const L_ALIAS_COUNT = 8;
const L_PRODUCTION_ID_COUNT = 28;
const L_FIELD_COUNT = 32;
const L_MAX_ALIAS_LENGTH = 36;
const L_FIELD_MAP_SLICES = 64;
const L_FIELD_MAP_ENTRIES = 68;
const L_SYMBOL_METADATA = 72;
const L_PUBLIC_SYMBOL_MAP = 76;
const L_ALIAS_SEQUENCES = 84;
// TSTree (lib/tree.h): the root Subtree (8 bytes), then the language.
const T_LANGUAGE = 8;
// SubtreeHeapData (lib/subtree.h), wasm32 offsets.
const H_PADDING_BYTES = 4;
const H_SIZE_BYTES = 16;
const H_CHILD_COUNT = 36;
const H_SYMBOL = 40;
const H_FLAGS = 44; // visible 0, named 1, extra 2, ..., is_missing 9 (16 bits from here)
const H_VISIBLE_CHILD_COUNT = 48;
const H_VISIBLE_DESCENDANT_COUNT = 56;
const H_PRODUCTION_ID = 66;
// SubtreeInlineData: byte 0 is_inline 0, visible 1, named 2, extra 3, has_changes 4, is_missing 5; byte 1 symbol;
// byte 6 padding bytes; byte 7 size bytes. A Subtree is 8 bytes; a heap node's children sit just before it.
const SUBTREE = 8;

/** The release whose structs the offsets above describe, and the SHA-256 of its tree-sitter.wasm. */
export const WRITTEN_FOR = {
  webTreeSitter: '0.25.10',
  wasmSha256: 'f38dcc4b43b818f9a0785bc1c6d5611a75ac4cdd428ff3f02757c34ca4e46d7f',
} as const;

let acceptedBuild: string = WRITTEN_FOR.wasmSha256;

/** For tests: accept another build instead (as if this reader were written for it); no argument restores it. */
export function acceptWasmBuildForTest(sha256: string = WRITTEN_FOR.wasmSha256): void {
  acceptedBuild = sha256;
}

/** The reader may run: the loaded tree-sitter.wasm is the build its offsets were written for. */
export function memoryReaderUsable(): boolean {
  return loadedWasmSha256() === acceptedBuild && wasmHeap() !== undefined;
}

const tablesByLanguage = new WeakMap<object, LanguageTables | null>();

/** The tree's nodes read from wasm memory, or undefined when the memory is out of reach or fails the checks. */
export function readTree(tree: Tree): NodeArrays | undefined {
  const heap = wasmHeap();
  if (!heap || loadedWasmSha256() !== acceptedBuild) return undefined;
  const treeAddress = (tree as unknown as { [0]: number })[0];
  let tables = tablesByLanguage.get(tree.language);
  if (tables === undefined) {
    tables = languageTables(heap, treeAddress, tree.language) ?? null;
    tablesByLanguage.set(tree.language, tables);
  }
  if (!tables) return undefined;
  const arrays = walk(heap, treeAddress, tables);
  const full = tables.checked < FULL_CHECKS;
  if (!check(tree, arrays, full)) return undefined;
  if (full) tables.checked++;
  return arrays;
}

/**
 * Trees checked in full (the root and its last child, with its field) before only the root is: the layouts are
 * fixed for the module, so a reader that read these right reads the next ones right; the full check costs a cursor
 * and several calls into wasm, noticeable on every keystroke's small trees.
 */
const FULL_CHECKS = 16;

/** Cheap agreement with the public API on the root: a layout that reads wrong shows there first. */
function check(tree: Tree, a: NodeArrays, full: boolean): boolean {
  const root = tree.rootNode;
  if (a.count < 1 || a.typeIds[0] !== root.typeId || a.starts[0] !== root.startIndex || a.ends[0] !== root.endIndex)
    return false;
  if (!full) return true;
  const last = root.lastChild;
  if (!last) return a.count === 1;
  // The root's last child is the last node after the root that has the root as its parent.
  let i = a.count - 1;
  while (i > 0 && a.parents[i] !== 0) i--;
  return (
    i > 0 &&
    a.typeIds[i] === last.typeId &&
    a.starts[i] === last.startIndex &&
    a.ends[i] === last.endIndex &&
    a.fieldIds[i] === fieldIdOf(tree, last)
  );
}

function fieldIdOf(tree: Tree, node: NonNullable<Tree['rootNode']['lastChild']>): number {
  const cursor = tree.walk();
  try {
    cursor.gotoLastChild();
    return cursor.startIndex === node.startIndex ? cursor.currentFieldId : -1;
  } finally {
    cursor.delete();
  }
}

function languageTables(heap: WasmHeap, treeAddress: number, language: Language): LanguageTables | undefined {
  const { HEAPU8: u8, HEAPU16: u16, HEAP32: i32 } = heap;
  const lang = i32[(treeAddress + T_LANGUAGE) >> 2];
  const word = (offset: number): number => i32[(lang + offset) >> 2];
  // Symbols, then aliases: the symbol tables cover both.
  const symbolCount = word(L_SYMBOL_COUNT) + word(L_ALIAS_COUNT);
  // What web-tree-sitter reads through its own API must read the same here, or the layout is not the one above.
  if (
    word(L_ABI_VERSION) !== language.abiVersion ||
    word(L_FIELD_COUNT) !== language.fieldCount ||
    symbolCount !== language.nodeTypeCount
  )
    return undefined;
  const productions = word(L_PRODUCTION_ID_COUNT);
  const maxAliasLength = u16[(lang + L_MAX_ALIAS_LENGTH) >> 1];
  const publicSymbol = u16.slice(word(L_PUBLIC_SYMBOL_MAP) >> 1, (word(L_PUBLIC_SYMBOL_MAP) >> 1) + symbolCount);
  const namedSymbol = new Uint8Array(symbolCount);
  const metadata = word(L_SYMBOL_METADATA); // TSSymbolMetadata: visible, named, supertype (a byte each)
  for (let s = 0; s < symbolCount; s++) namedSymbol[s] = u8[metadata + 3 * s + 1];
  const aliasBase = word(L_ALIAS_SEQUENCES) >> 1;
  const aliasSequences = u16.slice(aliasBase, aliasBase + productions * maxAliasLength);
  // Field map entries (TSFieldMapEntry: field_id u16, child_index u8, inherited bool) of each production, by
  // TSMapSlice (index u16, length u16). The first non-inherited entry for a child wins, as in the cursor.
  const slices = word(L_FIELD_MAP_SLICES);
  const entries = word(L_FIELD_MAP_ENTRIES);
  const fieldEntries = (p: number): number[] => {
    if (!word(L_FIELD_COUNT)) return [];
    const from = entries + 4 * u16[(slices + 4 * p) >> 1];
    return Array.from({ length: u16[(slices + 4 * p + 2) >> 1] }, (_, k) => from + 4 * k).filter((e) => !u8[e + 3]);
  };
  let fieldWidth = 1;
  for (let p = 0; p < productions; p++)
    for (const e of fieldEntries(p)) fieldWidth = Math.max(fieldWidth, u8[e + 2] + 1);
  const fieldAt = new Uint16Array(productions * fieldWidth);
  for (let p = 0; p < productions; p++) {
    for (const e of fieldEntries(p)) fieldAt[p * fieldWidth + u8[e + 2]] ||= u16[e >> 1];
  }
  return { checked: 0, publicSymbol, namedSymbol, aliasSequences, maxAliasLength, fieldAt, fieldWidth };
}

// A frame of the walk's stack (Int32Array, FRAME words each): one subtree whose children are being read.
const F_ADDRESS = 0; // its heap address
const F_CHILD = 1; // the next child to read
const F_STRUCTURAL = 2; // the next child's structural index (extras do not count)
const F_POSITION = 3; // the byte where the last child read ends
const F_PARENT = 4; // the visible node its visible children belong to
const F_FIELD = 5; // the field its children inherit when they have none (the hidden subtree's own field)
const F_OWN = 6; // 1: it is that visible node (its end closes the node)
const FRAME = 8;

/**
 * Pre-order over the visible nodes, as ts_tree_cursor visits them. A hidden subtree's visible children count as
 * its visible parent's children, and take its field when they have none of their own.
 */
function walk(heap: WasmHeap, treeAddress: number, t: LanguageTables): NodeArrays {
  const { HEAPU8: u8, HEAPU16: u16, HEAP32: i32 } = heap;
  const { publicSymbol, namedSymbol, aliasSequences, maxAliasLength, fieldAt, fieldWidth } = t;
  const root = treeAddress; // the root Subtree is the tree's first member
  const rootInline = u8[root] & 1;
  const rootHeap = rootInline ? 0 : i32[root >> 2];
  const rootKids = rootInline ? 0 : i32[(rootHeap + H_CHILD_COUNT) >> 2];
  let cap = 1 + (rootKids ? i32[(rootHeap + H_VISIBLE_DESCENDANT_COUNT) >> 2] : 0);
  let a = nodeArrays(cap);
  let { typeIds, fieldIds, starts, ends, after, parents, flags } = a;
  let frames = new Int32Array(64 * FRAME);

  // The root: visible, no field, starting after its padding.
  const rootPadding = rootInline ? u8[root + 6] : i32[(rootHeap + H_PADDING_BYTES) >> 2];
  const rootSize = rootInline ? u8[root + 7] : i32[(rootHeap + H_SIZE_BYTES) >> 2];
  const rootSymbol = rootInline ? u8[root + 1] : u16[(rootHeap + H_SYMBOL) >> 1];
  const rootBits = rootInline ? u8[root] >> 1 : u16[(rootHeap + H_FLAGS) >> 1];
  typeIds[0] = rootSymbol === ERROR_SYMBOL ? ERROR_SYMBOL : publicSymbol[rootSymbol];
  starts[0] = rootPadding >> 1; // bytes of UTF-16 text to code units
  ends[0] = (rootPadding + rootSize) >> 1;
  parents[0] = -1;
  flags[0] = ((rootBits >> 1) & 1) | ((rootInline ? (rootBits >> 4) & 1 : (rootBits >> 9) & 1) << 1);
  let n = 1;
  let top = 0; // words in use on the frame stack
  if (rootKids) {
    frames[F_ADDRESS] = rootHeap;
    frames[F_POSITION] = rootPadding;
    frames[F_OWN] = 1;
    top = FRAME;
  } else after[0] = 1;

  while (top > 0) {
    const f = top - FRAME;
    const parentAddress = frames[f + F_ADDRESS];
    const childCount = i32[(parentAddress + H_CHILD_COUNT) >> 2];
    const c = frames[f + F_CHILD];
    if (c === childCount) {
      top = f;
      if (frames[f + F_OWN]) after[frames[f + F_PARENT]] = n;
      continue;
    }
    frames[f + F_CHILD] = c + 1;
    const at = parentAddress - SUBTREE * (childCount - c);
    const head = u8[at];
    let position = frames[f + F_POSITION];
    let childHeap = 0;
    let symbol: number, visible: number, extra: number, named: number, missing: number, size: number, kids: number;
    if (head & 1) {
      if (c > 0) position += u8[at + 6];
      symbol = u8[at + 1];
      visible = (head >> 1) & 1;
      named = (head >> 2) & 1;
      extra = (head >> 3) & 1;
      missing = (head >> 5) & 1;
      size = u8[at + 7];
      kids = 0;
    } else {
      childHeap = i32[at >> 2];
      if (c > 0) position += i32[(childHeap + H_PADDING_BYTES) >> 2];
      const bits = u16[(childHeap + H_FLAGS) >> 1];
      symbol = u16[(childHeap + H_SYMBOL) >> 1];
      visible = bits & 1;
      named = (bits >> 1) & 1;
      extra = (bits >> 2) & 1;
      missing = (bits >> 9) & 1;
      size = i32[(childHeap + H_SIZE_BYTES) >> 2];
      kids = i32[(childHeap + H_CHILD_COUNT) >> 2];
    }
    const end = position + size;
    frames[f + F_POSITION] = end;
    let alias = 0;
    let field = 0;
    if (!extra) {
      const production = u16[(parentAddress + H_PRODUCTION_ID) >> 1];
      const structural = frames[f + F_STRUCTURAL]++;
      if (production) alias = aliasSequences[production * maxAliasLength + structural];
      field = (structural < fieldWidth ? fieldAt[production * fieldWidth + structural] : 0) || frames[f + F_FIELD];
    }
    let own = 0;
    if (visible || alias) {
      if (n === cap) {
        a = nodeArrays((cap *= 2), a);
        ({ typeIds, fieldIds, starts, ends, after, parents, flags } = a);
      }
      const i = n++;
      const shown = alias || symbol;
      typeIds[i] = shown === ERROR_SYMBOL ? ERROR_SYMBOL : publicSymbol[shown];
      fieldIds[i] = field;
      starts[i] = position >> 1;
      ends[i] = end >> 1;
      parents[i] = frames[f + F_PARENT];
      flags[i] = (alias ? namedSymbol[alias] : named) | (missing << 1);
      if (!kids) {
        after[i] = n;
        continue;
      }
      own = 1;
      field = 0;
    } else if (!kids || !i32[(childHeap + H_VISIBLE_CHILD_COUNT) >> 2]) continue;
    // Read the child's children next: a visible node's, or a hidden subtree's that has visible nodes in it.
    if (top === frames.length) frames = grow(frames, new Int32Array(frames.length * 2));
    frames[top + F_ADDRESS] = childHeap;
    frames[top + F_CHILD] = 0;
    frames[top + F_STRUCTURAL] = 0;
    frames[top + F_POSITION] = position;
    frames[top + F_PARENT] = own ? n - 1 : frames[f + F_PARENT];
    frames[top + F_FIELD] = field;
    frames[top + F_OWN] = own;
    top += FRAME;
  }

  return firstNodes(a, n);
}

/** Arrays for `cap` nodes; with `from`, a copy of it grown to `cap` (a walk that outgrew its arrays). */
export function nodeArrays(cap: number, from?: NodeArrays): NodeArrays {
  const a: NodeArrays = {
    count: 0,
    typeIds: new Uint16Array(cap),
    fieldIds: new Uint16Array(cap),
    starts: new Int32Array(cap),
    ends: new Int32Array(cap),
    after: new Int32Array(cap),
    parents: new Int32Array(cap),
    flags: new Uint8Array(cap),
  };
  if (from) {
    a.typeIds.set(from.typeIds);
    a.fieldIds.set(from.fieldIds);
    a.starts.set(from.starts);
    a.ends.set(from.ends);
    a.after.set(from.after);
    a.parents.set(from.parents);
    a.flags.set(from.flags);
  }
  return a;
}

/** The first n nodes of a walk's arrays. */
export function firstNodes(a: NodeArrays, n: number): NodeArrays {
  return {
    count: n,
    typeIds: a.typeIds.subarray(0, n),
    fieldIds: a.fieldIds.subarray(0, n),
    starts: a.starts.subarray(0, n),
    ends: a.ends.subarray(0, n),
    after: a.after.subarray(0, n),
    parents: a.parents.subarray(0, n),
    flags: a.flags.subarray(0, n),
  };
}

function grow<T extends Uint16Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
