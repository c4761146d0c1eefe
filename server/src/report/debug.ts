// `lockpath debug STAGE NAME`: each pipeline stage's data about one function as stable, readable text, for finding
// which stage went wrong and for golden files (a change to a lowering rule shows up as a diff of a few lines).
// Lines are one-based; nothing here depends on timing or on the order of a Map other than insertion order.
import type { Analysis } from '../analysis/workspace';
import type { CallArg, CalleeRef, Cond, FunctionFacts, Span, Stmt, ValueRef } from '../analysis/index/facts';
import type { CondI, Instr, Program, Src } from '../analysis/simulate/program';

export const DEBUG_STAGES = ['facts', 'program', 'witness', 'chains'] as const;
export type DebugStage = (typeof DEBUG_STAGES)[number];

const at = (s: Span): string => `${s.line + 1}:${s.column + 1}`;
const value = (v: ValueRef): string => (v.kind === 'field' ? '<root>' : v.name);

function cond(c: Cond): string {
  switch (c.k) {
    case 'isnull':
      return `!${value(c.value)}`;
    case 'flag':
      return c.name;
    case 'not':
      return `not(${cond(c.c)})`;
    case 'and':
      return `(${cond(c.a)} && ${cond(c.b)})`;
    case 'or':
      return `(${cond(c.a)} || ${cond(c.b)})`;
    case 'config':
      return `config ${c.symbol}`;
    default:
      return '?';
  }
}

function callee(c: CalleeRef): string {
  if (c.kind === 'direct') return c.name;
  if (c.kind === 'variable') return `(*${c.name})`;
  if (c.kind === 'macro') return `${c.name}(${c.macroArgs.join(', ')})`;
  return `${c.baseType ? `(${c.baseType})` : ''}->${c.field}`;
}

/** An argument as written; one that carries the root (or a local copy of it) says which, in angle brackets. */
const arg = (a: CallArg): string =>
  a.value
    ? `${a.text} <${value(a.value)}>`
    : a.path
      ? `${a.text} <${a.addressOf ? '&' : ''}${a.path}>`
      : a.scalar
        ? `${a.text} <${scalar(a.scalar)}>`
        : a.text;

/** A non-resource value: a constant, a copy of a local or path, the blockability, or unknown. */
const scalar = (v: { flag?: string; copy?: string; blockable?: true }): string =>
  v.flag ?? v.copy ?? (v.blockable ? '<blockable>' : 'unknown');

/** One line per statement, nested statements indented under theirs; each line ends with where it is. */
export function stmtLines(body: readonly Stmt[], indent = '  '): string[] {
  const out: string[] = [];
  const line = (text: string, s: Span): void => void out.push(`${indent}${text}  @${at(s)}`);
  for (const s of body) {
    switch (s.k) {
      case 'call':
        line(
          `${s.assignTo ? `${s.assignTo} = ` : s.resultTo ? `${s.resultTo} <- ` : ''}call ${callee(s.callee)}(${s.args.map(arg).join(', ')})`,
          s.at,
        );
        break;
      case 'lock':
        line(`${s.result ? `${s.result} = ` : ''}${s.op} ${s.lock} ${s.mode} (${s.fn})`, s.at);
        break;
      case 'sleep':
        line(`sleep (${s.fn})`, s.at);
        break;
      case 'assign':
        line(`${s.local} := ${s.value ? value(s.value) : scalar(s)}`, s.at);
        break;
      case 'deref':
        line(`deref ${value(s.value)}  \`${s.text}\``, s.at);
        break;
      case 'write':
        line(`write <root> := ${typeof s.value === 'string' ? s.value : value(s.value)}`, s.at);
        break;
      case 'free':
        line(`free ${value(s.value)} (${s.fn})`, s.at);
        break;
      case 'if':
        line(`if ${cond(s.cond)}  \`${s.text}\``, s.at);
        out.push(...stmtLines(s.then, `${indent}  `));
        if (s.else.length) {
          out.push(`${indent}else`);
          out.push(...stmtLines(s.else, `${indent}  `));
        }
        break;
      case 'loop':
        line(`loop ${s.form} ${cond(s.cond)}  \`${s.text}\``, s.at);
        if (s.test.length) {
          out.push(`${indent}  test`);
          out.push(...stmtLines(s.test, `${indent}    `));
        }
        out.push(...stmtLines(s.body, `${indent}  `));
        break;
      case 'switch':
        line('switch', s.at);
        out.push(...stmtLines(s.body, `${indent}  `));
        break;
      case 'return':
        line(`return${s.value ? ` ${value(s.value)}` : s.local ? ` ${s.local}` : ''}`, s.at);
        break;
      case 'goto':
        line(`goto ${s.label}`, s.at);
        break;
      case 'label':
        line(`${s.name}:`, s.at);
        break;
      default:
        line(s.k, s.at);
    }
  }
  return out;
}

export function factsText(fn: FunctionFacts): string {
  const params = fn.params.map(
    (p) => `${p.type} ${p.name}${p.isFunctionPointer ? ' (fn)' : ''}${p.walks ? ' (walks)' : ''}`,
  );
  const out = [
    `facts ${fn.name}  ${fn.file}:${at(fn.nameSpan)}${fn.recovered ? '  (recovered)' : ''}`,
    `  returns ${fn.returnType}; params ${params.join(', ') || 'none'}; touches root: ${fn.touchesRoot ? 'yes' : 'no'}`,
    '  body',
    ...stmtLines(fn.body, '    '),
  ];
  if (fn.calls.length) out.push('  calls');
  for (const c of fn.calls) {
    const guards = c.guards.map((g) => `line ${g.line + 1}`).join(', ');
    out.push(`    ${callee(c.callee)}  @${at(c.at)}  locks [${c.locksHeld.join(', ')}]  guards [${guards}]`);
  }
  if (fn.uses.length) out.push('  uses');
  for (const u of fn.uses) out.push(`    ${u.kind}  @${at(u.at)}  locks [${u.locksHeld.join(', ')}]`);
  for (const g of fn.guards)
    out.push(
      `  guard ${g.form}${g.onField ? ' on <root>' : ''}  @${at(g.at)} protects ${at(g.protects)}-${g.protects.endLine + 1}`,
    );
  for (const f of fn.fieldInits) out.push(`  field init .${f.field} = ${f.value}`);
  for (const v of fn.varSources) out.push(`  ${v.variable} from ${JSON.stringify(v.from)}`);
  return out.join('\n');
}

function src(p: Program, s: Src): string {
  return 'field' in s ? '<root>' : `$${p.slotNames[s.slot]}`;
}

function condI(p: Program, c: CondI): string {
  switch (c.k) {
    case 'isnull':
      return `!${src(p, c.src)}`;
    case 'flag':
      return `$${p.slotNames[c.slot]}`;
    case 'not':
      return `not(${condI(p, c.c)})`;
    case 'and':
      return `(${condI(p, c.a)} && ${condI(p, c.b)})`;
    case 'or':
      return `(${condI(p, c.a)} || ${condI(p, c.b)})`;
    default:
      return '?';
  }
}

/**
 * What one instruction does; the next pc is named only when it is not the following one. `target` names a pc (the
 * pc itself, or a label in golden files).
 */
export function instrText(p: Program, i: Instr, pc: number, target: (pc: number) => string = String): string {
  const next = (n: number): string => (n === pc + 1 ? '' : ` -> ${target(n)}`);
  // The core's own lock around a built-in hook, or the lock function the code calls.
  const by = (i: { fn: string; byCore?: boolean }): string => (i.byCore ? '(by the core)' : `(${i.fn})`);
  switch (i.op) {
    case 'lock':
      return `lock ${i.lock} ${i.mode} ${by(i)}${next(i.next)}`;
    case 'unlock':
      return `unlock ${i.lock} ${by(i)}${next(i.next)}`;
    case 'resched-drop':
      return `resched-drop ${i.lock} (${i.fn})${next(i.next)}`;
    case 'resched-take':
      return `resched-take ${i.lock} ${i.mode} (${i.fn})${next(i.next)}`;
    case 'assign':
      return `$${p.slotNames[i.slot]} := ${i.src ? src(p, i.src) : (i.flag ?? 'unknown')}${i.clears ? ` (forgets ${i.clears.length})` : ''}${next(i.next)}`;
    case 'trylock':
      return `$${p.slotNames[i.slot]} := trylock ${i.lock} ${i.mode} (${i.fn})${next(i.next)}`;
    case 'sleep':
      return `sleep (${i.fn})${next(i.next)}`;
    case 'deref':
      return `deref ${src(p, i.src)}  \`${i.text}\`${next(i.next)}`;
    case 'write':
      return `write <root> := ${typeof i.value === 'string' ? i.value : src(p, i.value)}${next(i.next)}`;
    case 'free':
      return `free ${src(p, i.src)} (${i.fn})${next(i.next)}`;
    case 'branch':
      return `branch ${condI(p, i.cond)} then ${target(i.then)} else ${target(i.else)}${i.guard ? ' (guard)' : ''}  \`${i.text}\``;
    case 'choice':
      return `choice ${i.targets.map(target).join(' | ')}`;
    case 'jump':
      return `jump ${target(i.target)}`;
    default:
      return 'end';
  }
}

/** Every pc some instruction goes to other than by falling through, in pc order. */
function jumpTargets(p: Program): number[] {
  const out = new Set<number>();
  p.instrs.forEach((i, pc) => {
    if ('next' in i && i.next !== pc + 1) out.add(i.next);
    if (i.op === 'branch') [i.then, i.else].forEach((t) => out.add(t));
    if (i.op === 'choice') i.targets.forEach((t) => out.add(t));
    if (i.op === 'jump') out.add(i.target);
  });
  return [...out].sort((a, b) => a - b);
}

/**
 * An entry's program, one instruction a line. `labels`: instead of pcs, jump targets are labels L1, L2, ... in pc
 * order, so that one instruction more or less changes one line of a golden file rather than every pc after it.
 */
export function programText(title: string, p: Program, labels = false): string {
  const named = new Map(labels ? jumpTargets(p).map((pc, k) => [pc, `L${k + 1}`]) : []);
  const target = labels ? (pc: number): string => named.get(pc) ?? String(pc) : String;
  const width = labels ? String(named.size).length + 2 : String(p.instrs.length).length;
  const out = [`${title}: ${p.instrs.length} instructions, ${p.slots} slots${p.truncated ? ', TRUNCATED' : ''}`];
  p.frames.forEach((f, i) => {
    const from = f.callAt ? ` called from frame ${f.parent} @${at(f.callAt)}${f.via ? ` via ${f.via}` : ''}` : '';
    out.push(`  frame ${i}: ${f.fn.name}${from}`);
  });
  p.instrs.forEach((instr, pc) => {
    const where = `${p.frames[instr.frame].fn.name}:${instr.at.line + 1}`;
    const left = labels ? (named.has(pc) ? `${named.get(pc)}:` : '') : String(pc);
    out.push(`  ${left.padStart(width)}  ${instrText(p, instr, pc, target).padEnd(56)}  ${where}`);
  });
  return out.join('\n');
}

function chainsThrough(a: Analysis, name: string): string {
  const rows = a.chains.filter((c) => c.chain.path.includes(name));
  const out = [`chains through ${name}: ${rows.length}`];
  for (const { chain, verdict } of rows) {
    out.push(
      `  ${chain.id}  ${chain.context}  ${chain.entry.fn.name} (${chain.entry.via}${chain.entry.derived ? '' : ', built-in'})`,
    );
    for (const h of chain.hops) out.push(`    ${h.function}  ${h.file}:${h.line + 1}  ${h.via}`);
    out.push(
      `    locks [${chain.locks.join(', ')}]  guards [${chain.guards.map((g) => `${g.function}:${g.line + 1}`).join(', ')}]`,
    );
    out.push(
      `    ${verdict.verdict}: ${verdict.reason}${verdict.assumptions.length ? `  assuming ${verdict.assumptions.join(', ')}` : ''}`,
    );
  }
  return out.join('\n');
}

function witnessesThrough(a: Analysis, name: string): string {
  const found = a.findings.filter((f) => f.chain.path.includes(name));
  const out = [`findings through ${name}: ${found.length}`];
  for (const f of found) {
    out.push(`  ${f.id}  ${f.class}  ${f.kind}  ${f.file}:${at(f.at)} in ${f.function}`);
    out.push(`    chain ${f.chain.path.join(' > ')}; teardown ${f.teardown.join(', ')}`);
    for (const s of f.witness) {
      const locks = s.locks.length ? `  [${s.locks.join(', ')}]` : '';
      out.push(
        `    ${s.hazard ? '!' : ' '}${s.lane} ${s.thread}: ${s.action}  ${s.function} ${s.file}:${s.at.line + 1}${locks}`,
      );
    }
    if (f.freeSide) out.push(`    free side: ${f.freeSide.action}  ${f.freeSide.function}:${f.freeSide.at.line + 1}`);
  }
  return out.join('\n');
}

/** The programs an entry compiles to (one per context it is entered from), and a teardown actor's of that name. */
function programsOf(a: Analysis, name: string): string {
  const out: string[] = [];
  for (const sim of a.simulations.filter((s) => s.entry.fn.name === name))
    out.push(programText(`program ${name} (${sim.entry.context}, ${sim.entry.via})`, sim.program));
  for (const actor of a.actors.filter((x) => x.entries.some((e) => e.name === name) || x.path.label === name))
    out.push(programText(`teardown ${actor.path.label}`, actor.program));
  if (out.length) return out.join('\n\n');
  const entries = [...new Set(a.simulations.map((s) => s.entry.fn.name))].sort();
  return `${name} is not an entry with chains; entries: ${entries.join(', ') || 'none'}`;
}

/** The text of one stage for NAME; `found` is false when the function is not in the indexed code. */
export function debugText(a: Analysis, stage: DebugStage, name: string): { text: string; found: boolean } {
  const defs = a.files.flatMap((f) => f.functions.filter((fn) => fn.name === name));
  if (!defs.length && !a.actors.some((x) => x.path.label === name))
    return { text: `lockpath: no function ${name} in the indexed files`, found: false };
  switch (stage) {
    case 'facts':
      return { text: defs.map(factsText).join('\n\n'), found: true };
    case 'program':
      return { text: programsOf(a, name), found: true };
    case 'witness':
      return { text: witnessesThrough(a, name), found: true };
    default:
      return { text: chainsThrough(a, name), found: true };
  }
}

/** Programs longer than this are counted, not listed, in golden files (the ioctl dispatchers run to 500+). */
const GOLDEN_PROGRAM_MAX = 200;

/**
 * A fixture's golden text: the facts of every function on a chain and the program of every entry with chains. What
 * the lowering and compilation do to the code that matters, and nothing that only moves when unrelated code does.
 */
export function goldenText(a: Analysis): string {
  const onChains = new Set(a.chains.flatMap((c) => c.chain.path));
  const fns = a.files.flatMap((f) => f.functions.filter((fn) => onChains.has(fn.name)));
  fns.sort((x, y) => x.name.localeCompare(y.name) || x.file.localeCompare(y.file));
  const programs = a.simulations.map((s) => {
    const title = `program ${s.entry.fn.name} (${s.entry.context}, ${s.entry.via})`;
    const n = s.program.instrs.length;
    return n <= GOLDEN_PROGRAM_MAX
      ? programText(title, s.program, true)
      : `${title}: ${n} instructions (listed by lockpath debug program ${s.entry.fn.name})`;
  });
  return `${[...fns.map(factsText), ...programs].join('\n\n')}\n`;
}
