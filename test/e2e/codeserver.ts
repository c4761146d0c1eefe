// Shared by the VS Code tests: the packaged .vsix installed into code-server (VS Code 1.100.3 in the browser, from
// scripts/setup-editors.sh), a scratch copy of the bundled example opened in it, the workbench in Debian's
// chromium through playwright-core, and the page helpers the tests drive it with. Workspace trust is off unless a
// test asks for the folder untrusted. A missing code-server, chromium or playwright-core fails by name;
// code-server's whole process group is killed on close.
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { repoRoot } from '../helpers';
import { CHROMIUM, FLAGS, playwright } from './chromium';
import { editorsPrefix, killGroup, requireBuild, runBounded, sandbox, SETUP_HINT, type Sandbox } from './editors';

export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER = join(editorsPrefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
/** The bound of a wait on the analysis (first results take a few seconds here; CI machines may be slower). */
export const ANALYSIS_MS = 120_000;
/** The bound of a wait on plain UI (a menu, a widget, a row). */
export const UI_MS = 20_000;

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

export interface CodeServer {
  box: Sandbox;
  /** Where the .vsix was installed: the lockpath server runs from under here. */
  extensionsDir: string;
  page: Page;
  pageErrors: string[];
  timings: Record<string, number>;
  /** The end of code-server's log, for failure messages. */
  logTail(): string;
  close(): Promise<void>;
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

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Workspace trust checked, as a stock VS Code does, but with no start-up prompt and no folder trusted yet: the
 *  folder opens in Restricted Mode. */
const UNTRUSTED_SETTINGS = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
  'security.workspace.trust.emptyWindow': false,
};

export interface StartOptions {
  /** Open the folder untrusted (Restricted Mode) instead of with workspace trust switched off. */
  untrusted?: boolean;
  /** Files written into the example copy before code-server starts, by path relative to its root. */
  files?: Record<string, string>;
}

export interface SuiteOptions extends StartOptions {
  /** The suite's screenshot folder (made if missing) and the screenshots to remove first, so none is stale. */
  shots: string;
  clearShots?: string[];
  /** Runs before code-server is closed (while the session is still up). */
  beforeClose?: (session: CodeServer) => void;
}

/**
 * One code-server for a describe() block: started in `before` (`started` receives the session), closed in `after`.
 * A start that fails does not fail the hook: `ready()`, called first in each test, throws it, so every test says why.
 */
export function useCodeServer(name: string, options: SuiteOptions, started: (session: CodeServer) => void): () => void {
  let session: CodeServer | undefined;
  let setupError: Error | undefined;
  before(async () => {
    try {
      mkdirSync(options.shots, { recursive: true });
      for (const f of options.clearShots ?? []) rmSync(join(options.shots, `${f}.png`), { force: true });
      session = await startCodeServer(name, options);
      started(session);
    } catch (e) {
      setupError = e as Error;
    }
  });
  after(async () => {
    if (session) options.beforeClose?.(session);
    await session?.close();
  });
  return () => {
    if (setupError) throw setupError;
  };
}

/** Packages and installs the extension, starts code-server on the example and opens it in chromium. On failure
 *  everything started so far is stopped and the error carries the end of code-server's log. */
export async function startCodeServer(name: string, options: StartOptions = {}): Promise<CodeServer> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const pageErrors: string[] = [];
  // What this needs, each named when missing.
  if (!existsSync(CODE_SERVER))
    throw new Error(`code-server ${CODE_SERVER_VERSION} is missing: no ${CODE_SERVER}; ${SETUP_HINT}`);
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is missing: no ${CHROMIUM}; ${SETUP_HINT}`);
  const pw = playwright();
  requireBuild();
  const box = sandbox(name);
  for (const [path, text] of Object.entries(options.files ?? {})) writeFileSync(join(box.root, path), text);
  let server: ChildProcess | undefined;
  let serverExit: string | undefined;
  let context: BrowserContext | undefined;
  let logFd: number | undefined;
  const logFile = join(box.dir, 'code-server.log');
  const logTail = (): string =>
    existsSync(logFile)
      ? `\ncode-server log (end):\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`
      : '';

  const close = async (): Promise<void> => {
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
    logFd = undefined;
    rmSync(box.dir, { recursive: true, force: true });
  };

  try {
    // The .vsix: LOCKPATH_VSIX if given, else packaged now from the current build, as `npm run package` does
    // (npm test has just built dist/, which `npm run build` wipes, .vsix included).
    let vsix = process.env.LOCKPATH_VSIX ?? '';
    if (!vsix) {
      vsix = join(box.dir, 'lockpath.vsix');
      const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
      if (!existsSync(vsce)) throw new Error(`@vscode/vsce is missing (a devDependency: run \`npm ci\`): no ${vsce}`);
      const r = await runBounded(
        process.execPath,
        [vsce, 'package', '--no-dependencies', '--readme-path', 'MARKETPLACE.md', '--out', vsix],
        { cwd: repoRoot, env: box.env, ms: 120_000 },
      );
      if (r.code !== 0 || !existsSync(vsix))
        throw new Error(`vsce package failed (exit ${r.code}): ${r.stdout.slice(-1500)}${r.stderr.slice(-1500)}`);
    }
    timings.packageMs = performance.now() - t0;

    const userData = join(box.dir, 'user-data');
    const extensionsDir = join(box.dir, 'extensions');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(
      join(userData, 'User', 'settings.json'),
      JSON.stringify(options.untrusted ? { ...SETTINGS, ...UNTRUSTED_SETTINGS } : SETTINGS, null, 2),
    );
    const common = ['--user-data-dir', userData, '--extensions-dir', extensionsDir];
    const install = await runBounded(process.execPath, [CODE_SERVER, ...common, '--install-extension', vsix], {
      cwd: box.dir,
      env: box.env,
      ms: 120_000,
    });
    if (install.code !== 0)
      throw new Error(
        `code-server --install-extension failed (exit ${install.code}): ${install.stdout}${install.stderr}`,
      );
    const list = await runBounded(process.execPath, [CODE_SERVER, ...common, '--list-extensions', '--show-versions'], {
      cwd: box.dir,
      env: box.env,
      ms: 60_000,
    });
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    if (!list.stdout.includes(`lockpath.lockpath@${version}`))
      throw new Error(`the extension is not listed after installing ${vsix}: ${list.stdout}${list.stderr}`);
    timings.installMs = performance.now() - t0 - timings.packageMs;

    // code-server in its own process group (killed whole on close), on a free loopback port.
    const port = await freePort();
    logFd = openSync(logFile, 'a');
    const trustFlags = options.untrusted ? [] : ['--disable-workspace-trust'];
    server = spawn(
      process.execPath,
      [
        CODE_SERVER,
        '--bind-addr',
        `127.0.0.1:${port}`,
        '--auth',
        'none',
        '--disable-telemetry',
        '--disable-update-check',
        ...trustFlags,
        '--disable-getting-started-override',
        ...common,
        box.root,
      ],
      { cwd: box.dir, env: box.env, stdio: ['ignore', logFd, logFd], detached: true },
    );
    server.on('exit', (code, signal) => (serverExit = `exit ${code ?? signal}`));
    const base = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      if (serverExit) throw new Error(`code-server stopped during start-up (${serverExit})`);
      const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.ok,
        () => false,
      );
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
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/?folder=${encodeURIComponent(box.root)}`, {
      waitUntil: 'domcontentloaded',
      timeout: 60_000,
    });
    await explorerRows(page).first().waitFor({ timeout: 90_000 });
    timings.workbenchMs = performance.now() - t0 - timings.packageMs - timings.installMs - timings.serverMs;
    return { box, extensionsDir, page, pageErrors, timings, logTail, close };
  } catch (e) {
    const tail = logTail();
    await close();
    throw new Error(`${(e as Error).message}${tail}`);
  }
}

// ---- page helpers --------------------------------------------------------------------------------------------

export const explorerRows = (page: Page): Locator => page.locator('.explorer-folders-view .monaco-list-row');
export const editorOf = (page: Page): Locator => page.locator('.editor-group-container .monaco-editor').first();
/** The status bar item with this id (its aria-label holds its full text). */
export const statusItem = (page: Page, id: string): Locator => page.locator(`.statusbar-item[id="${id}"]`);

/** Expands a folder row of the Explorer (a click can land while the tree is still loading: retried, bounded). */
export async function expand(page: Page, name: string): Promise<void> {
  const row = explorerRows(page).and(page.locator(`[aria-label="${name}"]`));
  const open = explorerRows(page).and(page.locator(`[aria-label="${name}"][aria-expanded="true"]`));
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

/** Opens a file from the Explorer by its folders and name, and waits for its editor. */
export async function openFromExplorer(page: Page, folders: string[], file: string): Promise<void> {
  for (const folder of folders) await expand(page, folder);
  await explorerRows(page)
    .and(page.locator(`[aria-label="${file}"]`))
    .click();
  await page.locator('.tab.active', { hasText: file }).waitFor();
  await editorOf(page).locator('.view-line').first().waitFor();
}

/** Go to Line/Column (Ctrl+G), one-based like the widget. */
export async function goTo(page: Page, line: number, column?: number): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`:${line}${column ? `:${column}` : ''}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
  // The status bar counts columns with tabs expanded: the line is what can be checked.
  await page.locator('.statusbar-item', { hasText: new RegExp(`^Ln ${line}, Col \\d+`) }).waitFor();
}

/** Runs a command from the palette (F1) by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
}

/** Zero-based line of the first line containing `needle`, and the column of `needle` in it. */
export function locate(text: string, needle: string, after = 0): { line: number; column: number } {
  const lines = text.split('\n');
  for (let i = after; i < lines.length; i++) {
    const c = lines[i].indexOf(needle);
    if (c >= 0) return { line: i, column: c };
  }
  throw new Error(`not in the text: ${needle}`);
}
