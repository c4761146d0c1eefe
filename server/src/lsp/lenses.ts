// Code lenses above each function on a stage-2 chain: one per context, with a short verdict; clicking a race opens
// its timeline, anything else lists the chains.
import type { CodeLens } from 'vscode-languageserver/node';
import { byContext, pointRange, shortVerdict, type Env } from './format';
import { Commands } from './protocol';
import type { ChainView } from './snapshot';

export function codeLenses(env: Env, key: string, text: string, fresh: boolean): CodeLens[] {
  const out: CodeLens[] = [];
  const lines = fresh ? undefined : text.split('\n');
  for (const fn of env.snap.functions) {
    if (fn.file !== key) continue;
    const chains = env.snap.chains.filter((c) => c.path.some((n, i) => n === fn.name && c.defs[i]?.file === key));
    if (!chains.length) continue;
    const line = fresh ? fn.nameSpan.line : relocate(lines!, fn.name, fn.nameSpan.line);
    if (line === undefined) continue;
    for (const [, group] of byContext(chains)) {
      const title = `${group[0].contextLabel} · ${shortVerdict(env.snap, group)}`;
      const race = firstRaceFinding(group);
      out.push({
        range: pointRange(line, fresh ? fn.nameSpan.column : 0),
        command: race
          ? { title, command: Commands.showRaceTimeline, arguments: [race] }
          : { title, command: Commands.showChains, arguments: [fn.name] },
      });
    }
  }
  return out;
}

function firstRaceFinding(chains: readonly ChainView[]): string | undefined {
  return chains.find((c) => c.verdict === 'race' && c.findings.length)?.findings[0];
}

/**
 * Where a function's name is in a text that changed since the analysis: the occurrence of `name(` nearest to the
 * line it had. Undefined when it is gone.
 */
export function relocate(lines: readonly string[], name: string, oldLine: number): number | undefined {
  const re = new RegExp(`\\b${name}\\s*\\(`);
  // Definitions start at column 0 in kernel style; calls are indented. Prefer the former.
  for (const definitionLike of [true, false]) {
    for (let d = 0; d < lines.length; d++) {
      for (const l of d ? [oldLine - d, oldLine + d] : [oldLine]) {
        if (l >= 0 && l < lines.length && re.test(lines[l]) && (!definitionLike || !/^\s/.test(lines[l]))) return l;
      }
      if (oldLine - d < 0 && oldLine + d >= lines.length) break;
    }
  }
  return undefined;
}
