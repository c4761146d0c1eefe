// lockpath in real VS Code: the packaged .vsix installed into code-server (VS Code 1.100.3 in the browser, from
// scripts/setup-editors.sh), a scratch copy of the bundled example opened in it, and the workbench driven through
// Debian's chromium with playwright-core, as a person would: Explorer, Go to Line, mouse hover, Ctrl+. and Enter.
// Everything checked is read from the page (squiggles, the Problems panel, status bar, code lenses, the hover, the
// light-bulb menu, the edited text). A screenshot of each step goes to test-output/vscode/.
// A missing code-server, chromium or playwright-core fails the test by name: a silent pass would hide that nothing
// was checked. Waits are on the page's own signals, each with a bound; code-server's process group is killed after.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { repoRoot } from '../helpers';
import { editorsPrefix, GUARD, killGroup, MMU, requireBuild, runBounded, sandbox, SETUP_HINT, type Sandbox } from './editors';

const CODE_SERVER_VERSION = '4.100.3';
const CODE_SERVER = join(editorsPrefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
const SHOTS = join(repoRoot, 'test-output', 'vscode');
/** The bound of a wait on the analysis (first results take a few seconds here; CI machines may be slower). */
const ANALYSIS_MS = 120_000;
/** The bound of a wait on plain UI (a menu, a widget, a row). */
const UI_MS = 20_000;

/** User settings for a quiet, deterministic workbench. */
const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.restoreWindows': 'none',
  // One Explorer row per folder, so each can be clicked by its name.
  'explorer.compactFolders': false,
  'editor.codeLens': true,
  'editor.hover.enabled': true,
  'editor.hover.delay': 200,
};

function playwright(): typeof import('playwright-core') {
  try {
    return createRequire(join(repoRoot, 'package.json'))('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is missing (a devDependency: run \`npm ci\` in ${repoRoot}): ${(e as Error).message}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Zero-based line of the first line containing `needle`, and the column of `needle` in it. */
function locate(text: string, needle: string, after = 0): { line: number; column: number } {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) {
    const c = lines[i].indexOf(needle);
    if (c >= 0) return { line: i, column: c };
  }
  throw new Error(`not in mmu.c: ${needle}`);
}

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
  let box: Sandbox | undefined;
  let server: ChildProcess | undefined;
  let serverExit: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let mmuText: string;
  let logFile = '';
  let logFd: number | undefined;
  const pageErrors: string[] = [];
  const timings: Record<string, number> = {};
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError) throw setupError;
  };

  before(async () => {
    try {
      await setUp();
    } catch (e) {
      setupError = new Error(`${(e as Error).message}${logTail()}`);
    }
  });

  function logTail(): string {
    return logFile && existsSync(logFile) ? `\ncode-server log (end):\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}` : '';
  }

  async function setUp(): Promise<void> {
    const t0 = performance.now();
    // What this test needs, each named when missing.
    if (!existsSync(CODE_SERVER)) throw new Error(`code-server ${CODE_SERVER_VERSION} is missing: no ${CODE_SERVER}; ${SETUP_HINT}`);
    if (!existsSync(CHROMIUM)) throw new Error(`chromium is missing: no ${CHROMIUM}; ${SETUP_HINT}`);
    const pw = playwright();
    requireBuild();
    box = sandbox('vscode');
    mmuText = readFileSync(join(box.root, MMU), 'utf8');
    mkdirSync(SHOTS, { recursive: true });
    for (const f of ['01-workbench', '02-squiggle', '03-problems', '04-codelens', '05-hover', '06-quickfix-menu', '07-fixed']) rmSync(join(SHOTS, `${f}.png`), { force: true });

    // The .vsix: LOCKPATH_VSIX if given, else packaged now from the current build, as `npm run package` does
    // (npm test has just built dist/, which `npm run build` wipes, .vsix included).
    let vsix = process.env.LOCKPATH_VSIX ?? '';
    if (!vsix) {
      vsix = join(box.dir, 'lockpath.vsix');
      const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
      if (!existsSync(vsce)) throw new Error(`@vscode/vsce is missing (a devDependency: run \`npm ci\`): no ${vsce}`);
      const r = await runBounded(process.execPath, [vsce, 'package', '--no-dependencies', '--out', vsix], { cwd: repoRoot, env: box.env, ms: 120_000 });
      if (r.code !== 0 || !existsSync(vsix)) throw new Error(`vsce package failed (exit ${r.code}): ${r.stdout.slice(-1500)}${r.stderr.slice(-1500)}`);
    }
    timings.packageMs = performance.now() - t0;

    const userData = join(box.dir, 'user-data');
    const extensions = join(box.dir, 'extensions');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
    const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
    const install = await runBounded(process.execPath, [CODE_SERVER, ...common, '--install-extension', vsix], { cwd: box.dir, env: box.env, ms: 120_000 });
    if (install.code !== 0) throw new Error(`code-server --install-extension failed (exit ${install.code}): ${install.stdout}${install.stderr}`);
    const list = await runBounded(process.execPath, [CODE_SERVER, ...common, '--list-extensions', '--show-versions'], { cwd: box.dir, env: box.env, ms: 60_000 });
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    if (!list.stdout.includes(`lockpath.lockpath@${version}`)) throw new Error(`the extension is not listed after installing ${vsix}: ${list.stdout}${list.stderr}`);
    timings.installMs = performance.now() - t0 - timings.packageMs;

    // code-server in its own process group (killed whole in `after`), on a free loopback port.
    const port = await freePort();
    logFile = join(box.dir, 'code-server.log');
    logFd = openSync(logFile, 'a');
    server = spawn(
      process.execPath,
      [CODE_SERVER, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ...common, box.root],
      { cwd: box.dir, env: box.env, stdio: ['ignore', logFd, logFd], detached: true },
    );
    server.on('exit', (code, signal) => (serverExit = `exit ${code ?? signal}`));
    const base = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      if (serverExit) throw new Error(`code-server stopped during start-up (${serverExit})`);
      const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > until) throw new Error(`code-server did not answer ${base}/healthz within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    timings.serverMs = performance.now() - t0 - timings.packageMs - timings.installMs;

    context = await pw.chromium.launchPersistentContext(join(box.dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      args: FLAGS,
      headless: true,
      env: box.env,
      viewport: { width: 1600, height: 1000 },
    });
    context.setDefaultTimeout(UI_MS);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/?folder=${encodeURIComponent(box.root)}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await explorerRows().first().waitFor({ timeout: 90_000 });
    timings.workbenchMs = performance.now() - t0 - timings.packageMs - timings.installMs - timings.serverMs;
  }

  after(async () => {
    // Bounded: a browser that does not close must not hold the run (its profile is in the sandbox, removed below).
    await Promise.race([context?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 15_000).unref())]);
    if (server?.pid) {
      killGroup(server, 'SIGTERM');
      // Its children (extension hosts, the lockpath server, file watchers) take a few seconds; then force.
      const until = Date.now() + 10_000;
      while (groupAlive(server.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (groupAlive(server.pid)) killGroup(server, 'SIGKILL');
    }
    if (logFd !== undefined) closeSync(logFd);
    // What each phase took, beside the screenshots (the README's test timings come from here).
    if (existsSync(SHOTS)) writeFileSync(join(SHOTS, 'timings.json'), `${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])), null, 2)}\n`);
    if (box) rmSync(box.dir, { recursive: true, force: true });
  });

  function groupAlive(pid: number): boolean {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Where stage2_get_pud dereferences the pgd it read from kvm->arch.pgd: the `*pgd` of `stage2_pgd_none(*pgd)`. */
  function derefAt(): { line: number; column: number } {
    const def = locate(mmuText, 'stage2_get_pud(struct kvm');
    const at = locate(mmuText, 'stage2_pgd_none(*pgd)', def.line + 1);
    return { line: at.line, column: at.column + 'stage2_pgd_none('.length };
  }

  // ---- page helpers ----------------------------------------------------------------------------------------
  const explorerRows = (): Locator => page.locator('.explorer-folders-view .monaco-list-row');
  const editor = (): Locator => page.locator('.editor-group-container .monaco-editor').first();
  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`) });

  /** Expands a folder row of the Explorer (a click can land while the tree is still loading: retried, bounded). */
  async function expand(name: string): Promise<void> {
    const row = explorerRows().and(page.locator(`[aria-label="${name}"]`));
    const open = explorerRows().and(page.locator(`[aria-label="${name}"][aria-expanded="true"]`));
    for (let i = 0; ; i++) {
      if ((await row.getAttribute('aria-expanded')) === 'true') return;
      await row.click();
      try {
        await open.waitFor({ timeout: 2000 });
        return;
      } catch (e) {
        if (i >= 5) throw new Error(`the Explorer row ${name} did not expand: ${(e as Error).message}`);
      }
    }
  }

  /** Go to Line/Column (Ctrl+G), one-based like the widget. */
  async function goTo(line: number, column?: number): Promise<void> {
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`:${line}${column ? `:${column}` : ''}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
    // The status bar counts columns with tabs expanded: the line is what can be checked.
    await page.locator('.statusbar-item', { hasText: new RegExp(`^Ln ${line}, Col \\d+`) }).waitFor();
  }

  /** The editor's rendered lines, top to bottom, with their text (non-breaking spaces as spaces). */
  function viewLines(): Promise<ViewLine[]> {
    return editor().evaluate((el) => {
      const root = el as unknown as El;
      return Array.from(root.querySelectorAll('.view-lines .view-line'))
        .map((l) => ({ top: l.getBoundingClientRect().top, bottom: l.getBoundingClientRect().bottom, text: (l.textContent ?? '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top);
    });
  }

  /** The status bar item with this id (its aria-label holds its full text). */
  const statusItem = (id: string): Locator => page.locator(`.statusbar-item[id="${id}"]`);

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
    timings.firstSquiggleMs = performance.now() - started;
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
    timings.reanalysisMs = performance.now() - started;
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
    assert.deepEqual(pageErrors, []);
  });
});
