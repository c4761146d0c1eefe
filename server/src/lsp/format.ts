// Texts the editor features share: LSP ranges from analysis spans, markdown links into the tree, the one wording
// of races (counted as Problems shows them, in the diagnostic's words) that the status bar, lenses and hovers use,
// finding names, the witness as a two-column table, and the per-function explanation.
import type { Position, Range } from 'vscode-languageserver/node';
import { lineStartOf } from '../analysis/base/lines';
import type { Span, WitnessStep } from '../analysis';
import type { ChainView, FindingView, Snapshot } from './snapshot';

/** A command link for hovers (VS Code runs it; other clients show its text). */
export function commandLink(text: string, command: string, args: unknown[]): string {
  return `[${escapeMd(text)}](command:${command}?${encodeURIComponent(JSON.stringify(args))})`;
}

export interface Env {
  snap: Snapshot;
  uriOf(key: string): string;
}

export function rangeOf(s: Span): Range {
  return { start: { line: s.line, character: s.column }, end: { line: s.endLine, character: s.endColumn } };
}

export function pointRange(line: number, column: number, length = 0): Range {
  return { start: { line, character: column }, end: { line, character: column + length } };
}

export function spanHas(s: Span, p: Position): boolean {
  const afterStart = p.line > s.line || (p.line === s.line && p.character >= s.column);
  const beforeEnd = p.line < s.endLine || (p.line === s.endLine && p.character <= s.endColumn);
  return afterStart && beforeEnd;
}

export function rangesMeet(a: Range, b: Range): boolean {
  const before = (x: Position, y: Position): boolean =>
    x.line < y.line || (x.line === y.line && x.character < y.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/** The identifier under (or just before) the cursor. */
export function wordAt(text: string, p: Position): { word: string; range: Range } | undefined {
  const offset = lineStartOf(text, p.line);
  if (offset === undefined) return undefined;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(offset, lineEnd < 0 ? text.length : lineEnd);
  const isId = (c: string | undefined): boolean => !!c && /[A-Za-z0-9_]/.test(c);
  let s = Math.min(p.character, line.length);
  if (!isId(line[s]) && isId(line[s - 1])) s--;
  if (!isId(line[s])) return undefined;
  let e = s;
  while (s > 0 && isId(line[s - 1])) s--;
  while (isId(line[e])) e++;
  const word = line.slice(s, e);
  if (!/^[A-Za-z_]/.test(word)) return undefined;
  return { word, range: pointRange(p.line, s, e - s) };
}

export const base = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

/** A markdown link that opens the file at a (0-based) line: [text](file:///...#L12). */
export function link(env: Env, text: string, file: string, line: number): string {
  return `[${escapeMd(text)}](${env.uriOf(file)}#L${line + 1})`;
}

/** A verdict's reason: the code it quotes in backticks stays code, the rest is escaped. */
export function reasonMd(s: string): string {
  return s
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? part : escapeMd(part)))
    .join('');
}

/** Escapes what would turn into markup; identifiers stay readable (an underscore inside a word is literal). */
export function escapeMd(s: string): string {
  return s.replace(/([\\`*[\]<])/g, '\\$1').replace(/_(?=\W|$)/g, '\\_');
}

/** A table cell: no pipes or line breaks. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function lockNames(env: Env, locks: readonly string[]): string {
  return locks.map((l) => (l === env.snap.model.lock ? env.snap.model.lockDisplay : l)).join(', ') || 'none';
}

export function chainsThrough(snap: Snapshot, name: string): ChainView[] {
  return snap.chains.filter((c) => c.path.includes(name));
}

export function findingById(snap: Snapshot, id: string): FindingView | undefined {
  return snap.findings.find((f) => f.id === id);
}

/** Contexts of the chains through a function, in a stable order. */
export function byContext(chains: readonly ChainView[]): Map<string, ChainView[]> {
  const m = new Map<string, ChainView[]>();
  for (const c of [...chains].sort((a, b) => a.contextLabel.localeCompare(b.contextLabel)))
    m.set(c.context, [...(m.get(c.context) ?? []), c]);
  return m;
}

// ---- the shared wording: the status bar, Problems, lenses and hovers count and word races through these ----

/** What a hazard does to the resource, worded as the diagnostic's message begins: "kvm->arch.pgd may be NULL". */
export function hazardWords(resource: string, kind: string): string {
  switch (kind) {
    case 'null-deref':
      return `${resource} may be NULL`;
    case 'use-after-free':
      return `${resource} may point to freed stage-2 tables`;
    case 'concurrent-teardown':
      return 'the stage-2 tables may be torn down under this walk';
    case 'double-free':
      return `${resource} may be freed twice`;
    default:
      return `${resource} may be freed`;
  }
}

type Placed = Pick<FindingView, 'file' | 'at' | 'class'>;

/** One race as Problems shows it: one diagnostic per place and class; its findings are the entries reaching it. */
function raceKey(f: Placed): string {
  return `${f.file}|${f.at.line}:${f.at.column}-${f.at.endLine}:${f.at.endColumn}|${f.class}`;
}

export function raceGroups<F extends Placed>(findings: readonly F[]): F[][] {
  const groups = new Map<string, F[]>();
  for (const f of findings) groups.set(raceKey(f), [...(groups.get(raceKey(f)) ?? []), f]);
  return [...groups.values()];
}

/** "1 race (3 entries)", "2 races", "no races": races as Problems counts them, entries as its messages do. */
export function countRaces(findings: readonly Placed[]): string {
  const races = raceGroups(findings).length;
  if (!races) return 'no races';
  const entries = findings.length > races ? ` (${findings.length} entries)` : '';
  return `${races} race${races === 1 ? '' : 's'}${entries}`;
}

/** "kvm->arch.pgd may be NULL · 1 race (2 entries)": what goes wrong, in the diagnostic's words, then the count. */
export function racesPhrase(snap: Pick<Snapshot, 'model'>, findings: readonly FindingView[]): string {
  const words = [...new Set(findings.map((f) => hazardWords(snap.model.resource, f.kind)))];
  return `${words.join('; ')} · ${countRaces(findings)}`;
}

/** A finding by name, never by id: "unguarded-notifier-path · mmu notifier kvm_age_hva (clear_young) · mmu.c:411". */
export function findingName(f: Pick<FindingView, 'class' | 'contextLabel' | 'hook' | 'via' | 'file' | 'at'>): string {
  return `${f.class} · ${f.contextLabel} ${f.hook} (${f.via}) · ${base(f.file)}:${f.at.line + 1}`;
}

/** The findings on these chains (each once). */
export function findingsOn(snap: Snapshot, chains: readonly ChainView[]): FindingView[] {
  const ids = new Set(chains.flatMap((c) => c.findings));
  return snap.findings.filter((f) => ids.has(f.id));
}

/** "race: kvm->arch.pgd may be NULL · 1 race (2 entries)", "safe: vcpu fd + mm pinned", "safe: checked in kvm_set_spte_hva". */
export function shortVerdict(snap: Snapshot, chains: readonly ChainView[]): string {
  const res = snap.model.resourceShort;
  const of = (n: number): string => (n < chains.length ? ` (${n} of ${chains.length} chains)` : '');
  const races = chains.filter((c) => c.verdict === 'race');
  if (races.length) {
    const found = findingsOn(snap, races);
    return found.length
      ? `race: ${racesPhrase(snap, found)}`
      : `race: ${snap.model.resource} may be freed${of(races.length)}`;
  }
  const open = chains.filter((c) => c.verdict === 'inconclusive');
  if (open.length) {
    const bound = open.some((c) => /search stopped/.test(c.reason));
    return `inconclusive: ${bound ? 'search bound reached' : `no teardown frees ${res}`}${of(open.length)}`;
  }
  const parts = new Set<string>();
  const checked = new Set<string>();
  const pins = new Set<string>();
  for (const c of chains) {
    for (const m of c.reason.matchAll(/(\w+) tests `/g)) if (c.path.includes(m[1])) checked.add(m[1]);
    if (/^pinned:|; pinned:/.test(c.reason)) for (const a of c.assumptions) pins.add(pinPhrase(a));
  }
  if (checked.size) parts.add(`checked in ${[...checked].join(', ')}`);
  if (pins.size) parts.add(`${[...pins].join(' + ')} pinned`);
  if (!parts.size) parts.add(`no interleaving frees ${res} here`);
  return `safe: ${[...parts].join('; ')}`;
}

/** vcpu-fd-pins-kvm -> "vcpu fd", vm-ioctl-pins-mm -> "mm", releases-may-overlap -> as is. */
function pinPhrase(assumption: string): string {
  const m = /^(.*)-pins-(\w+)$/.exec(assumption);
  if (!m) return assumption;
  if (m[2] === 'mm') return 'mm';
  return m[1].replace(/^vm-/, 'VM ').replace(/-/g, ' ');
}

/** The witness as a two-column markdown table (thread A | thread B), one row per step. */
export function witnessTable(env: Env, steps: readonly WitnessStep[]): string {
  const lanes = [...new Set(steps.map((s) => s.lane))].sort((a, b) => a - b);
  if (!lanes.length) return '';
  const title = (lane: number): string => steps.find((s) => s.lane === lane)?.thread ?? `thread ${lane}`;
  const rows = [
    `| ${lanes.map((l) => cell(escapeMd(title(l)))).join(' | ')} |`,
    `|${lanes.map(() => '---').join('|')}|`,
  ];
  for (const s of steps) {
    const text = `${s.hazard ? '**⚠ ' : ''}${escapeMd(s.action)}${s.hazard ? '**' : ''} (${link(env, `${base(s.file)}:${s.at.line + 1}`, s.file, s.at.line)})`;
    rows.push(`| ${lanes.map((l) => (l === s.lane ? cell(text) : ' ')).join(' | ')} |`);
  }
  return rows.join('\n');
}

/** The path of a chain as links: entry -> ... -> walker. */
export function pathLinks(env: Env, c: ChainView): string {
  return c.path
    .map((name, i) => {
      const def = c.defs[i];
      return def ? link(env, name, def.file, def.nameSpan.line) : escapeMd(name);
    })
    .join(' → ');
}

/** One chain's block: context and entry, path, locks where `name` runs, verdict and reason, and for a race its
 *  findings with the witness table. */
export function chainMarkdown(env: Env, c: ChainView, name?: string, withWitness = true): string {
  const out: string[] = [];
  const verdict = c.verdict === 'race' ? '**race**' : c.verdict === 'safe' ? '**safe**' : '**inconclusive**';
  out.push(
    `${verdict} · **${escapeMd(c.contextLabel)}** ${escapeMd(c.hook)} via \`${c.entry.via}\`${c.entry.derived ? '' : ' (built-in hook table)'}`,
  );
  out.push('');
  out.push(`path: ${pathLinks(env, c)}`);
  out.push('');
  const at = name ? c.path.indexOf(name) : c.path.length - 1;
  // Markdown joins adjacent lines into one paragraph: a trailing double space keeps these on lines of their own.
  if (at >= 0)
    out.push(`locks held in ${escapeMd(c.path[at])}: ${escapeMd(lockNames(env, c.locksAt[at] ?? c.locks))}  `);
  if (c.guards.length)
    out.push(`guards: ${c.guards.map((g) => link(env, `${g.function}:${g.line + 1}`, g.file, g.line)).join(', ')}  `);
  out.push('');
  out.push(`${c.verdict === 'race' ? 'why' : 'reason'}: ${reasonMd(c.reason)}`);
  if (c.assumptions.length) out.push(`\nassumptions: ${c.assumptions.map((a) => `\`${a}\``).join(', ')}`);
  if (withWitness && c.verdict === 'race') {
    for (const id of c.findings) {
      const f = findingById(env.snap, id);
      if (f) out.push('', findingMarkdown(env, f));
    }
  }
  return out.join('\n');
}

export function findingMarkdown(env: Env, f: FindingView): string {
  const out = [
    `**${escapeMd(f.title)}** \`${f.class}\` ${f.id} at ${link(env, `${base(f.file)}:${f.at.line + 1}`, f.file, f.at.line)}`,
    '',
    escapeMd(f.message),
    '',
    witnessTable(env, f.witness),
  ];
  const fixes = env.snap.fixes[f.id] ?? [];
  if (fixes.length) {
    out.push('', 'fixes:');
    for (const x of fixes)
      out.push(`- ${x.preferred ? '**(preferred)** ' : ''}${escapeMd(x.title)}: ${escapeMd(x.explanation)}`);
  }
  return out.join('\n');
}

/** Everything about a function: where it is, every chain through it, and the findings on those chains. */
export function explainMarkdown(env: Env, name: string): { found: boolean; markdown: string } {
  const snap = env.snap;
  const def = snap.functions.find((f) => f.name === name);
  const out: string[] = [`## ${escapeMd(name)}`, ''];
  out.push(
    def
      ? `defined at ${link(env, `${def.file}:${def.nameSpan.line + 1}`, def.file, def.nameSpan.line)}, returns \`${def.returnType}\``
      : 'not defined in the indexed files',
  );
  out.push('', `model: ${escapeMd(snap.model.id)} (${escapeMd(snap.model.reason)})`);
  const off = snap.model.assumptions.filter((a) => !a.enabled).map((a) => `\`${a.id}\``);
  if (off.length) out.push('', `assumptions switched off: ${off.join(', ')}`);
  const through = chainsThrough(snap, name);
  out.push('');
  if (!through.length) {
    out.push(`no stage-2 chain passes through ${escapeMd(name)}`);
    return { found: !!def, markdown: out.join('\n') };
  }
  out.push(
    `${through.length} chain${through.length === 1 ? '' : 's'} pass${through.length === 1 ? 'es' : ''} through it:`,
  );
  for (const c of through) out.push('', '---', '', chainMarkdown(env, c, name));
  return { found: true, markdown: out.join('\n') };
}
