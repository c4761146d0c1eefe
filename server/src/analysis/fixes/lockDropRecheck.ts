// After cond_resched_lock the walk holds the lock again, but everything it learned before the drop is stale:
// ->release may have freed the tables meanwhile. "kvm: arm/arm64: Fix use after free of stage2 page table"
// (v4.12) re-reads the root at the top of every round and stops when it is gone; this fix inserts that test.
import type { FunctionFacts, Span, Stmt } from '../index/facts';
import type { Finding } from '../findings/findings';
import type { Analysis } from '../workspace';
import { matchingClose, skipTrailing, skipTrivia } from './cscan';
import { guardedAtTop } from './existingGuards';
import { offsetOf, siteOf } from './functionSite';
import { comment, kvmName, rootExpr } from './kernelStyle';
import { lines } from './source';
import type { Draft } from './types';

type Loop = Extract<Stmt, { k: 'loop' }>;

/** The step where the finding's own thread let go of the lock to reschedule, if its witness has one. */
export function lockDrop(finding: Finding): Finding['witness'][number] | undefined {
  const hazard = finding.witness.findIndex((s) => s.hazard);
  const before = hazard < 0 ? finding.witness : finding.witness.slice(0, hazard);
  return before.find((s) => s.lane === 0 && / drops /.test(s.action));
}

export function lockDropRecheck(
  analysis: Analysis,
  finding: Finding,
  textOf: (file: string) => string | undefined,
): Draft | undefined {
  const drop = lockDrop(finding);
  // Where the loop is: the function that dropped the lock, else the one holding the access, else up the chain.
  const names = [drop?.function, finding.function, ...[...finding.chain.path].reverse()].filter(
    (n): n is string => !!n,
  );
  for (const name of [...new Set(names)]) {
    const fn = analysis.graph.lookup(name, name === drop?.function ? drop.file : undefined);
    const loop = fn && loopAround(fn.body, drop?.function === name ? drop.at : undefined);
    if (fn && loop) return recheck(analysis, fn, loop, textOf);
  }
  return undefined;
}

/** The innermost loop whose body reschedules the lock (at `at`, when the witness says where). */
function loopAround(stmts: readonly Stmt[], at: Span | undefined): Loop | undefined {
  for (const s of stmts) {
    const inner =
      s.k === 'loop'
        ? loopAround(s.body, at)
        : s.k === 'if'
          ? loopAround([...s.then, ...s.else], at)
          : s.k === 'switch'
            ? loopAround(s.body, at)
            : undefined;
    if (inner) return inner;
    if (s.k === 'loop' && reschedules(s.body, at)) return s;
  }
  return undefined;
}

function reschedules(stmts: readonly Stmt[], at: Span | undefined): boolean {
  return stmts.some((s) =>
    s.k === 'lock'
      ? s.op === 'resched' && (!at || (s.at.line === at.line && s.at.column === at.column))
      : s.k === 'if'
        ? reschedules([...s.then, ...s.else], at)
        : s.k === 'switch'
          ? reschedules(s.body, at)
          : false,
  );
}

function recheck(
  analysis: Analysis,
  fn: FunctionFacts,
  loop: Loop,
  textOf: (file: string) => string | undefined,
): Draft | undefined {
  const site = siteOf(fn, textOf);
  if (!site || guardedAtTop(fn, loop.body, ['break', 'return', 'goto'], analysis.graph)) return undefined;
  const kvm = kvmName(fn, site.src.text.slice(site.open, site.close));
  const open = bodyBrace(site.src.text, offsetOf(site, loop.at), loop.form);
  if (!kvm || open === undefined) return undefined;
  const { src } = site;
  // Only a brace that ends its line: `do {` then the body on the lines below.
  const afterBrace = skipTrailing(src.text, open + 1);
  if (src.text[afterBrace] !== '\r' && src.text[afterBrace] !== '\n') return undefined;
  const braceLine = src.position(open).line;
  if (braceLine + 1 >= src.lineCount) return undefined;
  // The body's own indentation, from its first line; an empty body: one level deeper than the loop.
  const next = src.lineText(braceLine + 1).trim();
  const indent = next && next !== '}' ? src.indentOf(braceLine + 1) : src.indentOf(braceLine) + '\t';
  const resched = reschedName(loop.body) ?? 'cond_resched_lock';
  const { model } = analysis;
  const newText = lines(src, [
    ...comment(indent, `${resched} dropped the lock: the tables may be gone`),
    `${indent}if (!READ_ONCE(${rootExpr(model, kvm)}))`,
    `${indent}\tbreak;`,
  ]);
  return {
    title: `Re-check ${model.resource.display} after ${resched} in ${fn.name}`,
    explanation:
      `${fn.name} drops ${model.lock.display} in ${resched} and goes on with what it read before the drop; ` +
      `${model.freeFunction} can run in the gap. Re-read the root at the top of every round and stop when it is ` +
      `gone, as "kvm: arm/arm64: Fix use after free of stage2 page table" (v4.12) did.`,
    edits: [{ file: fn.file, span: src.pointSpan(src.lineStarts[braceLine + 1]), newText }],
  };
}

function reschedName(stmts: readonly Stmt[]): string | undefined {
  for (const s of stmts) {
    if (s.k === 'lock' && s.op === 'resched') return s.fn;
    const inner =
      s.k === 'if' ? reschedName([...s.then, ...s.else]) : s.k === 'switch' ? reschedName(s.body) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/** The `{` opening a loop's body: after `do`, or after the `( ... )` of while/for/a for_each macro. */
function bodyBrace(text: string, start: number | undefined, form: Loop['form']): number | undefined {
  if (start === undefined) return undefined;
  let i: number;
  if (form === 'do') {
    if (!/^do\b/.test(text.slice(start, start + 3))) return undefined;
    i = skipTrivia(text, start + 2);
  } else {
    const paren = text.indexOf('(', start);
    const close = paren < 0 ? -1 : matchingClose(text, paren);
    if (close < 0) return undefined;
    i = skipTrivia(text, close + 1);
  }
  return text[i] === '{' ? i : undefined;
}
