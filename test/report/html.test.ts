// The standalone HTML report of the bundled v4.12 example: self-contained (a strict CSP, no script, nothing fetched),
// with the summary, the model's assumptions, the chains table and one timeline per finding; text escaped.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { REPORT_CSP, reportHtml } from '../../server/src/report/html';
import { reportJson, type ReportJson } from '../../server/src/report/json';
import { analyzeDir, exampleDir } from '../helpers';

let report: ReportJson;
let html: string;
before(async () => {
  report = reportJson(await analyzeDir(exampleDir), 'test');
  html = reportHtml(report);
});

describe('reportHtml on the v4.12 example', () => {
  it('carries the strict Content-Security-Policy and refers to nothing outside itself', () => {
    assert.equal(REPORT_CSP, "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`));
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import|url\(|\bsrc=/i);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    assert.ok(
      hrefs.every((h) => h.startsWith('#')),
      `only in-page links: ${hrefs.filter((h) => !h.startsWith('#')).join(' ')}`,
    );
    assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /https?:/);
  });

  it('has the summary, the model and its assumptions, and every chain in the table', () => {
    assert.match(html, /<b>26<\/b> chains/);
    assert.match(html, /<b>3<\/b> race/);
    for (const a of report.model.assumptions) assert.ok(html.includes(`<code>${a.id}</code>`), a.id);
    const table = html.slice(
      html.indexOf('<section id="chains">'),
      html.indexOf('</section>', html.indexOf('<section id="chains">')),
    );
    assert.equal((table.match(/<tr class="v-/g) ?? []).length, report.chains.length);
    assert.equal((table.match(/<td class="verdict">race<\/td>/g) ?? []).length, 3);
  });

  it('has one article with a timeline per finding', () => {
    for (const f of report.findings) {
      const start = html.indexOf(`<article class="finding" id="finding-${f.id}"`);
      assert.ok(start >= 0, f.id);
      const article = html.slice(start, html.indexOf('</article>', start));
      assert.equal((article.match(/<svg /g) ?? []).length, 1);
      assert.equal((article.match(/class="lp-step /g) ?? []).length, f.witness.length);
    }
  });

  it('escapes what comes from the analysed tree', () => {
    const evil = structuredClone(report);
    evil.findings[0].message = '<script>alert(1)</script> & "x"';
    evil.chains[0].path[0] = '<img src=x onerror=alert(1)>';
    const out = reportHtml(evil);
    assert.doesNotMatch(out, /<script|<img/);
    assert.ok(out.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;'));
  });

  it('links steps to sources when asked (the CLI passes file: URLs)', () => {
    const out = reportHtml(report, { linkFor: (file, line) => `file:///k/${file}#L${line}` });
    assert.equal(
      (out.match(/<a href="file:\/\/\/k\//g) ?? []).length,
      report.findings.reduce((n, f) => n + f.witness.length, 0),
    );
  });
});
