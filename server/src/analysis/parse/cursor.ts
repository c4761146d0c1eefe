// Walks a tree with a cursor, either through web-tree-sitter's TreeCursor or, when the wasm module's exports can be
// reached, by calling them directly. TreeCursor copies the cursor's four words in and out of wasm around every
// call (about a microsecond a node); the cursor functions keep it in wasm's transfer buffer between calls, so direct
// calls need no copying (a fifth of the time). Same functions, same answers: the direct way only skips the copies.
import type { Tree, TreeCursor } from 'web-tree-sitter';
import { cursorExports, type CursorExports } from './parser';

export interface CursorPort {
  typeId(): number;
  fieldId(): number;
  startIndex(): number;
  endIndex(): number;
  isNamed(): boolean;
  isMissing(): boolean;
  gotoFirstChild(): boolean;
  gotoNextSibling(): boolean;
  gotoParent(): boolean;
  /** Frees the cursor. */
  dispose(): void;
}

export function cursorPort(tree: Tree): CursorPort {
  const w = cursorExports();
  return w ? directPort(tree, w) : publicPort(tree);
}

/** web-tree-sitter's own TreeCursor: always available, slower. */
export function publicPort(tree: Tree): CursorPort {
  const c: TreeCursor = tree.walk();
  return {
    typeId: () => c.nodeTypeId,
    fieldId: () => c.currentFieldId,
    startIndex: () => c.startIndex,
    endIndex: () => c.endIndex,
    isNamed: () => c.nodeIsNamed,
    isMissing: () => c.nodeIsMissing,
    gotoFirstChild: () => c.gotoFirstChild(),
    gotoNextSibling: () => c.gotoNextSibling(),
    gotoParent: () => c.gotoParent(),
    dispose: () => c.delete(),
  };
}

/**
 * The cursor lives in the transfer buffer from tree.walk() until dispose: nothing else may call into web-tree-sitter
 * in between (the walk is synchronous, and the port is not handed out).
 */
function directPort(tree: Tree, w: CursorExports): CursorPort {
  const t = (tree as unknown as { [0]: number })[0];
  tree.walk(); // leaves the new cursor in the transfer buffer; the TreeCursor object it returns is not used
  return {
    typeId: () => w._ts_tree_cursor_current_node_type_id_wasm(t),
    fieldId: () => w._ts_tree_cursor_current_field_id_wasm(t),
    startIndex: () => w._ts_tree_cursor_start_index_wasm(t),
    endIndex: () => w._ts_tree_cursor_end_index_wasm(t),
    isNamed: () => w._ts_tree_cursor_current_node_is_named_wasm(t) === 1,
    isMissing: () => w._ts_tree_cursor_current_node_is_missing_wasm(t) === 1,
    gotoFirstChild: () => w._ts_tree_cursor_goto_first_child_wasm(t) === 1,
    gotoNextSibling: () => w._ts_tree_cursor_goto_next_sibling_wasm(t) === 1,
    gotoParent: () => w._ts_tree_cursor_goto_parent_wasm(t) === 1,
    dispose: () => w._ts_tree_cursor_delete_wasm(t),
  };
}
