// Findings and problems as LSP diagnostics: one per finding place and class (the entries that reach it listed),
// related information walking each chain hop by hop and naming the free-side step it races with.
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import { isSkipNote, type Problem } from '../analysis';
import { isSuppressedNote } from '../analysis/findings/suppress';
import { pointRange, rangeOf, type Env } from './format';
import type { DiagnosticsPart, FindingView } from './snapshot';

export interface DiagnosticData {
  /** The findings this diagnostic stands for (code actions look them up). */
  findings: string[];
}

export const SOURCE = 'lockpath';

/** Needs only the diagnostics part of a snapshot (the findings and their chains). */
export function findingDiagnostics(
  env: Pick<Env, 'uriOf'> & { snap: Pick<DiagnosticsPart, 'findings' | 'chains'> },
  key: string,
): Diagnostic[] {
  const groups = new Map<string, FindingView[]>();
  for (const f of env.snap.findings) {
    if (f.file !== key) continue;
    const k = `${f.at.line}:${f.at.column}-${f.at.endLine}:${f.at.endColumn}|${f.class}`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  const out: Diagnostic[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    const entries = group.map((f) => `${f.contextLabel} ${f.hook} (${f.via})`);
    const message =
      group.length === 1
        ? first.message
        : `${first.message}\nreached from ${group.length} entries: ${entries.join('; ')}`;
    const related: DiagnosticRelatedInformation[] = [];
    const seen = new Set<string>();
    const add = (file: string, line: number, column: number, length: number, text: string): void => {
      const k = `${file}:${line}:${column}:${text}`;
      if (seen.has(k)) return;
      seen.add(k);
      related.push({ location: { uri: env.uriOf(file), range: pointRange(line, column, length) }, message: text });
    };
    for (const f of group) {
      const chain = env.snap.chains.find((c) => c.id === f.chainId);
      const tag = group.length > 1 ? `[${f.hook} (${f.via})] ` : '';
      if (chain) {
        chain.hops.forEach((h, i) => {
          const step = `${i + 1}/${chain.hops.length} `; // call order, readable where a client sorts by place
          if (i === 0)
            add(
              h.file,
              h.line,
              h.column,
              h.function.length,
              `${tag}${step}${chain.contextLabel} enters ${h.function} via ${chain.entry.via}`,
            );
          else
            add(
              h.file,
              h.line,
              h.column,
              h.via === 'direct' ? h.function.length : 0,
              `${tag}${step}${chain.hops[i - 1].function} calls ${h.function}${h.via === 'direct' ? '' : ` (${h.via})`}`,
            );
        });
      }
      if (f.freeSide) {
        const s = f.freeSide;
        add(
          s.file,
          s.at.line,
          s.at.column,
          s.at.endLine === s.at.line ? s.at.endColumn - s.at.column : 0,
          `${tag}free side: ${s.thread}: ${s.action}`,
        );
      }
      for (const x of f.alsoAt)
        add(
          x.file,
          x.at.line,
          x.at.column,
          x.at.endLine === x.at.line ? x.at.endColumn - x.at.column : 0,
          `${tag}the same interleaving also goes wrong here (${x.function})`,
        );
    }
    out.push({
      range: rangeOf(first.at),
      severity: group.some((f) => f.severity === 'error') ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: first.class,
      source: SOURCE,
      message,
      relatedInformation: related,
      data: { findings: group.map((f) => f.id) } satisfies DiagnosticData,
    });
  }
  return out;
}

export function problemDiagnostic(p: Problem): Diagnostic {
  return {
    range: rangeOf(p.at),
    // A suppressed finding stays visible, faintly, with the reason it was let go.
    severity:
      p.severity === 'error'
        ? DiagnosticSeverity.Error
        : p.severity === 'warning'
          ? DiagnosticSeverity.Warning
          : isSuppressedNote(p)
            ? DiagnosticSeverity.Hint
            : DiagnosticSeverity.Information,
    source: SOURCE,
    message: p.message.replace(/^lockpath:\s*/, ''),
  };
}

/** Problems the analysis reported on a file; parse notes (info) only when asked for, a note that the file was
 *  skipped (too large, binary, generated) and a suppressed finding (as a hint) always. */
export function problemDiagnostics(
  problems: readonly Problem[],
  key: string,
  showParseProblems: boolean,
): Diagnostic[] {
  return problems
    .filter(
      (p) => p.file === key && (showParseProblems || p.severity !== 'info' || isSkipNote(p) || isSuppressedNote(p)),
    )
    .map(problemDiagnostic);
}
