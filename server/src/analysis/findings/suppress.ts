// Findings a person has reviewed and decided to live with: `// lockpath: ignore <class or finding id> -- <reason>`
// at the end of the finding's line, on the line just above it, or just above its function's header, and the model
// file's `"reviewed": [{ "id": ..., "reason": ... }]`. Pure: findings and texts in, the split out. An ignore that
// matches nothing is itself a warning, so a stale one does not hide the next real bug on that line.
import type { FunctionFacts, Problem, Span } from '../index/facts';
import type { Finding } from './findings';

export interface IgnoreComment {
  file: string;
  at: Span;
  /** A finding class (unguarded-notifier-path) or a finding id (LP2DA28A45). */
  target: string;
  reason: string;
  /** The comment is the only thing on its line (it then covers the next line); else it ends a line of code. */
  ownLine: boolean;
}

export interface Suppressed {
  finding: Finding;
  reason: string;
  /** 'comment': an ignore comment in the source (where it is); 'reviewed': the model file's list. */
  by: 'comment' | 'reviewed';
  comment?: { file: string; line: number };
}

export interface SuppressionResult {
  kept: Finding[];
  suppressed: Suppressed[];
  /** Ignore comments and reviewed ids that match no finding, and malformed ignore comments. */
  problems: Problem[];
}

const IGNORE = /(\/\/|\/\*)\s*lockpath:\s*ignore\b\s*([^\s*]*)\s*(?:--\s*(.*?))?\s*(?:\*\/.*)?$/;

/** Every ignore comment in a file, and a problem for each that lacks a target or a reason. */
export function ignoreComments(file: string, text: string): { comments: IgnoreComment[]; problems: Problem[] } {
  const comments: IgnoreComment[] = [];
  const problems: Problem[] = [];
  if (!text.includes('lockpath:')) return { comments, problems };
  text.split('\n').forEach((line, i) => {
    const m = IGNORE.exec(line);
    if (!m) return;
    const column = m.index;
    const at: Span = { line: i, column, endLine: i, endColumn: line.trimEnd().length };
    if (!m[2] || !m[3]) {
      problems.push({
        file,
        at,
        severity: 'warning',
        message:
          'lockpath: an ignore comment needs a finding class or id and a reason: // lockpath: ignore <class or id> -- <reason>',
      });
      return;
    }
    comments.push({ file, at, target: m[2], reason: m[3], ownLine: line.slice(0, column).trim() === '' });
  });
  return { comments, problems };
}

/** Lines an own-line comment at `line` covers: the next one. A comment ending a line covers that line. */
const covers = (c: IgnoreComment, line: number): boolean => (c.ownLine ? c.at.line + 1 === line : c.at.line === line);

export function suppressFindings(
  findings: readonly Finding[],
  files: readonly { file: string; text: string; functions?: readonly FunctionFacts[] }[],
  reviewed: { source: string; entries: readonly { id: string; reason: string }[] } = { source: '', entries: [] },
): SuppressionResult {
  const problems: Problem[] = [];
  const comments: IgnoreComment[] = [];
  const functions = new Map<string, FunctionFacts>();
  for (const f of files) {
    const found = ignoreComments(f.file, f.text);
    comments.push(...found.comments);
    problems.push(...found.problems);
    for (const fn of f.functions ?? []) functions.set(`${f.file}\u0000${fn.name}`, fn);
  }
  const used = new Set<IgnoreComment>();
  const usedReviewed = new Set<string>();
  const kept: Finding[] = [];
  const suppressed: Suppressed[] = [];
  for (const finding of findings) {
    const named = (target: string): boolean => target === finding.class || target.toUpperCase() === finding.id;
    const fn = functions.get(`${finding.file}\u0000${finding.function}`);
    const header = fn ? [fn.span.line, fn.nameSpan.line] : [];
    const comment = comments.find(
      (c) =>
        c.file === finding.file &&
        named(c.target) &&
        (covers(c, finding.at.line) || (c.ownLine && header.some((l) => c.at.line + 1 === l))),
    );
    if (comment) {
      used.add(comment);
      suppressed.push({
        finding,
        reason: comment.reason,
        by: 'comment',
        comment: { file: comment.file, line: comment.at.line },
      });
      continue;
    }
    const review = reviewed.entries.find((r) => r.id.toUpperCase() === finding.id);
    if (review) {
      usedReviewed.add(review.id);
      suppressed.push({ finding, reason: review.reason, by: 'reviewed' });
      continue;
    }
    kept.push(finding);
  }
  for (const c of comments.filter((x) => !used.has(x))) {
    problems.push({
      file: c.file,
      at: c.at,
      severity: 'warning',
      message: `lockpath: the ignore comment for ${c.target} matches no finding here; remove it, or put it at the end of the finding's line, the line above it, or the line above its function`,
    });
  }
  for (const r of reviewed.entries.filter((x) => !usedReviewed.has(x.id))) {
    problems.push({
      file: reviewed.source,
      at: { line: 0, column: 0, endLine: 0, endColumn: 0 },
      severity: 'warning',
      message: `lockpath: the model file's reviewed finding ${r.id} is not found in this run`,
    });
  }
  return { kept, suppressed, problems };
}

/** A suppressed finding as a note the editor shows as a hint (problems cross the worker boundary as plain data,
 *  so it is recognised by its words, as skip notes are). */
export function suppressedNote(s: Suppressed): Problem {
  const f = s.finding;
  return {
    file: f.file,
    at: f.at,
    severity: 'info',
    message: `${SUPPRESSED_PREFIX}${f.class} ${f.id} (${s.by === 'comment' ? 'ignore comment' : 'reviewed in the model file'}): ${s.reason}`,
  };
}

const SUPPRESSED_PREFIX = 'lockpath: suppressed ';

export function isSuppressedNote(p: Problem): boolean {
  return p.severity === 'info' && p.message.startsWith(SUPPRESSED_PREFIX);
}

/** For the editor: drops suppressed findings from `a` and adds a hint note for each, and the warnings. */
export function applySuppressions(
  a: {
    findings: Finding[];
    files: readonly { file: string; functions: readonly FunctionFacts[] }[];
    problems: Problem[];
  },
  textOf: (file: string) => string,
  reviewed?: { source: string; entries: readonly { id: string; reason: string }[] },
): SuppressionResult {
  const s = suppressFindings(
    a.findings,
    a.files.map((f) => ({ file: f.file, text: textOf(f.file), functions: f.functions })),
    reviewed,
  );
  a.findings = s.kept;
  a.problems.push(...s.problems, ...s.suppressed.map(suppressedNote));
  return s;
}
