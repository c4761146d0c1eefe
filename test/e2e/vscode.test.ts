// lockpath in real VS Code: the packaged .vsix installed into code-server (VS Code 1.100.3 in the browser, from
// scripts/setup-editors.sh), a scratch copy of the bundled example opened in it, and the workbench driven through
// Debian's chromium with playwright-core, as a person would: Explorer, Go to Line, mouse hover, Ctrl+. and Enter.
// Everything checked is read from the page (squiggles, the Problems panel, status bar, code lenses, the hover, the
// light-bulb menu, the edited text). A screenshot of each step goes to test-output/vscode/.
// A missing code-server, chromium or playwright-core fails the test by name: a silent pass would hide that nothing
// was checked. Waits are on the page's own signals, each with a bound; code-server's process group is killed after.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { repoRoot } from '../helpers';
import {
  ANALYSIS_MS,
  UI_MS,
  editorOf,
  explorerRows as explorerRowsOf,
  expand as expandIn,
  goTo as goToIn,
  locate,
  runCommand,
  useCodeServer,
  statusItem as statusItemOf,
  type CodeServer,
} from './codeserver';
import { GUARD, MMU } from './editors';

const SHOTS = join(repoRoot, 'test-output', 'vscode');

/** The few DOM members the in-page reads use (the project compiles without the DOM library). */
interface El {
  textContent: string | null;
  getBoundingClientRect(): { top: number; bottom: number; left: number; right: number; height: number };
  querySelectorAll(selector: string): ArrayLike<El>;
  children: ArrayLike<El>;
  getAnimations(opts?: { subtree: boolean }): { playState: string }[];
}

interface ViewLine {
  top: number;
  bottom: number;
  text: string;
}

describe(
  'VS Code (code-server + chromium) with the packaged lockpath extension on examples/v4.12',
  { timeout: 420_000 },
  () => {
    let session: CodeServer | undefined;
    let page: Page;
    let mmuText: string;
    const ready = useCodeServer(
      'vscode',
      {
        shots: SHOTS,
        clearShots: [
          '01-workbench',
          '02-squiggle',
          '03-problems',
          '04-codelens',
          '05-hover',
          '06-quickfix-menu',
          '07-fixed',
          '08-races-view',
          '09-picker',
          '10-timeline',
        ],
        // What each phase took, beside the screenshots (the README's test timings come from here).
        beforeClose: (s) =>
          writeFileSync(
            join(SHOTS, 'timings.json'),
            `${JSON.stringify(Object.fromEntries(Object.entries(s.timings).map(([k, v]) => [k, Math.round(v)])), null, 2)}\n`,
          ),
      },
      (s) => {
        session = s;
        page = s.page;
        mmuText = readFileSync(join(s.box.root, MMU), 'utf8');
      },
    );

    /** Where stage2_get_pud dereferences the pgd it read from kvm->arch.pgd: the `*pgd` of `stage2_pgd_none(*pgd)`. */
    function derefAt(): { line: number; column: number } {
      const def = locate(mmuText, 'stage2_get_pud(struct kvm');
      const at = locate(mmuText, 'stage2_pgd_none(*pgd)', def.line + 1);
      return { line: at.line, column: at.column + 'stage2_pgd_none('.length };
    }

    // ---- page helpers ----------------------------------------------------------------------------------------
    const explorerRows = (): Locator => explorerRowsOf(page);
    const editor = (): Locator => editorOf(page);
    const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`) });
    const expand = (name: string): Promise<void> => expandIn(page, name);
    const goTo = (line: number, column?: number): Promise<void> => goToIn(page, line, column);
    const statusItem = (id: string): Locator => statusItemOf(page, id);
    const timings = (): Record<string, number> => session!.timings;

    /** The editor's rendered lines, top to bottom, with their text (non-breaking spaces as spaces). */
    function viewLines(): Promise<ViewLine[]> {
      return editor().evaluate((el) => {
        const root = el as unknown as El;
        return Array.from(root.querySelectorAll('.view-lines .view-line'))
          .map((l) => ({
            top: l.getBoundingClientRect().top,
            bottom: l.getBoundingClientRect().bottom,
            text: (l.textContent ?? '').replace(/\u00a0/g, ' '),
          }))
          .sort((a, b) => a.top - b.top);
      });
    }

    // ---- the steps -------------------------------------------------------------------------------------------
    it('installs the packaged .vsix into code-server and opens the example folder in chromium', async () => {
      ready();
      await shot('01-workbench');
      const names = await explorerRows().evaluateAll((els) =>
        els.map((e) => (e as unknown as { getAttribute(n: string): string | null }).getAttribute('aria-label')),
      );
      assert.ok(
        names.includes('virt') && names.includes('arch'),
        `the example's folders in the Explorer: ${names.join(', ')}`,
      );
    });

    it('opens mmu.c from the Explorer and squiggles the dereference in stage2_get_pud', async () => {
      ready();
      for (const folder of ['virt', 'kvm', 'arm']) await expand(folder);
      await explorerRows().and(page.locator('[aria-label="mmu.c"]')).click();
      await page.locator('.tab.active', { hasText: 'mmu.c' }).waitFor();
      await editor().locator('.view-line').first().waitFor();
      // The squiggle is drawn only for visible lines: go to the dereference first.
      const deref = derefAt();
      await goTo(deref.line + 1, deref.column + 1);
      const squiggle = editor().locator('.squiggly-error').first();
      const started = performance.now();
      await squiggle.waitFor({ timeout: ANALYSIS_MS });
      timings().firstSquiggleMs = performance.now() - started;
      // What is under the squiggle: the line it sits on, and the characters it spans, read in one frame.
      const readUnder = (): Promise<{ line: string; spanned: string; top: number }> =>
        editor().evaluate((el) => {
          const root = el as unknown as El;
          const sq = root.querySelectorAll('.squiggly-error')[0];
          if (!sq) return { line: '', spanned: '', top: -1 };
          const b = sq.getBoundingClientRect();
          const mid = (b.top + b.bottom) / 2;
          const line = Array.from(root.querySelectorAll('.view-lines .view-line')).find((l) => {
            const r = l.getBoundingClientRect();
            return r.top <= mid && mid <= r.bottom;
          });
          if (!line) return { line: '', spanned: '', top: b.top };
          const spanned = Array.from(line.querySelectorAll('span'))
            .filter((x) => x.children.length === 0)
            .filter((x) => {
              const r = x.getBoundingClientRect();
              return r.right > b.left + 1 && r.left < b.right - 1;
            })
            .map((x) => x.textContent)
            .join('');
          return { line: (line.textContent ?? '').replace(/\u00a0/g, ' '), spanned, top: b.top };
        });
      // The lenses come from the same analysis and shift the lines as they are inserted: wait for the one above
      // stage2_get_pud, then for the squiggle to hold still for a few frames.
      await editor()
        .locator('.codelens-decoration')
        .filter({ hasText: 'mmu notifier · race', visible: true })
        .first()
        .waitFor({ timeout: ANALYSIS_MS });
      await editor().evaluate(
        (el) =>
          new Promise<void>((resolve) => {
            const root = el as unknown as El;
            const g = globalThis as unknown as { requestAnimationFrame(f: () => void): void };
            let last = NaN;
            let same = 0;
            const t0 = Date.now();
            const tick = (): void => {
              const top = root.querySelectorAll('.squiggly-error')[0]?.getBoundingClientRect().top ?? NaN;
              same = top === last ? same + 1 : 0;
              last = top;
              if (same >= 10 || Date.now() - t0 > 10_000) resolve();
              else g.requestAnimationFrame(tick);
            };
            g.requestAnimationFrame(tick);
          }),
      );
      const under = await readUnder();
      assert.equal(
        under.line.trim(),
        mmuText.split('\n')[deref.line].trim(),
        'the squiggle is on the dereference line of stage2_get_pud',
      );
      assert.match(under.spanned, /\*?pgd/, `the squiggle spans the dereference, got "${under.spanned}"`);
      await shot('02-squiggle');
    });

    it('counts the race alike in the status bar and the Problems panel, with its 3 entries', async () => {
      ready();
      // The status bar counts races as Problems does (one diagnostic per place), and the entries that reach them.
      const lockpath = statusItem('lockpath.lockpath');
      await lockpath.filter({ hasText: 'lockpath: 1 race (3 entries)' }).waitFor({ timeout: ANALYSIS_MS });
      assert.match((await statusItem('status.problems').getAttribute('aria-label')) ?? '', /^Errors: 1\b/);
      await page.keyboard.press('Control+Shift+M');
      const panel = page.locator('.markers-panel');
      await panel.waitFor();
      const tab = page
        .locator('.action-item', { has: page.locator('.badge-content') })
        .filter({ hasText: /problems/i });
      await tab.locator('.badge-content', { hasText: /^1$/ }).waitFor();
      const row = panel.locator('.monaco-list-row').filter({ hasText: 'kvm->arch.pgd may be NULL here' });
      await row.first().waitFor();
      const label = (await row.first().getAttribute('aria-label')) ?? '';
      assert.match(label, /^Error: /);
      assert.match(
        label,
        /reached from 3 entries: mmu notifier kvm_age_hva \(clear_flush_young\); mmu notifier kvm_age_hva \(clear_young\); mmu notifier kvm_test_age_hva \(test_young\)/,
      );
      assert.match(await panel.innerText(), /lockpath\s*\(?\s*unguarded-notifier-path/, 'source and class code shown');
      assert.equal(
        (await panel.locator('.monaco-list-row', { hasText: /^Error|kvm->arch.pgd may be NULL/ }).count()) >= 1,
        true,
      );
      await shot('03-problems');
      await page.keyboard.press('Control+J');
      await panel.waitFor({ state: 'hidden' });
    });

    it('shows a code lens above kvm_age_hva naming the mmu-notifier context and the race', async () => {
      ready();
      const age = locate(mmuText, 'int kvm_age_hva(');
      await goTo(age.line + 1);
      const lens = editor().locator('.codelens-decoration').filter({ hasText: 'mmu notifier · race', visible: true });
      await lens.first().waitFor({ timeout: ANALYSIS_MS });
      // The lens right above the line `int kvm_age_hva(`: the first rendered line below it is that line (one frame).
      const lenses = await editor().evaluate((el) => {
        const root = el as unknown as El;
        const text = (e: El): string => (e.textContent ?? '').replace(/\u00a0/g, ' ');
        const lines = Array.from(root.querySelectorAll('.view-lines .view-line')).sort(
          (a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top,
        );
        return Array.from(root.querySelectorAll('.codelens-decoration')).map((l) => {
          const bottom = l.getBoundingClientRect().bottom;
          const below = lines.find((v) => v.getBoundingClientRect().top >= bottom - 2);
          return { text: text(l), below: below ? text(below) : '' };
        });
      });
      const above = lenses.filter((l) => l.below.startsWith('int kvm_age_hva('));
      assert.equal(above.length, 1, `one lens row above kvm_age_hva: ${JSON.stringify(lenses)}`);
      // The diagnostic's words ("kvm->arch.pgd may be NULL here"), counted as Problems counts.
      assert.match(above[0].text, /^mmu notifier · race: kvm->arch\.pgd may be NULL · 1 race \(2 entries\)/);
      await shot('04-codelens');
    });

    it('hover on kvm_set_spte_hva says its safe verdict in a few lines', async () => {
      ready();
      const spte = locate(mmuText, 'void kvm_set_spte_hva(');
      await goTo(spte.line + 1);
      const token = editor()
        .locator('.view-line')
        .filter({ hasText: /void\skvm_set_spte_hva\(/ })
        .locator('span span')
        .filter({ hasText: /^kvm_set_spte_hva$/ });
      await token.first().hover();
      const hover = page.locator('.monaco-hover:not(.hidden)').filter({ hasText: 'stage-2 chain' });
      await hover.first().waitFor({ timeout: ANALYSIS_MS });
      // Let its fade-in finish so the screenshot shows it as a person sees it.
      await hover.first().evaluate(
        (el) =>
          new Promise<void>((resolve) => {
            const done = (): boolean =>
              (el as unknown as El).getAnimations({ subtree: true }).every((a) => a.playState !== 'running');
            const t = Date.now();
            const poll = (): void => (done() || Date.now() - t > 5000 ? resolve() : void setTimeout(poll, 20));
            poll();
          }),
      );
      const text = await hover.first().innerText();
      // Short: the verdict per context, then the links to the full explanation.
      assert.match(text, /^kvm_set_spte_hva: 1 stage-2 chain · no races/);
      assert.match(text, /mmu notifier · safe: checked in kvm_set_spte_hva/);
      assert.match(text, /Explain kvm_set_spte_hva/);
      assert.ok(text.length < 1000, `a short hover: ${text.length} characters`);
      await shot('05-hover');
      await page.keyboard.press('Escape');
      await page.mouse.move(0, 0);
      await hover.first().waitFor({ state: 'hidden' });
    });

    it('Explain Function opens the explanation rendered, in the markdown preview', async () => {
      ready();
      const spte = locate(mmuText, 'void kvm_set_spte_hva(');
      // The cursor on the function's name: the command explains the word under it.
      await goTo(spte.line + 1, spte.column + 'void '.length + 3);
      await runCommand(page, 'lockpath: Explain Function');
      const preview = page.locator('.tab').filter({ hasText: /Preview kvm_set_spte_hva/ });
      await preview.first().waitFor({ timeout: ANALYSIS_MS });
      // Rendered: some frame of the preview's webview shows the explanation as text (no markdown syntax left).
      const deadline = Date.now() + ANALYSIS_MS;
      let rendered = '';
      while (!rendered && Date.now() < deadline) {
        // Not the workbench itself (its code lenses say "safe" too): only the webview frames.
        for (const f of page.frames().filter((x) => x !== page.mainFrame())) {
          const text = await f.evaluate<string>("document.body ? document.body.innerText : ''").catch(() => '');
          if (/kvm_set_spte_hva/.test(text) && /safe/.test(text) && !/^#/m.test(text)) rendered = text;
        }
        if (!rendered) await page.waitForTimeout(250);
      }
      assert.ok(rendered, 'the preview shows the explanation rendered');
      await shot('05b-explain');
      // The raw markdown is not what opened: no editor tab holds the .md text itself.
      assert.equal(
        await page
          .locator('.tab')
          .filter({ hasText: /^kvm_set_spte_hva\.md$/ })
          .count(),
        0,
      );
      // Close the preview by its own tab (the editor keeps the focus), so mmu.c stays open for the tests after.
      await preview.first().hover();
      await preview.first().locator('.action-label.codicon-close').click();
      await preview.first().waitFor({ state: 'hidden' });
      await page
        .locator('.tab')
        .filter({ hasText: /^mmu\.c/ })
        .first()
        .waitFor();
    });

    it('the lockpath: Races view lists each race by name, its chain in call order, then the witness lane by lane', async () => {
      ready();
      const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /lockpath: Races/i }) });
      await pane.waitFor();
      const header = pane.locator('.pane-header').first();
      if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
      // Room for every row (the tree renders only the rows in view): fold the folder view meanwhile.
      const folders = page.locator('.pane-header', { hasText: /^\s*v4\.12/i }).first();
      const foldersOpen = (await folders.getAttribute('aria-expanded')) === 'true';
      if (foldersOpen) await folders.click();
      const rows = pane.locator('.monaco-list-row');
      await rows.first().waitFor({ timeout: ANALYSIS_MS });
      const texts = async (): Promise<string[]> =>
        (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      const top = await texts();
      assert.equal(top.length, 3, top.join('\n'));
      const entries = ['kvm_age_hva (clear_flush_young)', 'kvm_age_hva (clear_young)', 'kvm_test_age_hva (test_young)'];
      for (const e of entries)
        assert.ok(
          top.some((t) => t.startsWith(`unguarded-notifier-path · mmu notifier ${e} · mmu.c:411`)),
          `${e} by name:\n${top.join('\n')}`,
        );
      assert.ok(
        top.every((t) => !/\bLP[0-9A-F]{8}\b/.test(t)),
        'no bare ids',
      );
      // Unfold the clear_young race: its chain's hops, numbered in call order, then one row per witness lane.
      const row = rows.filter({ hasText: 'kvm_age_hva (clear_young)' }).first();
      await row.locator('.monaco-tl-twistie').click();
      await rows.nth(3).waitFor();
      const all = await texts();
      const at = all.findIndex((t) => t.includes('kvm_age_hva (clear_young)'));
      const children = all.slice(at + 1, at + 1 + 8);
      const hops = children.filter((t) => /^\d+\. /.test(t));
      assert.deepEqual(
        hops.map((t) => Number(/^(\d+)\./.exec(t)![1])),
        [1, 2, 3, 4, 5, 6],
        children.join('\n'),
      );
      assert.match(hops[0], /^1\. mmu notifier enters kvm_mmu_notifier_clear_young via /);
      assert.match(hops[1], /^2\. kvm_mmu_notifier_clear_young calls kvm_age_hva(holding| |$)/);
      assert.match(hops[5], /^6\. stage2_get_pmd calls stage2_get_pud(holding| |$)/);
      const lanes = children.filter((t) => t.startsWith('witness: '));
      assert.equal(lanes.length, 2, children.join('\n'));
      assert.ok(
        lanes.some((t) => /^witness: exit_mmap/.test(t)),
        lanes.join('\n'),
      );
      await shot('08-races-view');
      await row.locator('.monaco-tl-twistie').click();
      if (foldersOpen) await folders.click();
    });

    it('the race-timeline picker names each race; the timeline is titled by it and fits a 1280 px window', async () => {
      ready();
      await page.setViewportSize({ width: 1280, height: 900 });
      try {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.fill('>lockpath: Show Race Timeline');
        await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Show Race Timeline' }).first().waitFor();
        await page.keyboard.press('Enter');
        const rows = page.locator('.quick-input-widget .monaco-list-row');
        await page
          .locator('.quick-input-widget .monaco-list-row', { hasText: 'unguarded-notifier-path' })
          .first()
          .waitFor({ timeout: ANALYSIS_MS });
        const labels = (await rows.allInnerTexts()).map((t) => t.split('\n')[0].trim());
        assert.equal(labels.length, 3, labels.join('\n'));
        assert.equal(new Set(labels).size, 3, `three different names:\n${labels.join('\n')}`);
        assert.ok(
          labels.every((l) => !/\bLP[0-9A-F]{8}\b/.test(l)),
          labels.join('\n'),
        );
        const target = labels.findIndex((l) => l.includes('kvm_age_hva (clear_young)'));
        assert.ok(target >= 0, labels.join('\n'));
        await shot('09-picker');
        for (let i = 0; i < target; i++) await page.keyboard.press('ArrowDown');
        await page.keyboard.press('Enter');
        // The tab is titled by what it shows.
        const tab = page.locator('.tab', {
          hasText: 'Race: unguarded-notifier-path · mmu notifier kvm_age_hva (clear_young)',
        });
        await tab.waitFor({ timeout: ANALYSIS_MS });
        const frame = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
        await frame.locator('svg.lp-timeline').waitFor({ timeout: UI_MS });
        const fit = await frame.locator('body').evaluate((b) => {
          const g = globalThis as unknown as {
            innerWidth: number;
            document: { documentElement: { scrollWidth: number } };
          };
          const body = b as unknown as El;
          const svg = body.querySelectorAll('svg.lp-timeline')[0];
          const titles = Array.from(body.querySelectorAll('.lp-lane-title')).map((t) => ({
            text: t.textContent ?? '',
            right: t.getBoundingClientRect().right,
          }));
          return {
            svg: svg.getBoundingClientRect().right,
            view: g.innerWidth,
            scroll: g.document.documentElement.scrollWidth,
            titles,
            h1: body.querySelectorAll('h1')[0]?.textContent ?? '',
          };
        });
        assert.ok(fit.scroll <= fit.view, `no horizontal scrolling: ${JSON.stringify(fit)}`);
        assert.ok(fit.svg <= fit.view, `the drawing ends inside the panel: ${JSON.stringify(fit)}`);
        assert.ok(
          fit.titles.length >= 2 && fit.titles.every((t) => t.right <= fit.view),
          `every lane title in view: ${JSON.stringify(fit)}`,
        );
        assert.match(fit.h1, /^unguarded-notifier-path · mmu notifier kvm_age_hva \(clear_young\) · mmu\.c:411/);
        await shot('10-timeline');
        await tab.hover();
        await tab.locator('.codicon-close').click();
        await tab.waitFor({ state: 'detached' });
      } finally {
        await page.setViewportSize({ width: 1600, height: 1000 });
      }
      await page
        .locator('.tab', { hasText: /^mmu\.c/ })
        .first()
        .click();
    });

    it('the first quick fix from the light-bulb menu (Ctrl+. Enter) inserts the guard and clears the problem', async () => {
      ready();
      const deref = derefAt();
      await goTo(deref.line + 1, deref.column + 1);
      await page.keyboard.press('Control+.');
      const menu = page.locator('.action-widget');
      try {
        await menu.waitFor({ timeout: ANALYSIS_MS });
      } catch (e) {
        // Say why: what the client logged (a failed request shows there) and what the page shows.
        await shot('06-quickfix-missing');
        await page.keyboard.press('Escape');
        await runCommand(page, 'lockpath: Show Output');
        const log = await page
          .locator('.panel .monaco-editor .view-lines')
          .first()
          .innerText()
          .catch(() => '(no output view)');
        throw new Error(`${(e as Error).message}\nlockpath output:\n${log.slice(-3000)}`);
      }
      const items = menu.locator('.monaco-list-row.action');
      await items.first().waitFor();
      const titles = await items.allInnerTexts();
      assert.match(
        titles[0],
        /^Apply the 2 preferred fixes here: Check kvm->arch.pgd in kvm_age_hva/,
        titles.join('\n'),
      );
      assert.ok(
        titles.some((t) => /^Check kvm->arch.pgd in kvm_age_hva \(mmu-notifier hook\)/.test(t)),
        titles.join('\n'),
      );
      // The fix edits functions 600 lines away: it is also offered as a preview (the Refactor Preview), last.
      assert.match(titles[titles.length - 1], /^Preview: /, titles.join('\n'));
      assert.ok(
        titles.some((t) => /^Preview: Apply the 2 preferred fixes here/.test(t)),
        titles.join('\n'),
      );
      // The first entry is the focused one: Enter takes it.
      assert.match(
        (await menu.locator('.monaco-list-row.focused').first().innerText()) ?? '',
        /^Apply the 2 preferred fixes/,
      );
      await shot('06-quickfix-menu');
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'hidden' });
      const started = performance.now();
      // Once applied, lockpath reveals what changed: the guard is on screen without moving there by hand.
      const guardLine = GUARD.split('\n')[0].trim();
      const until = Date.now() + UI_MS;
      // (The guard's text is also elsewhere in mmu.c: the hook it went into must be on screen with it.)
      const revealed = (lines: string[]): boolean =>
        lines.includes(guardLine) && lines.some((l) => /^int kvm_(test_)?age_hva\(/.test(l));
      let shown = (await viewLines()).map((l) => l.text.trim());
      while (!revealed(shown) && Date.now() < until) {
        await page.waitForTimeout(100);
        shown = (await viewLines()).map((l) => l.text.trim());
      }
      assert.ok(revealed(shown), `the edit revealed:\n${shown.join('\n')}`);
      assert.ok(
        !shown.some((l) => l === mmuText.split('\n')[deref.line].trim()),
        'the view moved away from the race to the edit',
      );
      await statusItem('lockpath.lockpath').filter({ hasText: 'lockpath: no races' }).waitFor({ timeout: ANALYSIS_MS });
      timings().reanalysisMs = performance.now() - started;
      await statusItem('status.problems').and(page.locator('[aria-label="No Problems"]')).waitFor();
      await editor().locator('.squiggly-error').first().waitFor({ state: 'detached' });

      // The guard is in kvm_age_hva, as the editor shows it.
      const age = locate(mmuText, 'int kvm_age_hva(');
      await goTo(age.line + 1);
      const lines = (await viewLines()).map((l) => l.text);
      const start = lines.findIndex((l) => l.startsWith('int kvm_age_hva('));
      assert.ok(start >= 0, lines.join('\n'));
      const body = lines.slice(start, start + 14);
      const end = body.findIndex((l) => l === '}');
      const fn = body.slice(0, end + 1).join('\n');
      // The view shows tabs as spaces: compare the guard with its indentation normalised.
      const guard = GUARD.split('\n').map((l) => l.trim());
      const at = body.findIndex((l) => l.trim() === guard[0]);
      assert.ok(at > 0 && body[at + 1].trim() === guard[1], `the guard in kvm_age_hva:\n${fn}`);
      await editor()
        .locator('.codelens-decoration')
        .filter({ hasText: 'mmu notifier · safe: checked in kvm_age_hva', visible: true })
        .first()
        .waitFor();
      await shot('07-fixed');
    });

    it('the page raised no uncaught script error', () => {
      ready();
      assert.deepEqual(session!.pageErrors, []);
    });
  },
);
