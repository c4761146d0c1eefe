// Lines of a text, as the whole analysis counts them: a line ends at '\n' (a '\r' before it stays on its line, as
// tree-sitter and LSP count), columns are UTF-16 code units. One table-based index for repeated conversions and
// one-scan helpers for a single conversion; everything that turns offsets into positions or back uses these.

/** The offset where each line starts: 0, then one past every '\n'. */
export function lineStarts(text: string): Int32Array {
  let out = new Int32Array(Math.max(16, text.length >> 5));
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (n === out.length) {
      const bigger = new Int32Array(n * 2);
      bigger.set(out);
      out = bigger;
    }
    out[n++] = i + 1;
  }
  return out.subarray(0, n);
}

/** The line holding `offset`, by binary search in `starts`; `from`, a line known to start at or before it, narrows. */
export function lineAt(starts: ArrayLike<number>, offset: number, from = 0): number {
  let lo = from;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A text's line table, for many conversions over one text. */
export class LineIndex {
  readonly starts: Int32Array;

  constructor(readonly text: string) {
    this.starts = lineStarts(text);
  }

  get count(): number {
    return this.starts.length;
  }

  position(offset: number): { line: number; column: number } {
    const line = lineAt(this.starts, offset);
    return { line, column: offset - this.starts[line] };
  }
}

/** Line and column of `offset`, in one scan (no table: for a single conversion). */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start };
}

/** The offset where `line` starts, in one scan; undefined past the last line. */
export function lineStartOf(text: string, line: number): number | undefined {
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return undefined;
    offset = next + 1;
  }
  return offset;
}

/** The offset of a line and column, clamped into the text: to the end of the line, and past the last line to the end. */
export function clampedOffset(text: string, line: number, column: number): number {
  const start = lineStartOf(text, line);
  if (start === undefined) return text.length;
  const end = text.indexOf('\n', start);
  return Math.min(start + column, end < 0 ? text.length : end);
}
