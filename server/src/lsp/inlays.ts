// Inlay hints at call sites on stage-2 chains: the contexts the call runs in and the locks held across it.
import { MarkupKind, type InlayHint, type Range } from 'vscode-languageserver/node';
import { escapeMd, lockNames, pathLinks, type Env } from './format';
import type { ChainView } from './snapshot';

export function inlayHints(env: Env, key: string, text: string, range: Range, fresh: boolean): InlayHint[] {
  const sites = new Map<
    string,
    { line: number; column: number; callee: string; via: string; uses: { chain: ChainView; locks: string[] }[] }
  >();
  for (const c of env.snap.chains) {
    c.hops.forEach((h, i) => {
      if (i === 0 || h.file !== key || h.line < range.start.line || h.line > range.end.line) return;
      const k = `${h.line}:${h.column}`;
      const site = sites.get(k) ?? { line: h.line, column: h.column, callee: h.function, via: h.via, uses: [] };
      site.uses.push({ chain: c, locks: c.locksAt[i] ?? [] });
      sites.set(k, site);
    });
  }
  const lines = fresh ? undefined : text.split('\n');
  const out: InlayHint[] = [];
  for (const s of [...sites.values()].sort((a, b) => a.line - b.line || a.column - b.column)) {
    // Without a matching analysis, show a hint only where the call still stands where it stood.
    if (lines && !(s.via === 'direct' && lines[s.line]?.startsWith(s.callee, s.column))) continue;
    // Contexts with the same locks share one label part: "mmu notifier · kvm->mmu_lock".
    const byLocks = new Map<string, Set<string>>();
    for (const u of s.uses) {
      const locks = lockNames(env, u.locks);
      byLocks.set(locks, (byLocks.get(locks) ?? new Set()).add(u.chain.contextLabel));
    }
    const label = [...byLocks]
      .map(([locks, ctx]) => `${[...ctx].sort().join(', ')} · ${locks === 'none' ? 'no lock' : locks}`)
      .join(' | ');
    const chains = [...new Set(s.uses.map((u) => u.chain))];
    out.push({
      position: { line: s.line, character: s.column },
      label,
      paddingRight: true,
      tooltip: {
        kind: MarkupKind.Markdown,
        value: [
          `**${escapeMd(s.callee)}** on ${chains.length} stage-2 chain${chains.length === 1 ? '' : 's'}:`,
          ...chains.map(
            (c) =>
              `- ${c.verdict} · ${escapeMd(c.contextLabel)} ${escapeMd(c.hook)} (${escapeMd(c.via)}): ${pathLinks(env, c)}`,
          ),
        ].join('\n'),
      },
    });
  }
  return out;
}
