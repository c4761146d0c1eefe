// Findings: one per distinct hazard of an entry (class, place), with the chain that reaches it, a witness told
// step by step, the free-side step it conflicts with, and a stable id that survives edits elsewhere in the file.
import type { Chain } from '../chains/chains';
import type { Span } from '../index/facts';
import { hashText } from '../index/span';
import type { Model } from '../model/types';
import { contextLabel } from '../model/types';
import type { Hazard, HazardKind, Step } from '../simulate/explore';
import { NULLV, UNKNOWN } from '../simulate/explore';
import type { Program } from '../simulate/program';
import type { ChainVerdict, Run } from '../simulate/simulate';
import { classTitles, type FindingClass } from './classify';

export interface WitnessStep {
  thread: string;
  /** 0 for the chain's own thread, 1 for the teardown actor. */
  lane: number;
  action: string;
  function: string;
  file: string;
  at: Span;
  locks: string[];
  /** The step that goes wrong (the last one). */
  hazard?: boolean;
}

export interface Finding {
  id: string;
  class: FindingClass;
  title: string;
  kind: HazardKind;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  at: Span;
  function: string;
  chain: Chain;
  /** The teardown paths it races with. */
  teardown: string[];
  witness: WitnessStep[];
  /** The free-side step it conflicts with (the free, the clear, or the teardown walk). */
  freeSide?: WitnessStep;
  /** Later places on the same chain where the same story goes wrong too (follow-on dereferences). */
  alsoAt: { file: string; at: Span; function: string }[];
}

export function buildFindings(model: Model, program: Program, verdicts: ReadonlyMap<Chain, ChainVerdict>): Finding[] {
  const byKey = new Map<string, Finding>();
  for (const [chain, v] of verdicts) {
    for (const { run, hazard } of v.hazards) {
      const instr = program.instrs[hazard.pc];
      const frame = program.frames[instr.frame];
      const cls = hazard.story as FindingClass;
      // One finding per chain and story: the shortest witness leads, other places on the chain are listed.
      const key = `${chain.id}|${cls}`;
      const existing = byKey.get(key);
      if (existing) {
        if (!existing.teardown.includes(run.actor.path.label)) existing.teardown.push(run.actor.path.label);
        const same =
          existing.file === frame.fn.file &&
          existing.at.line === instr.at.line &&
          existing.at.column === instr.at.column;
        const shorter = hazard.witness.length < existing.witness.length;
        if (!same && shorter) {
          existing.alsoAt.push({ file: existing.file, at: existing.at, function: existing.function });
          Object.assign(existing, {
            kind: hazard.kind,
            file: frame.fn.file,
            at: instr.at,
            function: frame.fn.name,
            witness: renderWitness(model, run, hazard, chain),
          });
          existing.freeSide = [...existing.witness]
            .reverse()
            .find((s) => s.lane !== 0 && /frees|sets .* NULL|tears down|walks/.test(s.action));
        } else if (
          !same &&
          !existing.alsoAt.some(
            (x) => x.file === frame.fn.file && x.at.line === instr.at.line && x.at.column === instr.at.column,
          )
        ) {
          existing.alsoAt.push({ file: frame.fn.file, at: instr.at, function: frame.fn.name });
        }
        continue;
      }
      const witness = renderWitness(model, run, hazard, chain);
      const freeSide = [...witness]
        .reverse()
        .find((s) => s.lane !== 0 && /frees|sets .* NULL|tears down|walks/.test(s.action));
      byKey.set(key, {
        id: `LP${hashText(`${cls}|${chain.entry.via}|${chain.path.join('>')}`).toUpperCase()}`,
        class: cls,
        title: classTitles[cls],
        kind: hazard.kind,
        severity: cls === 'may-be-freed' ? 'warning' : 'error',
        message: '',
        file: frame.fn.file,
        at: instr.at,
        function: frame.fn.name,
        chain,
        teardown: [run.actor.path.label],
        witness,
        freeSide,
        alsoAt: [],
      });
    }
  }
  const findings = [...byKey.values()];
  for (const f of findings) f.message = messageOf(model, f);
  return findings.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.at.line - b.at.line ||
      a.at.column - b.at.column ||
      a.chain.entry.via.localeCompare(b.chain.entry.via) ||
      a.class.localeCompare(b.class),
  );
}

/** The hook a person would name: the first model hook on the chain (kvm_age_hva), else the entry. */
export function entryName(model: Model, chain: Chain): string {
  return chain.path.find((f) => model.hooks.some((h) => h.function === f)) ?? chain.entry.fn.name;
}

export function viaName(chain: Chain): string {
  const v = chain.entry.via;
  return v.includes('.') ? v.slice(v.lastIndexOf('.') + 1) : v;
}

function messageOf(model: Model, f: Finding): string {
  const res = model.resource.display;
  const what: Record<HazardKind, string> = {
    'null-deref': `${res} may be NULL here`,
    'use-after-free': `${res} may point to freed stage-2 tables here`,
    'concurrent-teardown': `the stage-2 tables may be torn down under this walk`,
    'double-free': `${res} may be freed twice here`,
    'sleeps-in-nonblocking': `this may sleep although the call may not block`,
  };
  const ctx = contextLabel(model, f.chain.context);
  if (f.kind === 'sleeps-in-nonblocking')
    return `${what[f.kind]}: reached from ${ctx} ${entryName(model, f.chain)} (${viaName(f.chain)}), which may be called in a mode that must not sleep [${f.title}]`;
  return `${what[f.kind]}: reached from ${ctx} ${entryName(model, f.chain)} (${viaName(f.chain)}) while ${model.freeFunction} runs from ${f.teardown.join(' or ')} [${f.title}]`;
}

export function renderWitness(model: Model, run: Run, hazard: Hazard, chain: Chain): WitnessStep[] {
  // The chain's own lane is named after the hook people know (kvm_age_hva), not the core wrapper it entered by.
  const laneName = (t: number): string =>
    t === 0 ? `${contextLabel(model, chain.context)}: ${entryName(model, chain)}` : run.threads[t].name;
  const out: WitnessStep[] = [];
  const res = model.resource.display;
  const lockName = (l: string): string => (l === model.lock.name ? model.lock.display : l);
  hazard.witness.forEach((st: Step, i) => {
    const thread = run.threads[st.thread];
    const instr = thread.program.instrs[st.pc];
    const frame = thread.program.frames[instr.frame];
    const isHazard = i === hazard.witness.length - 1;
    let action: string | undefined;
    switch (instr.op) {
      case 'lock':
        action = `${instr.byCore ? 'holds' : instr.fn}(${lockName(instr.lock)})${instr.byCore ? ', taken by the core around the hook' : ''}`;
        break;
      case 'unlock':
        action = `${instr.byCore ? 'core drops' : instr.fn}(${lockName(instr.lock)})`;
        break;
      case 'resched-drop':
        action = `${instr.fn} drops ${lockName(instr.lock)}`;
        break;
      case 'resched-take':
        action = `${instr.fn} retakes ${lockName(instr.lock)}`;
        break;
      case 'assign':
        if (instr.src && 'field' in instr.src) {
          const name = thread.program.slotNames[instr.slot].split(':')[1];
          action = `reads ${res} (${st.field === NULLV ? 'NULL' : 'the tables'}) into ${name.startsWith('$') ? 'a temporary' : name}`;
        }
        break;
      case 'deref':
        action = isHazard
          ? `dereferences ${instr.text}: ${hazardWord(hazard.kind)}`
          : `${thread.mutates ? 'tears down' : 'walks'} ${instr.text}`;
        break;
      case 'write':
        action = instr.value === 'null' ? `sets ${res} = NULL` : `sets ${res}`;
        break;
      case 'free':
        action = isHazard ? `${instr.fn}() frees the tables again` : `${instr.fn}() frees the stage-2 tables`;
        break;
      case 'branch':
        if (instr.guard && st.seen !== undefined && st.seen !== UNKNOWN) {
          action = `checks \`${instr.text}\`: ${guardedName(thread.program, instr)} is ${st.seen === NULLV ? 'NULL' : 'not NULL'}`;
        } else if (hazard.kind === 'sleeps-in-nonblocking' && st.thread === hazard.thread && st.taken !== undefined) {
          // Which way the tests went is the story of a sleep: a test of the blockable flag would have skipped it.
          action = `tests \`${instr.text}\`: ${st.taken ? 'true' : 'false'}`;
        }
        break;
      case 'trylock':
        action = `${instr.fn}(${lockName(instr.lock)}) ${st.held.includes(instr.lock) ? 'takes it' : 'fails: it is held'}`;
        break;
      case 'sleep':
        if (isHazard) action = `${instr.fn}() may sleep, but this call may not block`;
        break;
    }
    if (!action) return;
    out.push({
      thread: laneName(st.thread),
      lane: st.thread,
      action,
      function: frame.fn.name,
      file: frame.fn.file,
      at: instr.at,
      locks: st.held.map(lockName),
      hazard: isHazard || undefined,
    });
  });
  if (hazard.partner) {
    const thread = run.threads[hazard.partner.thread];
    const instr = thread.program.instrs[hazard.partner.pc];
    const frame = thread.program.frames[instr.frame];
    out.push({
      thread: laneName(hazard.partner.thread),
      lane: hazard.partner.thread,
      action: `at the same time tears down ${instr.op === 'deref' ? instr.text : 'the tables'} ${hazard.partner.heldByPartner.length ? 'holding ' + hazard.partner.heldByPartner.map(lockName).join(', ') : 'without the lock'}`,
      function: frame.fn.name,
      file: frame.fn.file,
      at: instr.at,
      locks: hazard.partner.heldByPartner.map(lockName),
    });
  }
  return out;
}

/** What a guard tests: the field itself, or a local copy of it. */
export function guardedName(program: Program, instr: Extract<Program['instrs'][number], { op: 'branch' }>): string {
  const find = (c: typeof instr.cond): string | undefined =>
    c.k === 'isnull'
      ? 'field' in c.src
        ? undefined
        : program.slotNames[c.src.slot].split(':')[1]
      : c.k === 'not'
        ? find(c.c)
        : c.k === 'and' || c.k === 'or'
          ? (find(c.a) ?? find(c.b))
          : undefined;
  const local = find(instr.cond);
  return local ? local : 'the pointer';
}

function hazardWord(kind: HazardKind): string {
  return kind === 'null-deref'
    ? 'NULL'
    : kind === 'use-after-free'
      ? 'freed tables'
      : kind === 'concurrent-teardown'
        ? 'while they are torn down'
        : kind === 'sleeps-in-nonblocking'
          ? 'sleeping where it may not block'
          : 'freed';
}
