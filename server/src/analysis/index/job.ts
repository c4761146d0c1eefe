// One file from text to facts: parse, index, delete the tree. The same on the main thread and in an index worker.
import type { Model } from '../model/types';
import type { CParser, Tree } from '../parse/parser';
import type { FileFacts, Problem } from './facts';
import { indexTree } from './indexer';

export type IndexResult = { facts: FileFacts } | { skipped: Problem };

export const zeroSpan = { line: 0, column: 0, endLine: 0, endColumn: 0 };

export function skipNote(file: string, message: string): Problem {
  return { file, at: zeroSpan, severity: 'info', message: `lockpath: ${message}` };
}

/** Parses `text`; a parse that fails (too slow) skips the file with a note. */
export function parseOrSkip(parser: CParser, path: string, text: string, oldTree?: Tree): Tree | Problem {
  try {
    return parser.parse(text, oldTree);
  } catch (e) {
    return skipNote(path, `skipped: ${(e as Error).message}`);
  }
}

/** Indexing must never take the whole analysis down: a failure becomes a problem on that file. */
export function safeIndex(parser: CParser, path: string, tree: Tree, text: string, model: Model): FileFacts {
  try {
    return indexTree(path, tree, model, (piece) => {
      const t = parseOrSkip(parser, path, piece);
      return 'rootNode' in t ? t : undefined;
    }, text);
  } catch (e) {
    return { file: path, functions: [], tables: [], tableReturns: [], macros: [], problems: [{ file: path, at: zeroSpan, severity: 'error', message: `lockpath: internal error while indexing: ${(e as Error).message}` }] };
  }
}

/** A file nobody edits: its tree is not kept. */
export function indexText(parser: CParser, path: string, text: string, model: Model): IndexResult {
  const tree = parseOrSkip(parser, path, text);
  if (!('rootNode' in tree)) return { skipped: tree };
  try {
    return { facts: safeIndex(parser, path, tree, text, model) };
  } finally {
    tree.delete();
  }
}
