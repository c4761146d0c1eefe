// Hover: short, races first, then a command link that opens the full explanation (every chain, witnesses, fixes).
// On a finding's place: the race there, its entries, the free side and the preferred fix. On a function name or a
// call: its races, then one line per context. On an access to the modelled resource (or its field name anywhere):
// what this access is and holds, and every access of the resource summarized by context and lock.
import { MarkupKind, type Hover, type Position } from 'vscode-languageserver/node';
import { Commands } from './protocol';
import {
  base,
  byContext,
  commandLink,
  escapeMd,
  findingName,
  findingsOn,
  link,
  lockNames,
  raceGroups,
  racesPhrase,
  rangeOf,
  shortVerdict,
  spanHas,
  wordAt,
  type Env,
} from './format';
import { fieldSummary, isResourceField } from './references';
import type { ChainView, FindingView, FnView } from './snapshot';

/** At most this many lines in a list before "and N more" (the full list is one click away). */
const MAX_LINES = 6;

/**
 * `fresh`: the snapshot was computed from this very text, so its positions can be trusted; otherwise only the
 * word under the cursor is used (names survive edits, positions do not).
 */
export function hover(env: Env, key: string, text: string, p: Position, fresh: boolean): Hover | null {
  const snap = env.snap;
  const enclosing = fresh ? snap.functions.find((f) => f.file === key && spanHas(f.span, p)) : undefined;

  if (fresh) {
    const here = snap.findings.filter(
      (f) => (f.file === key && spanHas(f.at, p)) || f.alsoAt.some((x) => x.file === key && spanHas(x.at, p)),
    );
    if (here.length) return done(findingsHover(env, here), rangeOf(here[0].at));
  }

  const w = wordAt(text, p);
  if (w && snap.functions.some((f) => f.name === w.word)) {
    let chains = snap.chains.filter((c) => c.path.includes(w.word));
    let note = '';
    const site = enclosing?.calls.find((s) => spanHas(s.at, p) && s.targets.some((t) => t.name === w.word));
    if (site && enclosing) {
      const atSite = chains.filter((c) =>
        c.hops.some(
          (h, i) =>
            i > 0 && h.function === w.word && h.file === key && h.line === site.at.line && h.column === site.at.column,
        ),
      );
      if (atSite.length) {
        chains = atSite;
        note = `the chains through this call in ${escapeMd(enclosing.name)}; locks held here: ${escapeMd(lockNames(env, site.locksHeld))}`;
      }
    }
    if (chains.length) return done(functionHover(env, w.word, chains, note), w.range);
  }

  const use = fresh && enclosing ? enclosing.uses.find((u) => spanHas(u.at, p)) : undefined;
  if (use && enclosing) return done(useHover(env, enclosing, use), rangeOf(use.at));
  if (w && isResourceField(env, key, text, p, w.word)) return done([fieldSummary(env)], w.range);
  return null;
}

/** The race(s) at one place: what goes wrong, who reaches it, what frees it, the preferred fix. */
function findingsHover(env: Env, here: readonly FindingView[]): string[] {
  const first = here[0];
  const out = [`**lockpath: ${escapeMd(racesPhrase(env.snap, here))}**`, ''];
  out.push(`\`${first.class}\`: ${escapeMd(first.title)}`, '');
  out.push(...capped(here.map((f) => `- ${escapeMd(`${f.contextLabel} ${f.hook} (${f.via})`)}`)));
  const free = first.freeSide;
  if (free)
    out.push(
      '',
      `free side: ${escapeMd(`${free.thread}: ${free.action}`)} (${link(env, `${base(free.file)}:${free.at.line + 1}`, free.file, free.at.line)})`,
    );
  const fixes = [
    ...new Set(here.flatMap((f) => (env.snap.fixes[f.id] ?? []).filter((x) => x.preferred).map((x) => x.title))),
  ];
  if (fixes.length) out.push('', ...capped(fixes.map((t) => `- fix: ${escapeMd(t)}`)));
  return [out.join('\n'), more(env, first.function, first.id)];
}

function functionHover(env: Env, name: string, chains: readonly ChainView[], note: string): string[] {
  const snap = env.snap;
  const found = findingsOn(snap, chains);
  const head = `**${escapeMd(name)}**: ${chains.length} stage-2 chain${chains.length === 1 ? '' : 's'}${found.length ? ` · **${escapeMd(racesPhrase(snap, found))}**` : ' · no races'}`;
  const out = [head];
  if (note) out.push('', note);
  if (found.length) out.push('', ...capped(raceGroups(found).map((g) => raceLine(env, g))));
  out.push(
    '',
    ...capped(
      [...byContext(chains)].map(([, cs]) => `- ${escapeMd(cs[0].contextLabel)} · ${escapeMd(shortVerdict(snap, cs))}`),
    ),
  );
  return [out.join('\n'), more(env, name, found[0]?.id)];
}

/** One race as a line: where, its class, and the entries that reach it. */
function raceLine(env: Env, group: readonly FindingView[]): string {
  const f = group[0];
  const entries = group.map((x) => `${x.hook} (${x.via})`).join(', ');
  return `- race at ${link(env, `${base(f.file)}:${f.at.line + 1}`, f.file, f.at.line)} in ${escapeMd(f.function)} \`${f.class}\`: ${escapeMd(entries)}`;
}

function useHover(env: Env, fn: FnView, use: FnView['uses'][number]): string[] {
  const snap = env.snap;
  const what: Record<string, string> = {
    read: 'read',
    deref: 'dereference',
    guard: 'test',
    write: 'write',
    free: 'free',
  };
  const out = [
    `**${what[use.kind] ?? use.kind} of ${escapeMd(snap.model.resource)}** in ${escapeMd(fn.name)}; locks this function holds here: ${escapeMd(lockNames(env, use.locksHeld))}`,
  ];
  const chains = snap.chains.filter((c) => c.path.includes(fn.name));
  const found = findingsOn(snap, chains);
  if (found.length)
    out.push(
      '',
      `**${escapeMd(racesPhrase(snap, found))}** on the chains through ${escapeMd(fn.name)}:`,
      '',
      ...capped(raceGroups(found).map((g) => raceLine(env, g))),
    );
  if (chains.length)
    out.push(
      '',
      ...capped(
        [...byContext(chains)].map(
          ([, cs]) => `- ${escapeMd(cs[0].contextLabel)} · ${escapeMd(shortVerdict(snap, cs))}`,
        ),
      ),
    );
  else out.push('', `no stage-2 chain passes through ${escapeMd(fn.name)}`);
  out.push('', fieldSummary(env));
  return [out.join('\n'), more(env, fn.name, found[0]?.id)];
}

/** The way to the full explanation: command links (VS Code), and the command's name for other clients. */
function more(env: Env, name: string, findingId?: string): string {
  const links = [commandLink(`Explain ${name}`, Commands.explain, [name])];
  if (findingId) links.push(commandLink('Show race timeline', Commands.showRaceTimeline, [findingId]));
  const f = findingId ? env.snap.findings.find((x) => x.id === findingId) : undefined;
  return `${links.join(' · ')}${f ? `  \n(${escapeMd(findingName(f))})` : ''}`;
}

function capped(lines: readonly string[]): string[] {
  return lines.length <= MAX_LINES
    ? [...lines]
    : [...lines.slice(0, MAX_LINES - 1), `- and ${lines.length - MAX_LINES + 1} more`];
}

function done(sections: string[], range: Hover['range']): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: sections.join('\n\n---\n\n') }, range };
}
