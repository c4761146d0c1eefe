// The HTML report as a person opens it: `lockpath check --html` on the bundled example, loaded from a file: URL in
// Debian's chromium (driven by playwright-core) with every network request blocked, then read back from the page:
// the lanes, the steps, the hazard, and a screenshot of each finding's timeline under test-output/timeline/.
// Missing chromium or playwright-core fails the test by name: a silent pass would hide that nothing was checked.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { main } from '../../server/src/cli/main';
import type { ReportJson } from '../../server/src/report/json';
import { exampleDir, repoRoot } from '../helpers';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];
const SCREENSHOTS = join(repoRoot, 'test-output', 'timeline');

/** playwright-core, loaded at run time so the test bundle does not try to inline it. */
function playwright(): typeof import('playwright-core') {
  try {
    return createRequire(join(repoRoot, 'package.json'))('playwright-core');
  } catch (e) {
    throw new Error(
      `playwright-core is missing (a devDependency: run \`npm ci\` in ${repoRoot}): ${(e as Error).message}`,
    );
  }
}

/** The few DOM members the in-page check uses (the project compiles without the DOM library). */
interface SvgNode {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  parentElement: SvgNode | null;
  getAttribute(name: string): string | null;
  getBBox(): { x: number; y: number; width: number; height: number };
  querySelectorAll(selector: string): Iterable<SvgNode>;
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(args, (s) => (out += s));
  return { code, out };
}

describe('the HTML report in chromium', { timeout: 180_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'lockpath-timeline-'));
  const htmlFile = join(temp, 'report.html');
  const url = pathToFileURL(htmlFile).href;
  const requests: string[] = [];
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  let report: ReportJson;
  let context: BrowserContext | undefined;
  let page: Page;
  // A failed setup (chromium or playwright-core missing) fails every test with its message, rather than leaving
  // them cancelled: a run that counts no failure could pass for one that checked nothing.
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError) throw setupError;
  };

  before(async () => {
    try {
      await setUp();
    } catch (e) {
      setupError = e as Error;
    }
  });

  async function setUp(): Promise<void> {
    const pw = playwright();
    if (!existsSync(CHROMIUM)) throw new Error(`chromium is missing: no ${CHROMIUM} (apt-get install -y chromium)`);
    const html = await run(['check', '--html', htmlFile, exampleDir]);
    assert.equal(html.code, 1, 'check still exits 1 on races when it writes the report');
    assert.match(html.out, /3 findings;/, 'and still prints the findings');
    report = JSON.parse((await run(['check', '--json', exampleDir])).out);

    // A fresh profile each run; playwright takes it as launchPersistentContext's folder (it refuses --user-data-dir).
    context = await pw.chromium.launchPersistentContext(join(temp, 'profile'), {
      executablePath: CHROMIUM,
      args: FLAGS,
      headless: true,
      viewport: { width: 1400, height: 900 },
      deviceScaleFactor: 2,
      offline: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    });
    await page.goto(url, { waitUntil: 'load' });
  }

  after(async () => {
    await context?.close();
    rmSync(temp, { recursive: true, force: true });
  });

  it('loads with no request but the file itself, and no CSP or script error', () => {
    ready();
    assert.deepEqual(blocked, [], 'nothing was blocked because nothing else was asked for');
    assert.deepEqual(
      requests.filter((r) => r !== url),
      [],
    );
    assert.deepEqual(pageErrors, []);
  });

  it('shows one timeline per finding, titled with its two threads, with one row per witness step', async () => {
    ready();
    assert.equal(await page.locator('article.finding').count(), report.findings.length);
    for (const f of report.findings) {
      const svg = page.locator(`#finding-${f.id} svg.lp-timeline`);
      const threads = [...new Set(f.witness.map((s) => s.lane))]
        .sort()
        .map((l) => f.witness.find((s) => s.lane === l)!.thread);
      assert.deepEqual(await svg.locator('.lp-lane-title').allTextContents(), threads);
      assert.equal(await svg.locator('.lp-step').count(), f.witness.length);
    }
  });

  it('shows the hazard step, and every label inside its lane', async () => {
    ready();
    for (const f of report.findings) {
      const svg = page.locator(`#finding-${f.id} svg.lp-timeline`);
      const hazard = svg.locator('.lp-step.lp-hazard');
      await hazard.scrollIntoViewIfNeeded();
      assert.ok(await hazard.isVisible(), `${f.id}: hazard visible`);
      const mark = await hazard.locator('.lp-hazard-mark').boundingBox();
      const box = await svg.boundingBox();
      assert.ok(
        mark && box && mark.width >= 16 && mark.y >= box.y && mark.y + mark.height <= box.y + box.height,
        `${f.id}: hazard marker drawn inside the diagram`,
      );
      assert.match((await hazard.textContent()) ?? '', /dereferences \*pgd: NULL/);
      // Widths are estimated from character counts when drawing; check them against the real font.
      const overflows = await svg.evaluate((el) => {
        const root = el as unknown as SvgNode;
        const num = (n: SvgNode, attr: string): number => Number(n.getAttribute(attr));
        const right = new Map<string, number>();
        for (const h of root.querySelectorAll('.lp-lane .lp-header'))
          right.set(h.parentElement!.dataset.lane!, num(h, 'x') + num(h, 'width'));
        const out: string[] = [];
        for (const step of root.querySelectorAll('.lp-step')) {
          const edge = right.get(step.dataset.lane!)!;
          for (const t of step.querySelectorAll('.lp-action, .lp-where')) {
            const b = t.getBBox();
            if (b.x + b.width > edge)
              out.push(`step ${step.dataset.index}: "${t.textContent}" ends at ${Math.round(b.x + b.width)} > ${edge}`);
          }
        }
        for (const t of root.querySelectorAll('.lp-lane-title, .lp-legend text')) {
          const b = t.getBBox();
          if (b.x + b.width > num(root, 'width')) out.push(`"${t.textContent}" runs off the diagram`);
        }
        return out;
      });
      assert.deepEqual(overflows, [], f.id);
    }
  });

  it(`saves a screenshot of each finding's timeline under test-output/timeline/`, async () => {
    ready();
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const f of report.findings) {
      const path = join(SCREENSHOTS, `${f.id}.png`);
      rmSync(path, { force: true });
      await page.locator(`#finding-${f.id} svg.lp-timeline`).screenshot({ path });
      assert.ok(existsSync(path), path);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'report.png'), fullPage: true });
  });
});
