import type { SyntaxNode as Node } from '../parse/flat';
import type { Span } from './facts';

export function spanOf(node: Node): Span {
  const t = node.tree;
  const start = t.starts[node.index];
  const end = t.ends[node.index];
  const line = t.rowAt(start);
  const endLine = t.rowAt(end, line);
  return { line, column: start - t.lineStart(line), endLine, endColumn: end - t.lineStart(endLine) };
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
