// The free side's fix, in the shape of "kvm: arm/arm64: Fix race in resetting stage2 PGD" (v4.12): take the lock,
// test the root, unmap, read it into a local, set it to NULL, drop the lock, then free the local. A notifier that
// takes the lock then sees the live tables or NULL, never freed ones; two overlapping releases cannot both free.
// The function's body is rewritten whole, keeping its own unmap and free calls; anything else in it (a call we
// cannot place, a loop, another local) means we are unsure, and nothing is offered.
import type { FunctionFacts, Stmt } from '../index/facts';
import { guardTest } from '../index/annotate';
import type { Finding } from '../findings/findings';
import type { Analysis } from '../workspace';
import { matchingClose, skipTrivia } from './cscan';
import { freesUnderLock } from './existingGuards';
import { declarations, offsetOf, siteOf, type FunctionSite } from './functionSite';
import { kvmName, lockCalls, rootExpr } from './kernelStyle';
import type { Draft } from './types';

type TextOf = (file: string) => string | undefined;

/** The free function the finding races with (freeSide names it, or the teardown walk it calls). */
function freeFunctionOf(analysis: Analysis, finding: Finding): FunctionFacts | undefined {
  const name = analysis.model.freeFunction;
  const file = finding.freeSide?.function === name ? finding.freeSide.file : undefined;
  return analysis.graph.lookup(name, file);
}

export function freeUnderLock(analysis: Analysis, finding: Finding, textOf: TextOf): Draft | undefined {
  const { model } = analysis;
  const fn = freeFunctionOf(analysis, finding);
  const site = siteOf(fn, textOf);
  if (!fn || !site || freesUnderLock(fn, model)) return undefined;
  const kvm = kvmName(fn, site.src.text.slice(site.open, site.close));
  const locking = kvm ? lockCalls(model, kvm) : undefined;
  const parts = kvm ? partsOf(analysis, site) : undefined;
  if (!kvm || !locking || !parts) return undefined;

  const { src } = site;
  const closeLine = src.position(site.close).line;
  const outer = src.startsLine(site.close) ? src.indentOf(closeLine) : '';
  const ind = outer + '\t';
  const root = rootExpr(model, kvm);
  const local = parts.local ?? freshLocal(fn, kvm, model.resource.fieldPath[model.resource.fieldPath.length - 1]);
  const frees = parts.frees.map((f) => replaceFirstArg(f, local));
  if (!frees.every((f): f is Kept => f !== undefined)) return undefined;
  // Kept calls go one level inside the new `if`s.
  const place = (k: Kept): string => placed(k, `${ind}\t`, src.eol);
  const body = [
    '{',
    `${ind}void *${local} = NULL;`,
    '',
    `${ind}${locking.lock}`,
    `${ind}if (${root}) {`,
    ...parts.unmaps.map(place),
    `${ind}\t${local} = READ_ONCE(${root});`,
    `${ind}\t${root} = NULL;`,
    `${ind}}`,
    `${ind}${locking.unlock}`,
    '',
    ...(frees.length === 1
      ? [`${ind}if (${local})`, place(frees[0])]
      : [`${ind}if (${local}) {`, ...frees.map(place), `${ind}}`]),
    `${outer}}`,
  ];
  const newText = body.join(src.eol);
  const what = `test and clear ${model.resource.display} under ${model.lock.display} in ${fn.name}`;
  return {
    // On a notifier-side access the culprit is elsewhere: say so, or the title reads like a change to this line.
    title: finding.function === fn.name ? what[0].toUpperCase() + what.slice(1) : `Fix the free side: ${what}`,
    explanation:
      `${fn.name} ${finding.function === fn.name ? 'frees the stage-2 tables' : `frees the tables this access in ${finding.function} walks`}; ` +
      `it must test the root, unmap, read it into a local and set it to NULL all under ${model.lock.display}, and free ` +
      `the local only after unlocking. Then a notifier holding the lock sees the live tables or NULL, never freed ones, ` +
      `and two overlapping releases cannot both free them ("kvm: arm/arm64: Fix race in resetting stage2 PGD", v4.12).`,
    edits: [{ file: fn.file, span: fn.bodySpan, newText }],
  };
}

/** A statement kept as written, with the indentation of its line (for its continuation lines). */
interface Kept {
  text: string;
  indent: string;
}

interface Parts {
  /** The unmap calls, as written, with their `;`. */
  unmaps: Kept[];
  /** The free calls, as written, with their `;`. */
  frees: Kept[];
  /** The local the function already copies the root into, if any. */
  local?: string;
}

/** The body's statements sorted into what the rewrite keeps; undefined when something would be lost. */
function partsOf(analysis: Analysis, site: FunctionSite): Parts | undefined {
  const { fn, src } = site;
  const { model, graph } = analysis;
  const parts: Parts = { unmaps: [], frees: [] };
  let statements = 0;
  let ok = true;
  // A kept call: its text and `;`, provided it is a statement of its own, starting its line.
  const keep = (s: Stmt): Kept | undefined => {
    const start = offsetOf(site, s.at);
    const end = offsetOf(site, { line: s.at.endLine, column: s.at.endColumn, endLine: 0, endColumn: 0 });
    if (start === undefined || end === undefined || !src.startsLine(start)) return undefined;
    const semi = skipTrivia(src.text, end);
    return src.text[semi] === ';'
      ? { text: src.text.slice(start, end) + ';', indent: src.indentOf(s.at.line) }
      : undefined;
  };
  const visit = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (!ok) return;
      switch (s.k) {
        case 'if': {
          // Tests of the root (or of the local copy) only: the rewrite has its own.
          const g = guardTest(s.cond);
          if (!g) ok = false;
          visit(s.then);
          visit(s.else);
          break;
        }
        case 'return':
          statements++;
          if (s.value) ok = false;
          break;
        case 'lock':
          statements++;
          if (s.lock !== model.lock.name || s.op === 'resched') ok = false;
          break;
        case 'call': {
          statements++;
          const site2 = fn.calls.find((c) => c.at.line === s.at.line && c.at.column === s.at.column);
          const text = keep(s);
          if (!site2 || !text || !graph.staticTargets(fn, site2).some((t) => graph.reachesRoot(t.fn))) ok = false;
          else parts.unmaps.push(text);
          break;
        }
        case 'assign':
          // `void *pgd = NULL;`: the copy's initializer, which the declarations check below vouches for.
          if (!s.value && s.flag === 'false') break;
          statements++;
          if (s.value?.kind === 'field' && (!parts.local || parts.local === s.local)) parts.local = s.local;
          else ok = false;
          break;
        case 'write':
          statements++;
          if (s.value !== 'null') ok = false;
          break;
        case 'free': {
          statements++;
          const text = keep(s);
          if (!text || (s.value.kind === 'local' && s.value.name !== parts.local)) ok = false;
          else parts.frees.push(text);
          break;
        }
        default:
          ok = false;
      }
    }
  };
  visit(fn.body);
  if (!ok || !parts.frees.length) return undefined;
  // Declarations: only the local copy itself (void *pgd = NULL;), which the rewrite declares again.
  const d = declarations(site);
  if (!d) return undefined;
  for (const x of d.decls) {
    const m = /^[\w\s]*\*\s*([A-Za-z_]\w*)\s*(?:=\s*NULL\s*)?;$/.exec(
      src.text.slice(x.start, x.end).replace(/\s+/g, ' '),
    );
    if (!m || m[1] !== parts.local) return undefined;
  }
  // Every `;` of the body is one of the statements above or a declaration: nothing else would be dropped.
  return semicolons(src.text, site.open + 1, site.close) === statements + d.decls.length ? parts : undefined;
}

/** `;` in [from, to) outside comments, literals and parentheses. */
function semicolons(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to;) {
    const j = skipTrivia(text, i);
    if (j !== i) {
      i = j;
      continue;
    }
    const c = text[i];
    if (c === '(') {
      const close = matchingClose(text, i);
      if (close < 0) return -1;
      i = close + 1;
      continue;
    }
    if (c === '"' || c === "'") return -1;
    if (c === ';') n++;
    i++;
  }
  return n;
}

/** A kept statement at a new indentation; its continuation lines move by as much as its first line. */
function placed(k: Kept, indent: string, eol: string): string {
  const [first, ...rest] = k.text.split(/\r?\n/);
  return [indent + first, ...rest.map((l) => (l.startsWith(k.indent) ? indent + l.slice(k.indent.length) : l))].join(
    eol,
  );
}

/** `free_pages_exact(kvm->arch.pgd, S2_PGD_SIZE);` -> `free_pages_exact(pgd, S2_PGD_SIZE);` */
function replaceFirstArg(k: Kept, local: string): Kept | undefined {
  const call = k.text;
  const open = call.indexOf('(');
  const close = open < 0 ? -1 : matchingClose(call, open);
  if (close < 0) return undefined;
  let end = open + 1;
  let depth = 0;
  for (; end < close; end++) {
    const c = call[end];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) break;
  }
  return { text: `${call.slice(0, open + 1)}${local}${call.slice(end)}`, indent: k.indent };
}

/** A name for the local copy that shadows nothing the function already names. */
function freshLocal(fn: FunctionFacts, kvm: string, base: string): string {
  const taken = new Set([kvm, ...fn.params.map((p) => p.name)]);
  for (const name of [base, `${base}_to_free`, 'root']) if (!taken.has(name)) return name;
  return `${base}_${fn.params.length}`;
}
