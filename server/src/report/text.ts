// Plain-text output for terminals and CI logs: the chains table per walker, findings in compiler style with the
// witness as a two-column timeline, and the per-function explanation.
import { isSkipNote, type Analysis, type ChainResult } from '../analysis/workspace';
import type { Finding, WitnessStep } from '../analysis/findings/findings';
import { entryName } from '../analysis/findings/findings';
import { contextLabel } from '../analysis/model/types';
import { incompleteLine, noOutcome, type CheckOutcome } from './incomplete';

const base = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

export function header(a: Analysis, version: string): string {
  const off = a.model.assumptions.filter((x) => !x.enabled).map((x) => x.id);
  return [
    `lockpath ${version}: model ${a.model.id} (${a.modelReason})`,
    off.length ? `assumptions switched off: ${off.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Rows of cells as an aligned table; the last column is left unpadded (paths run long). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function chainsText(a: Analysis, version: string): string {
  const out = [header(a, version), ''];
  const byWalker = new Map<string, ChainResult[]>();
  for (const c of a.chains) {
    const key = `${c.chain.walker.name}\u0000${c.chain.walker.file}`;
    byWalker.set(key, [...(byWalker.get(key) ?? []), c]);
  }
  for (const [key, chains] of byWalker) {
    const [name, file] = key.split('\u0000');
    const w = chains[0].chain.walker;
    out.push(`${name} (${file}:${w.nameSpan.line + 1}): ${chains.length} chain${chains.length === 1 ? '' : 's'}`);
    const rows = [['  CONTEXT', 'ENTRY (VIA)', 'LOCKS', 'GUARDS', 'VERDICT', 'PATH']];
    for (const { chain, verdict } of chains) {
      rows.push([
        `  ${contextLabel(a.model, chain.context)}`,
        `${entryName(a.model, chain)} (${chain.entry.via}${chain.entry.derived ? '' : ', built-in'})`,
        chain.locks.join(',') || '-',
        chain.guards
          .map((g) => g.function)
          .filter((f, i, all) => all.indexOf(f) === i)
          .join(',') || '-',
        verdict.verdict,
        chain.path.join(' > '),
      ]);
    }
    out.push(table(rows), '');
  }
  out.push(summary(a));
  return out.join('\n');
}

export function summary(a: Analysis, outcome?: CheckOutcome): string {
  const count = (v: string): number => a.chains.filter((c) => c.verdict.verdict === v).length;
  const perContext = new Map<string, number>();
  for (const c of a.chains) perContext.set(c.chain.context, (perContext.get(c.chain.context) ?? 0) + 1);
  const contexts = [...perContext].map(([k, n]) => `${contextLabel(a.model, k)} ${n}`).join(', ');
  return [
    `${a.chains.length} chains (${contexts || 'none'}): ${count('race')} race, ${count('safe')} safe, ${count('inconclusive')} inconclusive`,
    `${a.findings.length} finding${a.findings.length === 1 ? '' : 's'}${outcome?.suppressed.length ? ` (${outcome.suppressed.length} suppressed)` : ''}; ${a.stats.files} files, ${a.stats.functions} functions, ${a.stats.states} states explored${a.stats.searchesStored ? ` (${a.stats.searchesStored} of ${a.stats.searches} searches read from the cache)` : ''} in ${Math.round(a.stats.ms)} ms`,
    ...(outcome ? completeness(outcome) : []),
  ].join('\n');
}

/** Says whether everything was checked, and if not, exactly what was not and why. */
function completeness(outcome: CheckOutcome): string[] {
  if (!outcome.incomplete.length) return ['complete: every chain got a verdict and nothing in scope was skipped'];
  const n = outcome.incomplete.length;
  return [
    `INCOMPLETE: ${n} thing${n === 1 ? '' : 's'} not checked:`,
    ...outcome.incomplete.map((x) => `  ${incompleteLine(x)}`),
  ];
}

export function findingsText(a: Analysis, version: string, verbose = false, outcome: CheckOutcome = noOutcome): string {
  const out = [header(a, version), ''];
  for (const f of a.findings) out.push(findingText(f), '');
  if (outcome.suppressed.length) {
    out.push(`suppressed (${outcome.suppressed.length}, not counted as races):`);
    for (const s of outcome.suppressed) {
      const where = s.comment
        ? `ignore comment at ${s.comment.file}:${s.comment.line + 1}`
        : 'reviewed in the model file';
      out.push(
        `  ${s.finding.file}:${s.finding.at.line + 1}:${s.finding.at.column + 1}: [${s.finding.class}] ${s.finding.id} (${where}): ${s.reason}`,
      );
    }
    out.push('');
  }
  const problems = a.problems.filter((p) => verbose || p.severity !== 'info' || isSkipNote(p));
  for (const p of problems)
    out.push(
      `${p.file || '<model>'}:${p.at.line + 1}:${p.at.column + 1}: ${p.severity === 'error' ? 'error' : 'note'}: ${p.message}`,
    );
  if (problems.length) out.push('');
  if (!verbose) {
    const hidden = a.problems.length - problems.length;
    if (hidden)
      out.push(
        `(${hidden} parse note${hidden === 1 ? '' : 's'} about unparsed macro regions hidden; --verbose shows them)`,
      );
  }
  out.push(summary(a, outcome));
  return out.join('\n');
}

export function findingText(f: Finding): string {
  const lines = [
    `${f.file}:${f.at.line + 1}:${f.at.column + 1}: ${f.severity}: ${f.message} [${f.class}] ${f.id}`,
    `  chain: ${f.chain.hops.map((h) => `${h.function} (${base(h.file)}:${h.line + 1})`).join(' > ')}`,
    '  witness:',
    ...timeline(f.witness).map((l) => `    ${l}`),
  ];
  return lines.join('\n');
}

/** The witness as two lanes side by side, time going down; each step names its source line. */
export function timeline(steps: readonly WitnessStep[], width = 58): string[] {
  const lanes = [...new Set(steps.map((s) => s.lane))].sort();
  const title = (lane: number): string => steps.find((s) => s.lane === lane)?.thread ?? '';
  const cell = (s: WitnessStep): string => `${s.hazard ? '!! ' : ''}${s.action} (${base(s.file)}:${s.at.line + 1})`;
  const fit = (t: string): string => (t.length > width ? `${t.slice(0, width - 1)}…` : t.padEnd(width));
  const rows = [lanes.map((l) => fit(title(l))).join(' | '), lanes.map(() => '-'.repeat(width)).join('-+-')];
  for (const s of steps)
    rows.push(
      lanes
        .map((l) => (l === s.lane ? fit(cell(s)) : ' '.repeat(width)))
        .join(' | ')
        .trimEnd(),
    );
  return rows;
}

export function explainText(a: Analysis, fn: string, version: string): string {
  const through = a.chains.filter((c) => c.chain.path.includes(fn));
  const out = [header(a, version), ''];
  const def = a.graph.lookup(fn);
  out.push(
    def
      ? `${fn} (${def.file}:${def.nameSpan.line + 1}), returns ${def.returnType}`
      : `${fn}: not defined in the indexed files`,
  );
  if (!through.length) {
    out.push(`no stage-2 chain passes through ${fn}`);
    return out.join('\n');
  }
  out.push(`${through.length} chain${through.length === 1 ? '' : 's'} pass through it:`, '');
  for (const { chain, verdict } of through) {
    out.push(
      `[${verdict.verdict}] ${contextLabel(a.model, chain.context)} via ${chain.entry.via}${chain.entry.derived ? '' : ' (built-in hook table)'}`,
    );
    for (const h of chain.hops)
      out.push(`    ${h.function.padEnd(36)} ${h.file}:${h.line + 1}${h.via === 'direct' ? '' : `  (${h.via})`}`);
    out.push(
      `  locks: ${chain.locks.join(', ') || 'none'}; guards: ${chain.guards.map((g) => `${g.function}:${g.line + 1}`).join(', ') || 'none'}`,
    );
    out.push(`  ${verdict.verdict === 'race' ? 'why' : 'reason'}: ${verdict.reason}`);
    if (verdict.assumptions.length) out.push(`  assumptions: ${verdict.assumptions.join(', ')}`);
    out.push('');
  }
  const inside = a.findings.filter((f) => f.function === fn || f.chain.path.includes(fn));
  for (const f of inside) out.push(findingText(f), '');
  return out.join('\n').trimEnd();
}
