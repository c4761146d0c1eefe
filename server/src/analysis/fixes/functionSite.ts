// A function as it stands in its file's text, checked against the facts, and the place an early guard goes:
// after the local declarations, but never after the first statement that can reach the root.
import type { CallGraph } from '../callgraph/graph';
import type { FunctionFacts, Span } from '../index/facts';
import { isDeclarationAt, skipTrailing, skipTrivia, statementEnd } from './cscan';
import { SourceText } from './source';

export interface FunctionSite {
  fn: FunctionFacts;
  src: SourceText;
  /** Offsets of the body's `{` and `}`. */
  open: number;
  close: number;
}

/**
 * The function in `textOf(fn.file)`, or undefined when the text no longer matches the facts (the file changed
 * after the analysis): a fix computed from stale spans would edit the wrong bytes.
 */
export function siteOf(
  fn: FunctionFacts | undefined,
  textOf: (file: string) => string | undefined,
): FunctionSite | undefined {
  if (!fn) return undefined;
  const text = textOf(fn.file);
  if (text === undefined) return undefined;
  const src = new SourceText(text);
  const name = src.range(fn.nameSpan);
  const body = src.range(fn.bodySpan);
  if (!name || !body || text.slice(name.start, name.end) !== fn.name) return undefined;
  if (text[body.start] !== '{' || text[body.end - 1] !== '}') return undefined;
  return { fn, src, open: body.start, close: body.end - 1 };
}

export function offsetOf(site: FunctionSite, span: Span): number | undefined {
  return site.src.offset(span.line, span.column);
}

/** The local declarations opening the body (with their extents), and where the first statement starts. */
export function declarations(
  site: FunctionSite,
): { decls: { start: number; end: number }[]; next: number } | undefined {
  const text = site.src.text;
  const decls: { start: number; end: number }[] = [];
  let i = site.open + 1;
  for (;;) {
    const j = skipTrivia(text, i);
    if (j >= site.close || !isDeclarationAt(text, j)) break;
    const end = statementEnd(text, j, site.close);
    if (end < 0) return undefined;
    decls.push({ start: j, end });
    i = skipTrailing(text, end);
  }
  // A comment between the declarations and the first statement belongs to that statement: the guard goes above it.
  let next = i;
  while (next < site.close && /\s/.test(text[next])) next++;
  return { decls, next };
}

/** The first place the function reads the root or calls something that can: a guard must come before it. */
export function firstRootTouch(site: FunctionSite, graph: CallGraph): number | undefined {
  const { fn } = site;
  const spans: Span[] = [
    ...fn.uses.filter((u) => u.kind !== 'guard').map((u) => u.at),
    ...fn.calls.filter((c) => graph.staticTargets(fn, c).some((t) => graph.reachesRoot(t.fn))).map((c) => c.at),
  ];
  let first: number | undefined;
  for (const s of spans) {
    const o = offsetOf(site, s);
    if (o !== undefined && (first === undefined || o < first)) first = o;
  }
  return first;
}

/**
 * Where an early guard goes: at the start of the line of the first statement after the declarations (kernel
 * style keeps declarations first), unless a declaration's initializer already reaches the root, in which case
 * before that declaration. Undefined when that place does not start its own line (`{ return f(kvm); }`).
 */
export function guardPoint(site: FunctionSite, graph: CallGraph): { offset: number; indent: string } | undefined {
  const d = declarations(site);
  if (!d) return undefined;
  let at = d.next;
  const touch = firstRootTouch(site, graph);
  if (touch !== undefined && touch < at) {
    const holder = d.decls.find((x) => x.start <= touch && touch < x.end);
    if (!holder) return undefined;
    at = holder.start;
  }
  const { src } = site;
  if (!src.startsLine(at)) return undefined;
  const line = src.position(at).line;
  // An empty rest of the body: indent one level deeper than its closing brace.
  const indent = at === site.close ? src.indentOf(line) + '\t' : src.indentOf(line);
  return { offset: src.lineStartOf(at), indent };
}
