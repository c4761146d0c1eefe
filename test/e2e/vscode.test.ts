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
import { ANALYSIS_MS, editorOf, explorerRows as explorerRowsOf, expand as expandIn, goTo as goToIn, locate, useCodeServer, statusItem as statusItemOf, type CodeServer } from './codeserver';
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

describe('VS Code (code-server + chromium) with the packaged lockpath extension on examples/v4.12', { timeout: 420_000 }, () => {
  let session: CodeServer | undefined;
  let page: Page;
  let mmuText: string;
  const ready = useCodeServer(
    'vscode',
    {
      shots: SHOTS,
      clearShots: ['01-workbench', '02-squiggle', '03-problems', '04-codelens', '05-hover', '06-quickfix-menu', '07-fixed'],
      // What each phase took, beside the screenshots (the README's test timings come from here).
      beforeClose: (s) => writeFileSync(join(SHOTS, 'timings.json'), `${JSON.stringify(Object.fromEntries(Object.entries(s.timings).map(([k, v]) => [k, Math.round(v)])), null, 2)}\n`),
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
        .map((l) => ({ top: l.getBoundingClientRect().top, bottom: l.getBoundingClientRect().bottom, text: (l.textContent ?? '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top);
    });
  }

  // ---- the steps -------------------------------------------------------------------------------------------
  it('installs the packaged .vsix into code-server and opens the example folder in chromium', async () => {
    ready();
    await shot('01-workbench');
    const names = await explorerRows().evaluateAll((els) => els.map((e) => (e as unknown as { getAttribute(n: string): string | null }).getAttribute('aria-label')));
    assert.ok(names.includes('virt') && names.includes('arch'), `the example's folders in the Explorer: ${names.join(', ')}`);
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
    await editor().locator('.codelens-decoration').filter({ hasText: 'mmu notifier · race', visible: true }).first().waitFor({ timeout: ANALYSIS_MS });
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
    assert.equal(under.line.trim(), mmuText.split('\n')[deref.line].trim(), 'the squiggle is on the dereference line of stage2_get_pud');
    assert.match(under.spanned, /\*?pgd/, `the squiggle spans the dereference, got "${under.spanned}"`);
    await shot('02-squiggle');
  });

  it('counts the problem in the status bar and the Problems panel, the race standing for 3 findings', async () => {
    ready();
    // The lockpath status bar item counts findings; the Problems count is VS Code's (one diagnostic per place).
    const lockpath = statusItem('lockpath.lockpath');
    await lockpath.filter({ hasText: 'lockpath: 3 races' }).waitFor({ timeout: ANALYSIS_MS });
    assert.match((await statusItem('status.problems').getAttribute('aria-label')) ?? '', /^Errors: 1\b/);
    await page.keyboard.press('Control+Shift+M');
    const panel = page.locator('.markers-panel');
    await panel.waitFor();
    const tab = page.locator('.action-item', { has: page.locator('.badge-content') }).filter({ hasText: /problems/i });
    await tab.locator('.badge-content', { hasText: /^1$/ }).waitFor();
    const row = panel.locator('.monaco-list-row').filter({ hasText: 'kvm->arch.pgd may be NULL here' });
    await row.first().waitFor();
    const label = (await row.first().getAttribute('aria-label')) ?? '';
    assert.match(label, /^Error: /);
    assert.match(label, /reached from 3 entries: mmu notifier kvm_age_hva \(clear_flush_young\); mmu notifier kvm_age_hva \(clear_young\); mmu notifier kvm_test_age_hva \(test_young\)/);
    assert.match(await panel.innerText(), /lockpath\s*\(?\s*unguarded-notifier-path/, 'source and class code shown');
    assert.equal(await panel.locator('.monaco-list-row', { hasText: /^Error|kvm->arch.pgd may be NULL/ }).count() >= 1, true);
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
      const lines = Array.from(root.querySelectorAll('.view-lines .view-line')).sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
      return Array.from(root.querySelectorAll('.codelens-decoration')).map((l) => {
        const bottom = l.getBoundingClientRect().bottom;
        const below = lines.find((v) => v.getBoundingClientRect().top >= bottom - 2);
        return { text: text(l), below: below ? text(below) : '' };
      });
    });
    const above = lenses.filter((l) => l.below.startsWith('int kvm_age_hva('));
    assert.equal(above.length, 1, `one lens row above kvm_age_hva: ${JSON.stringify(lenses)}`);
    assert.match(above[0].text, /^mmu notifier · race: pgd may be freed/);
    await shot('04-codelens');
  });

  it('hover on kvm_set_spte_hva shows its chain and the safe verdict', async () => {
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
    await hover.first().evaluate((el) =>
      new Promise<void>((resolve) => {
        const done = (): boolean => (el as unknown as El).getAnimations({ subtree: true }).every((a) => a.playState !== 'running');
        const t = Date.now();
        const poll = (): void => (done() || Date.now() - t > 5000 ? resolve() : void setTimeout(poll, 20));
        poll();
      }),
    );
    const text = await hover.first().innerText();
    assert.match(text, /^kvm_set_spte_hva: 1 stage-2 chain; mmu notifier · safe/);
    assert.match(text, /safe · mmu notifier kvm_set_spte_hva via kvm_mmu_notifier_ops\.change_pte/);
    assert.match(text, /path: kvm_mmu_notifier_change_pte → kvm_set_spte_hva → handle_hva_to_gpa → kvm_set_spte_handler → stage2_set_pte → stage2_get_pmd → stage2_get_pud/);
    assert.match(text, /reason: guarded: kvm_set_spte_hva tests/);
    assert.match(text, /locks held in kvm_set_spte_hva: kvm->mmu_lock/);
    await shot('05-hover');
    await page.keyboard.press('Escape');
    await page.mouse.move(0, 0);
    await hover.first().waitFor({ state: 'hidden' });
  });

  it('the first quick fix from the light-bulb menu (Ctrl+. Enter) inserts the guard and clears the problem', async () => {
    ready();
    const deref = derefAt();
    await goTo(deref.line + 1, deref.column + 1);
    await page.keyboard.press('Control+.');
    const menu = page.locator('.action-widget');
    await menu.waitFor({ timeout: ANALYSIS_MS });
    const items = menu.locator('.monaco-list-row.action');
    await items.first().waitFor();
    const titles = await items.allInnerTexts();
    assert.match(titles[0], /^Apply the 2 preferred fixes here: Check kvm->arch.pgd in kvm_age_hva/, titles.join('\n'));
    assert.ok(titles.some((t) => /^Check kvm->arch.pgd in kvm_age_hva \(mmu-notifier hook\)/.test(t)), titles.join('\n'));
    // The first entry is the focused one: Enter takes it.
    assert.match((await menu.locator('.monaco-list-row.focused').first().innerText()) ?? '', /^Apply the 2 preferred fixes/);
    await shot('06-quickfix-menu');
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden' });

    const started = performance.now();
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
    await editor().locator('.codelens-decoration').filter({ hasText: 'mmu notifier · safe: checked in kvm_age_hva', visible: true }).first().waitFor();
    await shot('07-fixed');
  });

  it('the page raised no uncaught script error', () => {
    ready();
    assert.deepEqual(session!.pageErrors, []);
  });
});
