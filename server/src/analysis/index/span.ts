import type { SyntaxNode as Node } from '../parse/flat';
import type { Span } from './facts';

export function spanOf(node: Node): Span {
  const s = node.startPosition;
  const e = node.endPosition;
  return { line: s.row, column: s.column, endLine: e.row, endColumn: e.column };
}

/** FNV-1a, 32 bit, as hex: cheap content keys for caches. */
export function hashText(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
