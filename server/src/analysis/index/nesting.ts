// The bound on how deep a function may nest. Lowering (body.ts) and the walks over lowered statements after it
// (annotate, call graph, simulator, quick fixes, JSON and structured clones) recurse once per level or more; a
// function nested deeper than any real code is reported and left out instead of overflowing the stack and taking
// its whole file with it.
import type { SyntaxNode as Node } from '../parse/flat';
import type { Problem } from './facts';
import { spanOf } from './span';

/**
 * Levels of syntax nodes below a function definition (an `if` with a block costs two, a parenthesis one). The
 * deepest of the 71 000 functions of linux-6.1's arch/arm64, virt, mm, kernel, lib, fs, net/core and amd display
 * code nests 107 levels (generated curve25519 arithmetic); analysed functions stay far inside the stack at 256.
 */
export const MAX_NESTING = 256;

/** The problem code of a function left out for its nesting (see Problem.code). */
export const TOO_DEEP = 'too-deep';

/** How deep `node` nests, when that is over the bound; undefined when it may be analysed. */
export function excessNesting(node: Node): number | undefined {
  const depth = node.tree.depthBelow(node.index);
  return depth > MAX_NESTING ? depth : undefined;
}

/** The problem that says a function was not analysed; at its name when it has one. */
export function tooDeepProblem(file: string, name: string | undefined, at: Node, depth: number): Problem {
  return {
    file,
    at: spanOf(at),
    severity: 'warning',
    code: TOO_DEEP,
    message: `lockpath: function ${name ?? '(unnamed)'} nests ${depth} levels deep (limit ${MAX_NESTING}): not analysed`,
  };
}
