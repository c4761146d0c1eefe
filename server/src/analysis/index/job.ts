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

/**
 * The longest line a file may have to be parsed. C is written in lines: the longest line of linux-6.1's .c and .h
 * files (arch/arm64, virt, mm, kernel, lib, fs, net/core, include, amd display) is 1 291 characters. A longer line is
 * minified, generated or not C; such a file is skipped with a note, so that what a file costs follows from its size
 * alone (lockpath.maxFileSize bounds that).
 */
export const MAX_LINE_LENGTH = 65_536;

/** The problem code of a file skipped for a line over MAX_LINE_LENGTH. */
export const TOO_LONG_LINE = 'too-long-line';

/** The first line longer than MAX_LINE_LENGTH, if any: its zero-based number and length. */
export function overlongLine(text: string): { line: number; length: number } | undefined {
  if (text.length <= MAX_LINE_LENGTH) return undefined;
  let line = 0;
  for (let start = 0; start <= text.length; line++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end - start > MAX_LINE_LENGTH) return { line, length: end - start };
    if (nl < 0) break;
    start = nl + 1;
  }
  return undefined;
}

/** Parses `text`; a file with an overlong line, or whose parse fails (too slow), is skipped with a note. */
export function parseOrSkip(parser: CParser, path: string, text: string, oldTree?: Tree): Tree | Problem {
  const long = overlongLine(text);
  if (long) {
    return {
      ...skipNote(path, `skipped: line ${long.line + 1} is ${long.length} characters long (limit ${MAX_LINE_LENGTH})`),
      at: { line: long.line, column: 0, endLine: long.line, endColumn: 0 },
      code: TOO_LONG_LINE,
    };
  }
  try {
    return parser.parse(text, oldTree);
  } catch (e) {
    return skipNote(path, `skipped: ${(e as Error).message}`);
  }
}

/** Indexing must never take the whole analysis down: a failure becomes a problem on that file. */
export function safeIndex(parser: CParser, path: string, tree: Tree, text: string, model: Model): FileFacts {
  try {
    return indexTree(
      path,
      tree,
      model,
      (piece) => {
        const t = parseOrSkip(parser, path, piece);
        return 'rootNode' in t ? t : undefined;
      },
      text,
    );
  } catch (e) {
    return {
      file: path,
      functions: [],
      tables: [],
      tableReturns: [],
      macros: [],
      problems: [
        {
          file: path,
          at: zeroSpan,
          severity: 'error',
          message: `lockpath: internal error while indexing: ${(e as Error).message}`,
        },
      ],
    };
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
