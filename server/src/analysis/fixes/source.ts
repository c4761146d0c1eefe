// One file's text as a fix sees it: spans (line/column, as the indexer reports them) to offsets and back, the
// file's own line ending, and the indentation of a line. Fixes copy the file's style rather than impose one.
import { lineAt, lineStarts } from '../base/lines';
import type { Span } from '../index/facts';

export class SourceText {
  readonly lineStarts: Int32Array;
  /** The line ending new lines must use: CRLF files stay CRLF. */
  readonly eol: '\n' | '\r\n';

  constructor(readonly text: string) {
    this.lineStarts = lineStarts(text);
    let crlf = 0;
    for (let l = 1; l < this.lineStarts.length; l++) if (text[this.lineStarts[l] - 2] === '\r') crlf++;
    this.eol = crlf > this.lineStarts.length - 1 - crlf ? '\r\n' : '\n';
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** The offset of a line/column, or undefined when the position is not in the text (stale facts). */
  offset(line: number, column: number): number | undefined {
    if (line < 0 || line >= this.lineStarts.length || column < 0) return undefined;
    const start = this.lineStarts[line];
    if (start + column > this.lineEnd(line)) return undefined;
    return start + column;
  }

  /** Start and end offsets of a span, or undefined when it does not fit the text. */
  range(span: Span): { start: number; end: number } | undefined {
    const start = this.offset(span.line, span.column);
    const end = this.offset(span.endLine, span.endColumn);
    return start === undefined || end === undefined || end < start ? undefined : { start, end };
  }

  position(offset: number): { line: number; column: number } {
    const line = lineAt(this.lineStarts, offset);
    return { line, column: offset - this.lineStarts[line] };
  }

  /** A zero-width span at `offset` (an insertion point). */
  pointSpan(offset: number): Span {
    const p = this.position(offset);
    return { line: p.line, column: p.column, endLine: p.line, endColumn: p.column };
  }

  /** Where the line's content ends (before its \r\n or \n). */
  lineEnd(line: number): number {
    const next = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] : this.text.length + 1;
    let end = next - 1;
    if (end > this.lineStarts[line] && this.text[end - 1] === '\r') end--;
    return end;
  }

  lineText(line: number): string {
    return this.text.slice(this.lineStarts[line], this.lineEnd(line));
  }

  indentOf(line: number): string {
    return /^[ \t]*/.exec(this.lineText(line))![0];
  }

  /** Nothing but blanks between the start of its line and `offset`: a new line can be inserted there. */
  startsLine(offset: number): boolean {
    const { line } = this.position(offset);
    return /^[ \t]*$/.test(this.text.slice(this.lineStarts[line], offset));
  }

  /** The start of the line holding `offset`. */
  lineStartOf(offset: number): number {
    return this.lineStarts[this.position(offset).line];
  }
}

/** Joins lines with the file's line ending, ending with one too (inserted text is whole lines). */
export function lines(src: SourceText, ls: readonly string[]): string {
  return ls.map((l) => l + src.eol).join('');
}
