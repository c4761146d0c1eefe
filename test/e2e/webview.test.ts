// The editor's race-timeline view, rendered by the browser engine VS Code's webviews use: the page the client
// builds for each race of the bundled example (same builder, same SVG), under its strict CSP, with a stand-in
// for the webview API. Checks the lanes, the steps and that a click on a step asks to open its line.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { reportJson } from '../../server/src/report/json';
import { timelineSvg } from '../../server/src/report/timeline';
import { timelineWebviewHtml } from '../../server/src/report/webview';
import { analyzeDir, exampleDir, repoRoot } from '../helpers';
import { launchChromium } from './chromium';

describe('the race-timeline webview page in chromium', { timeout: 180_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'lockpath-webview-'));
  let context: BrowserContext | undefined;
  let setupError: Error | undefined;

  before(async () => {
    try {
      context = await launchChromium(join(temp, 'profile'));
    } catch (e) {
      setupError = e as Error;
    }
  });
  after(async () => {
    await context?.close();
    rmSync(temp, { recursive: true, force: true });
  });

  it("renders every race of the example with its lanes and steps, and a click asks for the step's line", async () => {
    if (setupError) throw setupError;
    const report = reportJson(await analyzeDir(exampleDir), 'test');
    assert.equal(report.findings.length, 3);
    mkdirSync(join(repoRoot, 'test-output', 'webview'), { recursive: true });
    for (const f of report.findings) {
      const file = join(temp, `${f.id}.html`);
      writeFileSync(
        file,
        timelineWebviewHtml({ title: f.message, svg: timelineSvg(f), cspSource: 'vscode-webview:', nonce: 'n0nce' }),
      );
      const page = await context!.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      // What VS Code injects into a webview: acquireVsCodeApi().postMessage.
      await page.addInitScript(
        'window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m) });',
      );
      await page.goto(pathToFileURL(file).href);
      const lanes = await page
        .locator('[data-file]')
        .evaluateAll((els) => [
          ...new Set(els.map((e) => (e as unknown as { dataset: { lane: string } }).dataset.lane)),
        ]);
      assert.deepEqual(lanes.sort(), ['0', '1'], 'two lanes');
      assert.equal(await page.locator('[data-file]').count(), f.witness.length, 'one step per witness step');
      for (const thread of new Set(f.witness.map((s) => s.thread)))
        assert.ok((await page.content()).includes(thread), thread);
      const hazard = f.witness.length - 1;
      await page.locator('[data-file]').nth(hazard).click();
      const posted = await page.evaluate<{ file: string; line: number }[]>('window.posted');
      assert.deepEqual(posted, [
        { file: f.witness[hazard].file, line: f.witness[hazard].line, column: f.witness[hazard].column },
      ]);
      await page.screenshot({ path: join(repoRoot, 'test-output', 'webview', `${f.id}.png`), fullPage: true });
      // Scaled to the panel: in a panel narrower than the drawing (VS Code's beside column in a 1280 px window),
      // nothing runs off the right edge, and the proportions hold.
      await page.setViewportSize({ width: 620, height: 700 });
      const fit = await page.evaluate<{
        right: number;
        width: number;
        height: number;
        drawn: number;
        drawnHeight: number;
        view: number;
        scroll: number;
      }>(`(() => {
        const svg = document.querySelector('svg.lp-timeline');
        const r = svg.getBoundingClientRect();
        return { right: r.right, width: r.width, height: r.height, drawn: Number(svg.getAttribute('width')), drawnHeight: Number(svg.getAttribute('height')),
          view: innerWidth, scroll: document.documentElement.scrollWidth };
      })()`);
      assert.ok(fit.drawn > fit.view, `the drawing is wider than the panel: ${JSON.stringify(fit)}`);
      assert.ok(fit.right <= fit.view && fit.scroll <= fit.view, `fits: ${JSON.stringify(fit)}`);
      assert.ok(
        Math.abs(fit.width / fit.height - fit.drawn / fit.drawnHeight) < 0.02,
        `proportions kept: ${JSON.stringify(fit)}`,
      );
      assert.deepEqual(errors, [], 'no script or CSP errors');
      await page.close();
    }
  });
});
