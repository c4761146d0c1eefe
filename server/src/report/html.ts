// The standalone HTML report (`lockpath check --html FILE`): one self-contained page that opens with no network
// and runs no script. Its Content-Security-Policy forbids everything but inline styles and data: images, so a report
// from an untrusted tree cannot fetch or run anything even if some text escaped our escaping.
import type { ChainJson, FindingJson, ReportJson } from './json';
import { escapeXml as esc, timelineSvg, type TimelineOptions } from './timeline';

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export function reportHtml(report: ReportJson, opts: TimelineOptions = {}): string {
  const s = report.summary;
  const title = `lockpath: ${s.findings} finding${s.findings === 1 ? '' : 's'}, ${s.races} race${s.races === 1 ? '' : 's'} in ${s.chains} chains`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    summarySection(report),
    findingsSection(report.findings, opts),
    chainsSection(report.chains),
    modelSection(report),
    problemsSection(report),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function summarySection(r: ReportJson): string {
  const s = r.summary;
  const perContext = Object.entries(s.chainsPerContext)
    .map(([k, n]) => `${contextLabelOf(r, k)} ${n}`)
    .join(', ');
  return [
    '<section id="summary">',
    `<p class="meta">lockpath ${esc(r.lockpath.version)} (JSON shape ${r.lockpath.shape}), model <code>${esc(r.model.id)}</code>: ${esc(r.model.reason)}</p>`,
    '<ul class="counts">',
    `<li><b>${s.chains}</b> chains (${esc(perContext || 'none')})</li>`,
    `<li class="v-race"><b>${s.races}</b> race</li>`,
    `<li class="v-safe"><b>${s.safe}</b> safe</li>`,
    `<li class="v-inconclusive"><b>${s.inconclusive}</b> inconclusive</li>`,
    `<li><b>${s.findings}</b> findings</li>`,
    `<li>${s.files} files, ${s.functions} functions, ${s.statesExplored} states explored</li>`,
    '</ul>',
    s.findings
      ? `<ol class="toc">${r.findings.map((f) => `<li><a href="#finding-${esc(f.id)}">${esc(f.id)}</a> ${esc(f.hook)} (${esc(viaField(f.via))}): ${esc(f.title)}</li>`).join('')}</ol>`
      : '<p>No findings.</p>',
    '</section>',
  ].join('\n');
}

function findingsSection(findings: readonly FindingJson[], opts: TimelineOptions): string {
  if (!findings.length) return '';
  return [
    '<section id="findings">',
    '<h2>Findings</h2>',
    ...findings.map((f) => findingArticle(f, opts)),
    '</section>',
  ].join('\n');
}

function findingArticle(f: FindingJson, opts: TimelineOptions): string {
  return [
    `<article class="finding" id="finding-${esc(f.id)}" data-finding="${esc(f.id)}">`,
    `<h3><span class="badge ${f.severity}">${f.severity}</span> ${esc(f.title)} <span class="id">${esc(f.id)}</span></h3>`,
    `<p class="where"><code>${esc(f.file)}:${f.line}:${f.column}</code> in <code>${esc(f.function)}</code> &middot; class <code>${esc(f.class)}</code> &middot; ${esc(f.kind)}</p>`,
    `<p class="message">${esc(f.message)}</p>`,
    `<p class="chain"><span class="label">chain</span> ${f.chain.map((h) => `<code>${esc(h.function)}</code> <span class="loc">(${esc(base(h.file))}:${h.line})</span>`).join(' &rsaquo; ')}</p>`,
    `<p class="chain"><span class="label">races with</span> ${f.teardown.map((t) => `<code>${esc(t)}</code>`).join(' or ')}</p>`,
    `<figure class="timeline">${timelineSvg(f, opts)}<figcaption>Witness: ${f.witness.length} steps, time going down. Shaded: the lock that lane's thread holds.</figcaption></figure>`,
    '</article>',
  ].join('\n');
}

function chainsSection(chains: readonly ChainJson[]): string {
  const rows = chains.map((c) =>
    [
      `<tr class="v-${c.verdict}">`,
      `<td>${esc(c.contextLabel)}</td>`,
      `<td><code>${esc(c.hook)}</code> <span class="loc">(${esc(c.via)}${c.entryDerived ? '' : ', built-in'})</span></td>`,
      `<td class="path">${c.path.map((p) => `<code>${esc(p)}</code>`).join(' &rsaquo; ')}</td>`,
      `<td class="verdict">${c.verdict}</td>`,
      `<td>${esc(c.reason)}${c.assumptions.length ? `<br><span class="loc">assumes ${c.assumptions.map((a) => `<code>${esc(a)}</code>`).join(', ')}</span>` : ''}</td>`,
      '</tr>',
    ].join(''),
  );
  return [
    '<section id="chains">',
    `<h2>Chains (${chains.length})</h2>`,
    '<table>',
    '<thead><tr><th>Context</th><th>Entry (via)</th><th>Path</th><th>Verdict</th><th>Reason</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table>',
    '</section>',
  ].join('\n');
}

function modelSection(r: ReportJson): string {
  const m = r.model;
  return [
    '<section id="model">',
    '<h2>Model and assumptions</h2>',
    `<p><code>${esc(m.id)}</code> from ${esc(m.source)}: ${esc(m.description)}</p>`,
    '<table class="assumptions">',
    '<thead><tr><th>Assumption</th><th>In force</th><th>What it says</th></tr></thead>',
    '<tbody>',
    ...m.assumptions.map(
      (a) =>
        `<tr><td><code>${esc(a.id)}</code></td><td>${a.enabled ? 'on' : '<b>off</b>'}</td><td>${esc(a.description)}</td></tr>`,
    ),
    '</tbody>',
    '</table>',
    '</section>',
  ].join('\n');
}

/** Errors and warnings only: the many notes about unparsed macro regions would drown the report. */
function problemsSection(r: ReportJson): string {
  const shown = r.problems.filter((p) => p.severity !== 'info');
  const hidden = r.problems.length - shown.length;
  return [
    '<section id="problems">',
    '<h2>Problems</h2>',
    shown.length
      ? `<ul>${shown.map((p) => `<li><code>${esc(p.file || '<model>')}:${p.line}:${p.column}</code> ${esc(p.severity)}: ${esc(p.message)}</li>`).join('')}</ul>`
      : '<p>None.</p>',
    hidden
      ? `<p class="loc">${hidden} note${hidden === 1 ? '' : 's'} about unparsed macro regions not shown (<code>lockpath check --verbose</code> prints them).</p>`
      : '',
    '</section>',
  ].join('\n');
}

const base = (file: string): string => file.slice(file.lastIndexOf('/') + 1);
const viaField = (via: string): string => via.slice(via.lastIndexOf('.') + 1);
const contextLabelOf = (r: ReportJson, context: string): string =>
  r.chains.find((c) => c.context === context)?.contextLabel ?? context;

const STYLE = `
body { font-family: var(--vscode-font-family, system-ui, sans-serif); font-size: 14px; line-height: 1.45; margin: 24px; max-width: 1400px;
  color: var(--vscode-editor-foreground, #333); background: var(--vscode-editor-background, #fff); }
code { font-family: var(--vscode-editor-font-family, 'DejaVu Sans Mono', Menlo, Consolas, monospace); font-size: 0.92em; }
h1 { font-size: 1.5em; margin: 0 0 8px; } h2 { font-size: 1.25em; margin-top: 32px; border-bottom: 1px solid rgba(128,128,128,.3); }
h3 { font-size: 1.1em; margin: 0 0 6px; }
a { color: var(--vscode-textLink-foreground, #006ab1); }
.meta, .loc, .where, figcaption { color: var(--vscode-descriptionForeground, #717171); }
.loc { font-size: 0.9em; }
.counts { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 8px 20px; }
.toc li { margin: 2px 0; }
.finding { border: 1px solid rgba(128,128,128,.35); border-radius: 6px; padding: 14px 16px; margin: 16px 0; }
.id { font-weight: normal; color: var(--vscode-descriptionForeground, #717171); font-size: 0.85em; }
.badge { font-size: 0.75em; text-transform: uppercase; padding: 1px 6px; border-radius: 3px; color: #fff; vertical-align: 2px; }
.badge.error { background: var(--vscode-charts-red, #e51400); } .badge.warning { background: var(--vscode-charts-orange, #d18616); }
.message { margin: 6px 0; }
.chain { margin: 4px 0; }
.label { display: inline-block; min-width: 6em; color: var(--vscode-descriptionForeground, #717171); }
figure.timeline { margin: 12px 0 0; overflow-x: auto; }
figure.timeline svg { display: block; border: 1px solid rgba(128,128,128,.3); }
figcaption { font-size: 0.85em; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid rgba(128,128,128,.25); }
th { background: rgba(128,128,128,.08); }
td.path { max-width: 40em; }
.verdict { font-weight: bold; }
.v-race .verdict, li.v-race b { color: var(--vscode-errorForeground, #c4000f); }
.v-safe .verdict, li.v-safe b { color: var(--vscode-charts-green, #388a34); }
.v-inconclusive .verdict, li.v-inconclusive b { color: var(--vscode-charts-orange, #d18616); }
`.trim();
