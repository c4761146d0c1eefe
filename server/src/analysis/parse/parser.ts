// The one place that talks to web-tree-sitter: loads the C grammar once and parses text, incrementally when an
// old tree and the edit are known.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Edit, type Node, type Tree } from 'web-tree-sitter';
import { clampedOffset, positionOf } from '../base/lines';

export type { Node, Tree };

let loading: Promise<CParser> | undefined;

/** The wasm module's tree-cursor functions (see cursor.ts). */
export interface CursorExports {
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_named_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_missing_wasm(tree: number): number;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
  _ts_tree_cursor_delete_wasm(tree: number): void;
}

let cursorFunctions: CursorExports | undefined;

/** Views of the wasm module's memory (see memory.ts). The module replaces them when its memory grows. */
export interface WasmHeap {
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  HEAP32: Int32Array;
}

let wasmModule: Partial<WasmHeap> | undefined;

let wasmSha256: string | undefined;

/** The SHA-256 of the tree-sitter.wasm that was loaded (memory.ts reads its structs only for the build it knows). */
export function loadedWasmSha256(): string | undefined {
  return wasmSha256;
}

/** The module's memory as it is now, when the module exposes it; read it again after any call into wasm. */
export function wasmHeap(): WasmHeap | undefined {
  const m = wasmModule;
  return m?.HEAPU8 instanceof Uint8Array && m.HEAPU16 instanceof Uint16Array && m.HEAP32 instanceof Int32Array
    ? (m as WasmHeap)
    : undefined;
}

/** The cursor functions when the loaded module exposes them; undefined means: use web-tree-sitter's TreeCursor. */
export function cursorExports(): CursorExports | undefined {
  return cursorFunctions;
}

/** Loads the grammar on first use; every later call returns the same parser. */
export function loadParser(wasmDir?: string): Promise<CParser> {
  loading ??= (async () => {
    const dir = wasmDir ?? findWasmDir();
    // Emscripten builds the module on the options object it is given: afterwards it holds the wasm exports.
    // Read here rather than by the module, to know which build it is.
    const wasmBinary = readFileSync(join(dir, 'tree-sitter.wasm'));
    wasmSha256 = createHash('sha256').update(wasmBinary).digest('hex');
    const moduleOptions: Record<string, unknown> = { locateFile: (name: string) => join(dir, name), wasmBinary };
    await Parser.init(moduleOptions);
    cursorFunctions = pickCursorExports(moduleOptions);
    wasmModule = moduleOptions;
    const language = await Language.load(join(dir, 'tree-sitter-c.wasm'));
    return new CParser(language);
  })();
  return loading;
}

function pickCursorExports(module: Record<string, unknown>): CursorExports | undefined {
  const names: (keyof CursorExports)[] = [
    '_ts_tree_cursor_current_node_type_id_wasm',
    '_ts_tree_cursor_current_field_id_wasm',
    '_ts_tree_cursor_start_index_wasm',
    '_ts_tree_cursor_end_index_wasm',
    '_ts_tree_cursor_current_node_is_named_wasm',
    '_ts_tree_cursor_current_node_is_missing_wasm',
    '_ts_tree_cursor_goto_first_child_wasm',
    '_ts_tree_cursor_goto_next_sibling_wasm',
    '_ts_tree_cursor_goto_parent_wasm',
    '_ts_tree_cursor_delete_wasm',
  ];
  return names.every((n) => typeof module[n] === 'function') ? (module as unknown as CursorExports) : undefined;
}

/** The bundle keeps the wasm files in dist/wasm; unbundled runs (ts sources) find them in node_modules. */
function findWasmDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, 'wasm'), join(dir, 'dist', 'wasm')]) {
      if (existsSync(join(candidate, 'tree-sitter-c.wasm'))) return candidate;
    }
    if (dirname(dir) === dir) break;
  }
  throw new Error('lockpath: tree-sitter-c.wasm not found; run `npm run build` first');
}

/** Parsing longer than this is cut off rather than left to hang the caller (pathological input). */
const PARSE_BUDGET_MS = 10_000;

export class CParser {
  private readonly parser = new Parser();

  constructor(readonly language: Language) {
    this.parser.setLanguage(language);
  }

  /** Parses `text`; with `oldTree` (already edited to match), reuses its unchanged parts. */
  parse(text: string, oldTree?: Tree): Tree {
    const started = performance.now();
    const tree = this.parser.parse(text, oldTree ?? null, {
      progressCallback: () => performance.now() - started > PARSE_BUDGET_MS,
    });
    if (!tree) throw new ParseTimeout(PARSE_BUDGET_MS);
    return tree;
  }
}

export class ParseTimeout extends Error {
  constructor(ms: number) {
    super(`parsing took longer than ${ms} ms and was stopped`);
  }
}

/** A text edit in the terms LSP uses: replace [start, end) (line/character, UTF-16) by `text`. */
export interface TextChange {
  start: { line: number; character: number };
  end: { line: number; character: number };
  text: string;
}

/** Turns a line/character position into an offset of `text` (clamped into the text). */
export function offsetAt(text: string, line: number, character: number): number {
  return clampedOffset(text, line, character);
}

function pointAt(text: string, offset: number): { row: number; column: number } {
  const p = positionOf(text, offset);
  return { row: p.line, column: p.column };
}

/**
 * Applies one change to `text` and tells `tree` about it (tree.edit), so the next parse can reuse the tree.
 * Indices are UTF-16 code units: web-tree-sitter parses JavaScript strings as UTF-16.
 */
export function applyChange(text: string, change: TextChange, tree?: Tree): string {
  const startIndex = offsetAt(text, change.start.line, change.start.character);
  const oldEndIndex = Math.max(startIndex, offsetAt(text, change.end.line, change.end.character));
  const next = text.slice(0, startIndex) + change.text + text.slice(oldEndIndex);
  if (tree) {
    const edit: Edit = {
      startIndex,
      oldEndIndex,
      newEndIndex: startIndex + change.text.length,
      startPosition: pointAt(text, startIndex),
      oldEndPosition: pointAt(text, oldEndIndex),
      newEndPosition: pointAt(next, startIndex + change.text.length),
    };
    tree.edit(edit);
  }
  return next;
}
