// A finding's witness as an SVG sequence diagram: one lane per thread, time going down (one row per step), the
// stretch during which a thread holds a lock shaded on its lane, each step's kind shown by its marker, the hazard
// row emphasised. Drawn by hand (no libraries, no fonts or images fetched) so it works offline, in a VS Code
// webview (colours come from the --vscode-* theme variables) and standalone (their fallbacks).
import type { FindingJson, StepJson } from './json';

export interface TimelineOptions {
  /** Where a step links to; without it a step only carries data-file/data-line for a webview script. */
  linkFor?: (file: string, line: number) => string | undefined;
}

export type StepKind =
  'lock' | 'unlock' | 'guard' | 'read' | 'walk' | 'teardown' | 'clear' | 'free' | 'deref' | 'other';

const KIND_LABEL: Record<StepKind, string> = {
  lock: 'takes lock',
  unlock: 'drops lock',
  guard: 'checks the pointer',
  read: 'reads the root',
  walk: 'walks the tables',
  teardown: 'tears down the tables',
  clear: 'sets the root NULL',
  free: 'frees the tables',
  deref: 'dereferences',
  other: 'other step',
};

// Layout, in px. The text is monospace so its width can be estimated from its length: no font metrics needed.
const FONT = 12;
const SMALL = 11;
const CHAR = 0.62 * FONT; // a little over the usual 0.6em advance, so estimates err on the wide side
const SMALL_CHAR = 0.62 * SMALL;
const TITLE_CHAR = 0.66 * 13;
const LINE = 16;
const WRAP = 64; // characters per action line
const GUTTER = 34; // step numbers
const MARK_X = 20; // lifeline, from a lane's left edge
const TEXT_X = 38; // step text, from a lane's left edge
const LANE_MIN = 300;
const HEADER = 52;
const PAD = 8;
const LOCK_COLOURS = 4;

const r1 = (x: number): number => Math.round(x * 10) / 10;

/** XML-escapes text for element content and double- or single-quoted attributes; drops characters XML forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** What a step does, from its action text; lock steps from the change in the locks its thread holds. */
export function stepKind(step: StepJson, heldBefore: readonly string[]): StepKind {
  const a = step.action;
  if (/^dereferences\b/.test(a)) return 'deref';
  if (/\bfrees\b/.test(a)) return 'free';
  if (/^sets .* = NULL/.test(a)) return 'clear';
  if (/^checks\b/.test(a)) return 'guard';
  if (/^reads\b/.test(a)) return 'read';
  if (/\btears down\b/.test(a)) return 'teardown';
  if (/^walks\b/.test(a)) return 'walk';
  if (step.locks.some((l) => !heldBefore.includes(l)) || /\bretakes\b/.test(a)) return 'lock';
  if (heldBefore.some((l) => !step.locks.includes(l)) || /\bdrops\b/.test(a)) return 'unlock';
  return 'other';
}

/** Words to lines of at most `max` characters; a longer word is cut. */
export function wrapText(text: string, max: number): string[] {
  const out: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > max) {
      if (line) out.push(line);
      out.push(word.slice(0, max));
      line = '';
      word = word.slice(max);
    }
    if (!word) continue;
    if (!line) line = word;
    else if (line.length + 1 + word.length <= max) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line || !out.length) out.push(line);
  return out;
}

interface Row {
  step: StepJson;
  index: number;
  kind: StepKind;
  /** The lock a lock or unlock step takes or drops. */
  lock?: string;
  lines: string[];
  where: string;
  note: string;
  y: number;
  height: number;
}

interface LockSpan {
  lane: number;
  lock: string;
  from: number;
  to: number;
}

export function timelineSvg(f: FindingJson, opts: TimelineOptions = {}): string {
  const steps = f.witness;
  const lanes = [...new Set(steps.map((s) => s.lane))].sort((a, b) => a - b);
  const titleOf = (lane: number): string => steps.find((s) => s.lane === lane)?.thread ?? `thread ${lane}`;
  const locks = [...new Set(steps.flatMap((s) => s.locks))];
  const colourOf = (lock: string): number => locks.indexOf(lock) % LOCK_COLOURS;

  // The free-side step is the one the hazard conflicts with: both ends get a note naming the other.
  const hazardIndex = steps.findIndex((s) => s.hazard);
  const freeIndex = f.freeSide ? steps.findIndex((s) => sameStep(s, f.freeSide!)) : -1;

  const rows: Row[] = [];
  const heldByLane = new Map<number, string[]>();
  let y = HEADER;
  steps.forEach((step, index) => {
    const before = heldByLane.get(step.lane) ?? [];
    const kind = stepKind(step, before);
    const lock =
      kind === 'lock'
        ? step.locks.find((l) => !before.includes(l))
        : kind === 'unlock'
          ? before.find((l) => !step.locks.includes(l))
          : undefined;
    heldByLane.set(step.lane, step.locks);
    const lines = wrapText(step.action, WRAP);
    const note =
      index === freeIndex && hazardIndex >= 0
        ? `  ▸ seen by step ${hazardIndex + 1}`
        : index === hazardIndex && freeIndex >= 0
          ? `  ◂ after step ${freeIndex + 1}`
          : '';
    const height = PAD + lines.length * LINE + LINE - 2 + PAD;
    rows.push({
      step,
      index,
      kind,
      lock,
      lines,
      where: `${step.function}() ${step.file}:${step.line}`,
      note,
      y,
      height,
    });
    y += height;
  });
  const rowsBottom = y;

  const laneWidth = new Map<number, number>();
  for (const lane of lanes) {
    const own = rows.filter((r) => r.step.lane === lane);
    const text = Math.max(
      0,
      ...own.map((r) =>
        Math.max(...r.lines.map((l) => l.length * CHAR), (r.where.length + r.note.length) * SMALL_CHAR),
      ),
    );
    const title = titleOf(lane).length * TITLE_CHAR + 16;
    const key = lockKeyWidth(locks.filter((l) => own.some((r) => r.step.locks.includes(l))));
    laneWidth.set(lane, Math.ceil(Math.max(LANE_MIN, TEXT_X + text + 16, title, key + 16)));
  }
  const laneX = new Map<number, number>();
  let x = GUTTER;
  for (const lane of lanes) {
    laneX.set(lane, x);
    x += laneWidth.get(lane)!;
  }
  const width = x + 8;
  const present = [...new Set(rows.filter((r) => !r.step.hazard).map((r) => r.kind))].sort(
    (a, b) => kindOrder(a) - kindOrder(b),
  );
  const legend = legendItems(present, locks.length > 0, width);
  const height = rowsBottom + 16 + legend.height;

  const spans = lockSpans(steps, lanes);
  const rowMid = (i: number): number => rows[i].y + PAD + LINE / 2 + 1;
  const out: string[] = [];
  const title = `${f.title}: ${lanes.map(titleOf).join(' vs ')}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="lp-timeline" data-finding="${escapeXml(f.id)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    `<rect class="lp-bg" x="0" y="0" width="${width}" height="${height}"/>`,
  );

  // Lane headers: the thread's name, and a key to the locks it takes.
  for (const lane of lanes) {
    const lx = laneX.get(lane)!;
    const w = laneWidth.get(lane)!;
    out.push(`<g class="lp-lane" data-lane="${lane}">`);
    out.push(`<rect class="lp-header" x="${lx}" y="0" width="${w}" height="${HEADER - 4}"/>`);
    out.push(`<text class="lp-lane-title" x="${lx + 10}" y="20">${escapeXml(titleOf(lane))}</text>`);
    let kx = lx + 10;
    for (const lock of locks.filter((l) => steps.some((s) => s.lane === lane && s.locks.includes(l)))) {
      out.push(`<rect class="lp-lock-bar lp-lock-${colourOf(lock)}" x="${kx}" y="31" width="8" height="11"/>`);
      out.push(`<text class="lp-key" x="${kx + 13}" y="40">holds ${escapeXml(lock)}</text>`);
      kx += lockKeyWidth([lock]);
    }
    out.push('</g>');
  }
  out.push(`<text class="lp-muted lp-small" x="${GUTTER / 2}" y="40" text-anchor="middle">#</text>`);

  // Row backgrounds: the hazard row across every lane, the others with a faint rule between them.
  for (const r of rows) {
    if (r.step.hazard) out.push(`<rect class="lp-hazard-row" x="0" y="${r.y}" width="${width}" height="${r.height}"/>`);
    out.push(`<line class="lp-rule" x1="0" y1="${r.y}" x2="${width}" y2="${r.y}"/>`);
  }
  for (const lane of lanes.slice(1))
    out.push(`<line class="lp-rule" x1="${laneX.get(lane)}" y1="0" x2="${laneX.get(lane)}" y2="${rowsBottom}"/>`);

  // Lock spans: from the step that takes the lock to the step that drops it (or the end), shaded across the lane
  // with a bar on the lifeline, as a sequence diagram shows an activation.
  for (const s of spans) {
    const lx = laneX.get(s.lane)!;
    const top = r1(rowMid(s.from));
    const bottom = r1(s.to < rows.length ? rowMid(s.to) : rowsBottom);
    const k = locks.filter((l) => spans.some((o) => o.lane === s.lane && o.lock === l)).indexOf(s.lock);
    const c = colourOf(s.lock);
    out.push(
      `<g class="lp-lock" data-lane="${s.lane}" data-lock="${escapeXml(s.lock)}" data-from="${s.from + 1}" data-to="${s.to < rows.length ? s.to + 1 : 'end'}">`,
    );
    out.push(
      `<title>${escapeXml(`${titleOf(s.lane)} holds ${s.lock} from step ${s.from + 1} ${s.to < rows.length ? `to step ${s.to + 1}` : 'to the end'}`)}</title>`,
    );
    out.push(
      `<rect class="lp-lock-shade lp-lock-${c}" x="${lx + 1}" y="${top}" width="${laneWidth.get(s.lane)! - 2}" height="${r1(bottom - top)}"/>`,
    );
    out.push(
      `<rect class="lp-lock-bar lp-lock-${c}" x="${lx + MARK_X - 4 + k * 6}" y="${top}" width="8" height="${r1(bottom - top)}"/>`,
    );
    out.push('</g>');
  }
  for (const lane of lanes) {
    const mx = laneX.get(lane)! + MARK_X;
    out.push(`<line class="lp-lifeline" x1="${mx}" y1="${HEADER - 4}" x2="${mx}" y2="${rowsBottom}"/>`);
  }

  for (const r of rows) out.push(stepSvg(r, laneX.get(r.step.lane)!, rowMid(r.index), colourOf, opts));
  out.push(legend.svg(rowsBottom + 16));
  out.push('</svg>');
  return out.join('\n');
}

function sameStep(a: StepJson, b: StepJson): boolean {
  return a.lane === b.lane && a.file === b.file && a.line === b.line && a.column === b.column && a.action === b.action;
}

/** For each lane and lock, the runs of rows during which the lane's thread holds it (held after its own step). */
function lockSpans(steps: readonly StepJson[], lanes: readonly number[]): LockSpan[] {
  const spans: LockSpan[] = [];
  for (const lane of lanes) {
    const open = new Map<string, number>();
    steps.forEach((s, i) => {
      if (s.lane !== lane) return;
      for (const lock of s.locks) if (!open.has(lock)) open.set(lock, i);
      for (const [lock, from] of [...open]) {
        if (s.locks.includes(lock)) continue;
        spans.push({ lane, lock, from, to: i });
        open.delete(lock);
      }
    });
    for (const [lock, from] of open) spans.push({ lane, lock, from, to: steps.length });
  }
  return spans.sort((a, b) => a.lane - b.lane || a.from - b.from || a.lock.localeCompare(b.lock));
}

function stepSvg(r: Row, lx: number, cy: number, colourOf: (lock: string) => number, opts: TimelineOptions): string {
  const s = r.step;
  const hazard = s.hazard === true;
  const classes = [
    'lp-step',
    `lp-kind-${r.kind}`,
    ...(hazard ? ['lp-hazard'] : []),
    ...(r.note && !hazard ? ['lp-free-side'] : []),
  ];
  const attrs = `class="${classes.join(' ')}" data-index="${r.index + 1}" data-lane="${s.lane}" data-kind="${r.kind}" data-file="${escapeXml(s.file)}" data-line="${s.line}" data-column="${s.column}"`;
  const tip = [
    `step ${r.index + 1}, ${s.thread}${hazard ? ' (the hazard)' : ''}`,
    s.action,
    `in ${s.function}() at ${s.file}:${s.line}:${s.column}`,
    `holds ${s.locks.length ? s.locks.join(', ') : 'no lock'} after this step`,
  ].join('\n');
  const out = [`<g ${attrs}>`, `<title>${escapeXml(tip)}</title>`];
  out.push(
    `<text class="lp-num${hazard ? ' lp-hazard-text' : ''}" x="${GUTTER / 2}" y="${r1(cy + 4)}" text-anchor="middle">${r.index + 1}</text>`,
  );
  out.push(marker(r.kind, hazard, lx + MARK_X, cy, r.lock === undefined ? 0 : colourOf(r.lock)));
  const tx = lx + TEXT_X;
  // One text element, tspans on one line: whitespace between them would render as a leading space.
  const tspans = r.lines.map((line, i) => `<tspan x="${tx}" dy="${i ? LINE : 0}">${escapeXml(line)}</tspan>`).join('');
  out.push(`<text class="lp-action${hazard ? ' lp-hazard-text' : ''}" x="${tx}" y="${r1(cy + 4)}">${tspans}</text>`);
  const locY = r1(cy + 4 + r.lines.length * LINE - 1);
  out.push(
    `<text class="lp-where lp-small" x="${tx}" y="${locY}">${escapeXml(r.where)}${r.note ? `<tspan class="lp-note">${escapeXml(r.note)}</tspan>` : ''}</text>`,
  );
  out.push('</g>');
  const link = opts.linkFor?.(s.file, s.line);
  return link ? `<a href="${escapeXml(link)}">\n${out.join('\n')}\n</a>` : out.join('\n');
}

/** The shape that says what a step does; the hazard is a larger red octagon with an exclamation mark. */
function marker(kind: StepKind, hazard: boolean, cx: number, cy: number, lockColour: number): string {
  if (hazard) {
    const pts = Array.from({ length: 8 }, (_, i) => {
      const a = Math.PI / 8 + (i * Math.PI) / 4;
      return `${r1(cx + 10 * Math.cos(a))},${r1(cy + 10 * Math.sin(a))}`;
    });
    return `<polygon class="lp-mark lp-hazard-mark" points="${pts.join(' ')}"/><text class="lp-hazard-bang" x="${cx}" y="${cy + 4}" text-anchor="middle">!</text>`;
  }
  return shape(kind, cx, cy, lockColour);
}

function shape(kind: StepKind, cx: number, cy: number, lockColour: number): string {
  switch (kind) {
    case 'lock':
      return `<rect class="lp-mark lp-lock-${lockColour}" x="${cx - 5}" y="${r1(cy - 5)}" width="10" height="10"/>`;
    case 'unlock':
      return `<rect class="lp-mark lp-open lp-lock-stroke-${lockColour}" x="${cx - 5}" y="${r1(cy - 5)}" width="10" height="10"/>`;
    case 'guard':
      return `<polygon class="lp-mark lp-guard" points="${cx},${r1(cy - 7)} ${cx + 7},${r1(cy)} ${cx},${r1(cy + 7)} ${cx - 7},${r1(cy)}"/>`;
    case 'read':
      return `<circle class="lp-mark lp-open lp-fg-stroke" cx="${cx}" cy="${r1(cy)}" r="5"/>`;
    case 'walk':
    case 'deref':
      return `<circle class="lp-mark lp-fg" cx="${cx}" cy="${r1(cy)}" r="5"/>`;
    case 'teardown':
      return `<circle class="lp-mark lp-teardown" cx="${cx}" cy="${r1(cy)}" r="6"/>`;
    case 'clear':
      return `<polygon class="lp-mark lp-teardown" points="${cx - 7},${r1(cy - 6)} ${cx + 7},${r1(cy - 6)} ${cx},${r1(cy + 7)}"/>`;
    case 'free':
      return `<path class="lp-mark lp-free" d="M${cx - 6} ${r1(cy - 6)}L${cx + 6} ${r1(cy + 6)}M${cx + 6} ${r1(cy - 6)}L${cx - 6} ${r1(cy + 6)}"/>`;
    case 'other':
      return `<circle class="lp-mark lp-fg" cx="${cx}" cy="${r1(cy)}" r="3"/>`;
  }
}

function kindOrder(k: StepKind): number {
  return Object.keys(KIND_LABEL).indexOf(k);
}

function lockKeyWidth(locks: readonly string[]): number {
  return locks.reduce((w, l) => w + 13 + (`holds ${l}`.length + 2) * SMALL_CHAR, 0);
}

/** The key to the markers used in this diagram (and the lock shading), wrapped to the diagram's width. */
function legendItems(
  kinds: readonly StepKind[],
  withLock: boolean,
  width: number,
): { height: number; svg: (top: number) => string } {
  const items: { draw: (cx: number, cy: number) => string; label: string }[] = kinds.map((k) => ({
    draw: (cx, cy) => shape(k, cx, cy, 0),
    label: KIND_LABEL[k],
  }));
  items.push({ draw: (cx, cy) => marker('deref', true, cx, cy, 0), label: 'the hazard' });
  if (withLock)
    items.push({
      draw: (cx, cy) =>
        `<rect class="lp-lock-shade lp-lock-0" x="${cx - 8}" y="${cy - 8}" width="16" height="16"/><rect class="lp-lock-bar lp-lock-0" x="${cx - 4}" y="${cy - 8}" width="8" height="16"/>`,
      label: 'lock held',
    });
  const placed: { x: number; line: number; item: (typeof items)[number] }[] = [];
  let x = GUTTER;
  let line = 0;
  for (const item of items) {
    const w = 30 + item.label.length * SMALL_CHAR + 18;
    if (x + w > width && x > GUTTER) {
      line++;
      x = GUTTER;
    }
    placed.push({ x, line, item });
    x += w;
  }
  return {
    height: (line + 1) * 26 + 6,
    svg: (top) =>
      [
        '<g class="lp-legend">',
        ...placed.map((p) => {
          const cy = top + 12 + p.line * 26;
          return `${p.item.draw(p.x + 10, cy)}<text class="lp-key" x="${p.x + 26}" y="${cy + 4}">${escapeXml(p.item.label)}</text>`;
        }),
        '</g>',
      ].join('\n'),
  };
}

// Every colour is a VS Code theme variable with a light-theme fallback, so the same SVG suits a webview in any
// theme and a plain browser. Class names carry an lp- prefix: the style applies to the whole page it sits in.
const STYLE = `
.lp-timeline { font-family: var(--vscode-editor-font-family, 'DejaVu Sans Mono', Menlo, Consolas, monospace); font-size: ${FONT}px; }
.lp-timeline text { fill: var(--vscode-editor-foreground, #333); }
.lp-timeline .lp-small, .lp-timeline .lp-key { font-size: ${SMALL}px; }
.lp-timeline .lp-where, .lp-timeline .lp-num, .lp-timeline .lp-muted { fill: var(--vscode-descriptionForeground, #717171); }
.lp-timeline .lp-lane-title { font-size: 13px; font-weight: bold; }
.lp-bg { fill: var(--vscode-editor-background, #fff); }
.lp-header { fill: var(--vscode-editor-foreground, #333); fill-opacity: 0.06; }
.lp-rule { stroke: var(--vscode-editor-foreground, #333); stroke-opacity: 0.12; }
.lp-lifeline { stroke: var(--vscode-descriptionForeground, #717171); stroke-dasharray: 3 3; }
.lp-mark { stroke-width: 1.5; }
.lp-open { fill: var(--vscode-editor-background, #fff); }
.lp-fg { fill: var(--vscode-editor-foreground, #333); }
.lp-fg-stroke { stroke: var(--vscode-editor-foreground, #333); }
.lp-guard { fill: var(--vscode-charts-green, #388a34); }
.lp-teardown { fill: var(--vscode-charts-orange, #d18616); }
.lp-free { stroke: var(--vscode-charts-orange, #d18616); stroke-width: 3.5; stroke-linecap: round; }
.lp-lock-0 { fill: var(--vscode-charts-blue, #1a85ff); } .lp-lock-stroke-0 { stroke: var(--vscode-charts-blue, #1a85ff); }
.lp-lock-1 { fill: var(--vscode-charts-purple, #652d90); } .lp-lock-stroke-1 { stroke: var(--vscode-charts-purple, #652d90); }
.lp-lock-2 { fill: var(--vscode-charts-yellow, #cca700); } .lp-lock-stroke-2 { stroke: var(--vscode-charts-yellow, #cca700); }
.lp-lock-3 { fill: var(--vscode-charts-green, #388a34); } .lp-lock-stroke-3 { stroke: var(--vscode-charts-green, #388a34); }
.lp-lock-shade { fill-opacity: 0.1; }
.lp-lock-bar { fill-opacity: 0.55; }
.lp-hazard-row { fill: var(--vscode-charts-red, #e51400); fill-opacity: 0.12; }
.lp-hazard-mark { fill: var(--vscode-charts-red, #e51400); }
.lp-timeline .lp-hazard-bang { fill: #fff; font-weight: bold; font-family: sans-serif; }
.lp-timeline .lp-hazard-text { fill: var(--vscode-errorForeground, #c4000f); font-weight: bold; }
.lp-timeline .lp-note { fill: var(--vscode-errorForeground, #c4000f); }
.lp-free-side .lp-mark { stroke: var(--vscode-charts-red, #e51400); stroke-width: 2.5; }
a .lp-step { cursor: pointer; }
a:hover .lp-action, a:focus .lp-action { text-decoration: underline; }
`.trim();
