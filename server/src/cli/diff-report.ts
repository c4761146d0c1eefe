// Findings before and after a change, matched by their stable ids: what is new, what was fixed, what stayed. Shared
// by `lockpath review` and `lockpath check --baseline`; the findings are in the check JSON shape (docs/json-shape.md).
import type { FindingJson, HopJson, StepJson } from '../report/json';
import type { CliArgs } from './args';

export interface FindingDiff {
  new: FindingJson[];
  fixed: FindingJson[];
  unchanged: FindingJson[];
}

/** Matches by id; `unchanged` are the findings as they are after the change (their lines may have moved). */
export function diffFindings(before: readonly FindingJson[], after: readonly FindingJson[]): FindingDiff {
  const was = new Set(before.map((f) => f.id));
  const is = new Set(after.map((f) => f.id));
  return {
    new: after.filter((f) => !was.has(f.id)),
    fixed: before.filter((f) => !is.has(f.id)),
    unchanged: after.filter((f) => was.has(f.id)),
  };
}

/** 1 when something is new, else 3 when the search was incomplete, else 0; --fail-on none always 0. */
export function diffExitStatus(args: CliArgs, d: FindingDiff, incomplete: boolean): number {
  if (args.failOn === 'none') return 0;
  if (d.new.length) return 1;
  return incomplete ? 3 : 0;
}

const base = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

export function chainText(hops: readonly HopJson[]): string {
  return hops.map((h) => `${h.function} (${base(h.file)}:${h.line})`).join(' > ');
}

/** Where and what, in compiler style, ending with the class and the id. */
export function headline(f: FindingJson): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity}: ${f.message} [${f.class}] ${f.id}`;
}

/** One line naming a finding without its story: for fixed and unchanged ones. */
export function shortLine(f: FindingJson): string {
  return `${f.id} ${f.class}: ${f.hook} (${f.via}) reaches ${f.function} (${base(f.file)}:${f.line})`;
}

/** The witness as two lanes side by side, time going down; a step longer than `width` wraps within its lane. */
export function witnessLanes(steps: readonly StepJson[], width: number): string[] {
  const lanes = [...new Set(steps.map((s) => s.lane))].sort();
  const title = (lane: number): string => steps.find((s) => s.lane === lane)?.thread ?? '';
  const cell = (s: StepJson): string => `${s.hazard ? '!! ' : ''}${s.action} (${base(s.file)}:${s.line})`;
  const fit = (t: string): string => (t.length > width ? `${t.slice(0, width - 3)}...` : t.padEnd(width));
  const row = (lane: number, text: string): string =>
    lanes
      .map((l) => (l === lane ? fit(text) : ' '.repeat(width)))
      .join(' | ')
      .trimEnd();
  const rows = [
    lanes
      .map((l) => fit(title(l)))
      .join(' | ')
      .trimEnd(),
    lanes.map(() => '-'.repeat(width)).join('-+-'),
  ];
  for (const s of steps) rows.push(...wrapWords(cell(s), width).map((t, i) => row(s.lane, i ? `   ${t}` : t)));
  return rows;
}

/** Words to lines of at most `width` characters (continuations leave room for a 3-space indent). */
function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const room = out.length ? width - 3 : width;
    if (line && line.length + 1 + word.length > room) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out;
}

export function diffText(d: FindingDiff, title: string): string {
  const out = [title, `${d.new.length} new, ${d.fixed.length} fixed, ${d.unchanged.length} unchanged`, ''];
  if (d.new.length) {
    out.push('new:');
    for (const f of d.new)
      out.push(
        `  ${headline(f)}`,
        `    chain: ${chainText(f.chain)}`,
        '    witness:',
        ...witnessLanes(f.witness, 58).map((l) => `      ${l}`),
        '',
      );
  }
  if (d.fixed.length) out.push('fixed:', ...d.fixed.map((f) => `  ${shortLine(f)}`), '');
  if (d.unchanged.length) out.push('unchanged:', ...d.unchanged.map((f) => `  ${shortLine(f)}`), '');
  return out.join('\n').trimEnd();
}
