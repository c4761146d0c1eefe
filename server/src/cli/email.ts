// `lockpath review --format=email`: a plain-text reply body for a mailing list, as a reviewer writes one: the hunk
// in question quoted with "> ", then what it does to each race (the chain, and the witness in two lanes). Tabs are
// expanded and every line is at most 80 columns; only quoted lines start with ">" (chains are joined by "->").
import type { Analysis } from '../analysis';
import type { FindingJson } from '../report/json';
import { VERSION } from './analyze';
import { chainText, witnessLanes } from './diff-report';
import type { Hunk, FilePatch } from './patch';
import type { ReviewResult } from './review';

export const EMAIL_WIDTH = 80;
const QUOTED_HUNK_LINES = 16;

const expandTabs = (s: string): string =>
  s.replace(/[^\t]*\t/g, (m) => m.slice(0, -1).padEnd(Math.ceil(m.length / 8) * 8));
const clip = (s: string, width = EMAIL_WIDTH): string => (s.length > width ? `${s.slice(0, width - 3)}...` : s);

/** Words to lines of at most `width`, each line starting with `indent` (a word longer than a line is clipped). */
export function wrap(text: string, indent = '', width = EMAIL_WIDTH): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.trim() ? ` ${word}` : word;
  }
  if (line.trim()) lines.push(line);
  return lines.map((l) => clip(l, width));
}

/** The hunks that change a function on the finding's chain (their side of the change: new for new, old for fixed). */
function hunksFor(
  f: FindingJson,
  a: Analysis,
  patches: readonly FilePatch[],
  side: 'old' | 'new',
): { path: string; hunk: Hunk }[] {
  const spans = [...new Set([...f.chain.map((h) => h.function), f.function])]
    .map((fn) => a.graph.lookup(fn))
    .filter((d): d is NonNullable<typeof d> => !!d)
    .map((d) => ({ file: d.file, from: d.span.line + 1, to: d.span.endLine + 1 }));
  const out: { path: string; hunk: Hunk }[] = [];
  for (const fp of patches) {
    const path = side === 'new' ? fp.newPath : fp.oldPath;
    for (const hunk of fp.hunks) {
      const from = side === 'new' ? hunk.newStart : hunk.oldStart;
      const to = from + Math.max(0, (side === 'new' ? hunk.newLines : hunk.oldLines) - 1);
      if (spans.some((s) => s.file === path && s.from <= to && from <= s.to)) out.push({ path, hunk });
    }
  }
  return out;
}

function quote(path: string, h: Hunk): string[] {
  const body = h.lines.map((l) => `${l.op}${l.text}`);
  // Keep the changed lines in view: start a little before the first change.
  const first = Math.max(0, h.lines.findIndex((l) => l.op !== ' ') - 3);
  const shown = body.slice(first, first + QUOTED_HUNK_LINES);
  return [
    `> ${path}`,
    `> ${h.header}`,
    ...(first ? ['> [...]'] : []),
    ...shown.map((l) => `> ${expandTabs(l)}`),
    ...(first + QUOTED_HUNK_LINES < body.length ? ['> [...]'] : []),
  ].map((l) => clip(l));
}

function findingStory(f: FindingJson, intro: string): string[] {
  const lanes = witnessLanes(f.witness, (EMAIL_WIDTH - 2 - 3 - 2) >> 1).map((l) => clip(`  ${l}`));
  const [first, ...rest] = wrap(`${intro} ${f.file}:${f.line}: ${f.message} [${f.class}, ${f.id}]`, '  ');
  return [
    first.trimStart(),
    ...rest,
    '',
    '  Chain:',
    ...f.chain.map((h, i) => clip(`    ${i ? '-> ' : ''}${chainText([h])}`)),
    '',
    '  Witness:',
    ...lanes,
  ];
}

export function emailBody(r: ReviewResult): string {
  const d = r.diff;
  const out: string[] = [];
  out.push(
    ...wrap(
      `lockpath ${VERSION} on ${r.subject ? `"${r.subject}"` : r.title}: ${d.new.length} new, ${d.fixed.length} fixed and ${d.unchanged.length} unchanged finding${d.unchanged.length === 1 ? '' : 's'} (${r.scopeLine}).`,
    ),
    '',
  );
  const quoted = new Set<Hunk>();
  const quoteOnce = (hs: { path: string; hunk: Hunk }[]): string[] => {
    const fresh = hs.filter((h) => !quoted.has(h.hunk));
    for (const h of fresh) quoted.add(h.hunk);
    return fresh.flatMap((h) => [...quote(h.path, h.hunk), '']);
  };
  for (const f of d.new)
    out.push(...quoteOnce(hunksFor(f, r.head, r.patches, 'new')), ...findingStory(f, 'This adds a race:'), '');
  if (d.fixed.length) {
    for (const f of d.fixed)
      out.push(
        ...quoteOnce(hunksFor(f, r.base, r.patches, 'old')),
        ...wrap(
          `This fixes ${f.hook} (${f.context}, via ${f.via}) reaching ${f.function} [${f.class}, ${f.id}]: ${f.chain.map((h) => chainText([h])).join(' -> ')}`,
        ),
        '',
      );
  }
  if (d.unchanged.length) {
    out.push(...wrap(`Still racing after this change (${d.unchanged.length}):`));
    for (const f of d.unchanged) out.push(...findingStory(f, '-'), '');
  }
  if (!d.new.length && !d.fixed.length && !d.unchanged.length)
    out.push('No race on the stage-2 root in the analysed files, before or after.', '');
  return `${out.join('\n').trimEnd()}\n`;
}
