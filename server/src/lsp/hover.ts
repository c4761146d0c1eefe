// Hover: on a function name or a call, every chain through it (entry, context, path as links, locks held there,
// verdict and reason, and for a race the witness as a two-column table); on a dereference or other use of the
// resource, what is held there and the findings at that place.
import { MarkupKind, type Hover, type Position } from 'vscode-languageserver/node';
import { byContext, chainMarkdown, escapeMd, findingMarkdown, lockNames, rangeOf, shortVerdict, spanHas, wordAt, type Env } from './format';
import type { ChainView, FnView } from './snapshot';

/**
 * `fresh`: the snapshot was computed from this very text, so its positions can be trusted; otherwise only the
 * word under the cursor is used (names survive edits, positions do not).
 */
export function hover(env: Env, key: string, text: string, p: Position, fresh: boolean): Hover | null {
  const snap = env.snap;
  const sections: string[] = [];
  let range = undefined as Hover['range'];
  const enclosing = fresh ? snap.functions.find((f) => f.file === key && spanHas(f.span, p)) : undefined;

  if (fresh) {
    const here = snap.findings.filter((f) => (f.file === key && spanHas(f.at, p)) || f.alsoAt.some((x) => x.file === key && spanHas(x.at, p)));
    if (here.length) {
      range = rangeOf(here[0].at);
      sections.push(`**lockpath: ${here.length} finding${here.length === 1 ? '' : 's'} here**`);
      for (const f of here) sections.push(findingMarkdown(env, f));
      return done(sections, range);
    }
  }

  const w = wordAt(text, p);
  if (w && snap.functions.some((f) => f.name === w.word)) {
    let chains = snap.chains.filter((c) => c.path.includes(w.word));
    let note = '';
    const site = enclosing?.calls.find((s) => spanHas(s.at, p) && s.targets.some((t) => t.name === w.word));
    if (site && enclosing) {
      const atSite = chains.filter((c) => c.hops.some((h, i) => i > 0 && h.function === w.word && h.file === key && h.line === site.at.line && h.column === site.at.column));
      if (atSite.length) {
        chains = atSite;
        note = ` (the chains through this call in ${escapeMd(enclosing.name)}; locks this function holds here: ${escapeMd(lockNames(env, site.locksHeld))})`;
      }
    }
    if (chains.length) {
      sections.push(functionHeader(env, w.word, chains) + note);
      for (const c of chains) sections.push(chainMarkdown(env, c, w.word));
      return done(sections, w.range);
    }
  }

  if (fresh && enclosing) {
    const use = enclosing.uses.find((u) => spanHas(u.at, p));
    if (use) {
      sections.push(useMarkdown(env, enclosing, use));
      const chains = snap.chains.filter((c) => c.path.includes(enclosing.name));
      for (const c of chains) sections.push(chainMarkdown(env, c, enclosing.name, false));
      return done(sections, rangeOf(use.at));
    }
  }
  return null;
}

function functionHeader(env: Env, name: string, chains: readonly ChainView[]): string {
  const contexts = [...byContext(chains)].map(([, cs]) => `${escapeMd(cs[0].contextLabel)} · ${escapeMd(shortVerdict(env.snap, cs))}`);
  return `**${escapeMd(name)}**: ${chains.length} stage-2 chain${chains.length === 1 ? '' : 's'}; ${contexts.join('; ')}`;
}

function useMarkdown(env: Env, fn: FnView, use: FnView['uses'][number]): string {
  const what: Record<string, string> = { read: 'read', deref: 'dereference', guard: 'test', write: 'write', free: 'free' };
  return `**${what[use.kind] ?? use.kind} of ${escapeMd(env.snap.model.resource)}** in ${escapeMd(fn.name)}; locks this function holds here: ${escapeMd(lockNames(env, use.locksHeld))}`;
}

function done(sections: string[], range: Hover['range']): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: sections.join('\n\n---\n\n') }, range };
}
