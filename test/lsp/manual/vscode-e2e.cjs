// Manual end-to-end check of the packaged extension in real VS Code: code-server 4.100.3 (VS Code 1.100.3) driven
// by headless Chromium. Not part of `node --test` (it needs code-server, Chromium and playwright-core, none of
// which the project depends on). Setup, as in ../../../../shared/notes/real-editors.md (about 2 minutes):
//   apt-get install -y --no-install-recommends chromium build-essential pkg-config libkrb5-dev libx11-dev \
//     libxkbfile-dev libsecret-1-dev ripgrep
//   mkdir -p $E2E_DIR && cd $E2E_DIR && npm init -y
//   put a tarball holding `rg` at $TMPDIR/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
//   npm_config_yes=true npm install code-server@4.100.3 playwright-core
//   npm install-scripts approve code-server argon2 && npm_config_yes=true npm rebuild --unsafe-perm code-server argon2
// Run: npm run package && E2E_DIR=... node test/lsp/manual/vscode-e2e.cjs   (exit 1 on any failed check;
// screenshots land in $E2E_DIR). Opens a copy of examples/v4.12, never the repository's own files.
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const E2E = process.env.E2E_DIR;
if (!E2E) {
  console.error('set E2E_DIR to the folder where code-server and playwright-core are installed');
  process.exit(2);
}
const REPO = path.resolve(__dirname, '..', '..', '..');
const VSIX = process.env.VSIX ?? path.join(REPO, 'dist', 'lockpath.vsix');
const { chromium } = require(path.join(E2E, 'node_modules', 'playwright-core'));
const RUN = fs.mkdtempSync('/tmp/e2e-run-');
const WS = path.join(RUN, 'ws');
fs.cpSync(path.join(REPO, 'examples', 'v4.12'), WS, { recursive: true });
const env = {
  ...process.env,
  HOME: path.join(RUN, 'home'),
  XDG_CONFIG_HOME: path.join(RUN, 'cfg'),
  XDG_DATA_HOME: path.join(RUN, 'data'),
  XDG_CACHE_HOME: path.join(RUN, 'cache'),
  TMPDIR: path.join(RUN, 'tmp'),
};
for (const d of ['home', 'cfg', 'data', 'cache', 'tmp']) fs.mkdirSync(path.join(RUN, d), { recursive: true });
const entry = path.join(E2E, 'node_modules/code-server/out/node/entry.js');
const common = ['--user-data-dir', path.join(RUN, 'ud'), '--extensions-dir', path.join(RUN, 'ext')];
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
const t0 = Date.now();

(async () => {
  const inst = spawnSync(process.execPath, [entry, ...common, '--install-extension', VSIX], {
    env,
    encoding: 'utf8',
    timeout: 120000,
  });
  log('install', inst.status, inst.stdout.trim().split('\n').slice(-2).join(' | '), inst.stderr.slice(-300));
  const port = 18000 + Math.floor(Math.random() * 1000);
  // User settings: make the lenses and hints visible, no welcome pages.
  fs.mkdirSync(path.join(RUN, 'ud', 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(RUN, 'ud', 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'editor.inlayHints.enabled': 'on',
      'lockpath.trace.server': 'off',
    }),
  );
  const cs = spawn(
    process.execPath,
    [
      entry,
      ...common,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      WS,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let csOut = '';
  cs.stdout.on('data', (d) => (csOut += d));
  cs.stderr.on('data', (d) => (csOut += d));
  const results = {};
  let browser;
  try {
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (r.ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    log('code-server up');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-dev-shm-usage',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WS)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    log('workbench');
    await page.waitForTimeout(3000);
    // Quick open mmu.c
    await page.keyboard.press('Control+P');
    await page.waitForTimeout(500);
    await page.keyboard.type('virt/kvm/arm/mmu.c');
    await page.waitForTimeout(1500);
    await page.keyboard.press('Enter');
    const statusText = async () =>
      (await page.locator('.statusbar').innerText()).split('\n').filter((l) => /lockpath/.test(l));
    await page.waitForFunction(
      () => /lockpath: 3 races/.test(document.querySelector('.statusbar')?.textContent ?? ''),
      null,
      { timeout: 90000 },
    );
    log('status says 3 races');
    results.status = await statusText();
    // Go to kvm_age_hva (line 1008) and read its lens.
    const gotoLine = async (l, c = 1) => {
      await page.keyboard.press('Control+G');
      await page.waitForTimeout(300);
      await page.keyboard.type(`${l}:${c}`);
      await page.keyboard.press('Enter');
      await page.waitForTimeout(1200);
    };
    await gotoLine(411, 32);
    await page.waitForSelector('.squiggly-error', { timeout: 30000 });
    results.squiggles = await page.locator('.squiggly-error').count();
    await page.screenshot({ path: path.join(E2E, 'squiggle.png') });
    await gotoLine(1008, 5);
    results.lenses = await page.locator('.codelens-decoration').allInnerTexts();
    results.inlays = (await page.locator('.view-lines').innerText())
      .split('\n')
      .filter((l) => /mmu notifier ·/.test(l))
      .slice(0, 3);
    // Hover on kvm_age_hva's name.
    const name = page.locator('.view-line span', { hasText: /^kvm_age_hva$/ }).first();
    const box = await name.boundingBox();
    if (box) {
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForSelector('.monaco-hover-content', { timeout: 15000 }).catch(() => {});
      await page.waitForTimeout(1500);
      const hover = await page.locator('.monaco-hover-content').allInnerTexts();
      results.hover = hover.join('\n').slice(0, 600);
      results.hoverTable = (await page.locator('.monaco-hover-content table').count()) > 0;
      await page.screenshot({ path: path.join(E2E, 'hover.png') });
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
    }
    // Quick fix at the dereference (line 411, column 31).
    await gotoLine(411, 32);
    await page.keyboard.press('Control+.');
    await page.waitForTimeout(1500);
    results.quickFixMenu = (await page.locator('.action-widget').allInnerTexts()).join(' | ').slice(0, 500);
    await page.screenshot({ path: path.join(E2E, 'quickfix.png') });
    await page.keyboard.press('Enter');
    log('fix applied');
    await page
      .waitForFunction(() => document.querySelectorAll('.squiggly-error').length === 0, null, { timeout: 60000 })
      .then(() => (results.squigglesAfterFix = 0))
      .catch(async () => (results.squigglesAfterFix = await page.locator('.squiggly-error').count()));
    await page.waitForTimeout(2000);
    await gotoLine(1008, 5);
    results.lensesAfterFix = await page.locator('.codelens-decoration').allInnerTexts();
    results.statusAfterFix = (await page.locator('.statusbar').innerText())
      .split('\n')
      .filter((l) => /lockpath/.test(l));
    // Commands in the palette.
    await page.keyboard.press('F1');
    await page.waitForTimeout(500);
    await page.keyboard.type('lockpath');
    await page.waitForTimeout(1000);
    results.palette = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    await page.keyboard.press('Escape');
    // Race timeline through the palette on the undone fix: undo first.
    await page.keyboard.press('Control+Z');
    await page.waitForSelector('.squiggly-error', { timeout: 60000 }).catch(() => {});
    await page.waitForTimeout(1000);
    await gotoLine(1008, 5);
    const lens = page.locator('.codelens-decoration a:visible', { hasText: /race/ }).first();
    if (await lens.count()) {
      await lens.click();
      await page.waitForTimeout(2500);
      results.timelineTab = (await page.locator('.tabs-container').allInnerTexts())
        .join('\n')
        .split('\n')
        .filter((l) => /LP/.test(l));
      results.timelineText = (
        await page
          .locator('.editor-group-container.active .view-lines')
          .first()
          .innerText()
          .catch((e) => String(e))
      ).slice(0, 1500);
      await page.screenshot({ path: path.join(E2E, 'timeline.png') });
    }
    // Show chains (quick pick, then peek) and explain (markdown preview) from the palette, cursor on kvm_age_hva.
    const palette = async (title) => {
      await page.keyboard.press('F1');
      await page.waitForTimeout(400);
      await page.keyboard.type(title);
      await page.waitForTimeout(800);
      await page.keyboard.press('Enter');
      await page.waitForTimeout(2000);
    };
    await page
      .locator('.editor-group-container')
      .first()
      .click({ position: { x: 400, y: 300 } })
      .catch(() => {});
    await gotoLine(1008, 6);
    await palette('lockpath: Show Stage-2 Chains');
    results.chainsPick = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    await page.keyboard.press('Enter');
    await page.waitForTimeout(2000);
    results.peek = await page.locator('.peekview-widget').count();
    results.peekTitle = (await page.locator('.peekview-widget .peekview-title').allInnerTexts()).join(' ');
    await page.screenshot({ path: path.join(E2E, 'peek.png') });
    await page.keyboard.press('Escape');
    await gotoLine(1008, 6);
    await palette('lockpath: Explain Function');
    results.explainTabs = (await page.locator('.tabs-container').allInnerTexts())
      .join('\n')
      .split('\n')
      .filter((l) => /kvm_age_hva/.test(l));
    await page.screenshot({ path: path.join(E2E, 'explain.png') });
    await palette('lockpath: Restart Language Server');
    await page
      .waitForFunction(() => /lockpath: 3 races/.test(document.querySelector('.statusbar')?.textContent ?? ''), null, {
        timeout: 60000,
      })
      .then(() => (results.afterRestart = 'lockpath: 3 races'))
      .catch(async () => (results.afterRestart = await statusText()));
    await page.screenshot({ path: path.join(E2E, 'final.png') });
  } catch (e) {
    results.error = String(e.stack || e);
  } finally {
    console.log(JSON.stringify(results, null, 2));
    const checks = [
      ['status bar counts the races', /lockpath: 3 races/.test((results.status ?? []).join())],
      ['a squiggle at the dereference', results.squiggles >= 1],
      [
        'race lens above kvm_age_hva',
        (results.lenses ?? []).some((l) => /mmu notifier · race: pgd may be freed/.test(l)),
      ],
      ['hover with the witness table', results.hoverTable === true && /race/.test(results.hover ?? '')],
      [
        'quick fix menu, combined preferred fix first',
        /Quick Fix\nApply the 2 preferred fixes/.test(results.quickFixMenu ?? ''),
      ],
      [
        'the fix clears the races',
        results.squigglesAfterFix === 0 && /no races/.test((results.statusAfterFix ?? []).join()),
      ],
      ['commands in the palette', (results.palette ?? []).length >= 4],
      ['race timeline document from the lens', (results.timelineTab ?? []).length === 1],
      ['chains quick pick and peek', (results.chainsPick ?? []).length === 2 && results.peek === 1],
      ['explain document', (results.explainTabs ?? []).length === 1],
      ['restart keeps working', results.afterRestart === 'lockpath: 3 races'],
    ];
    for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (results.error || checks.some(([, ok]) => !ok)) process.exitCode = 1;
    await browser?.close();
    cs.kill('SIGTERM');
    setTimeout(() => cs.kill('SIGKILL'), 3000).unref();
    if (results.error) console.log(csOut.slice(-3000));
    const logs = spawnSync(
      'bash',
      ['-c', `find ${RUN}/ud/logs -name '*lockpath*' -o -name '*exthost*.log' | head -5 | xargs -r tail -n 30`],
      { encoding: 'utf8' },
    );
    console.log(logs.stdout.slice(-4000));
  }
})();
