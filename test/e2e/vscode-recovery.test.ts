// Crash recovery in real VS Code (code-server + chromium, set up as in vscode.test.ts): the lockpath server
// process, found through /proc by its command line, is killed with SIGKILL while mmu.c is open. The client starts
// a new one, the diagnostics come back, and the user is told once. Killed again until past the bound (4 restarts
// in 3 minutes), it stays down and the user is told once more, that it gave up: no restart loop, no pile of
// notices. Screenshots go to test-output/vscode-recovery/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { MAX_RESTARTS, RESTARTED_MESSAGE } from '../../client/src/recovery';
import { repoRoot } from '../helpers';
import {
  ANALYSIS_MS,
  goTo,
  locate,
  openFromExplorer,
  runCommand,
  useCodeServer,
  statusItem,
  type CodeServer,
} from './codeserver';
import { MMU } from './editors';

const SHOTS = join(repoRoot, 'test-output', 'vscode-recovery');

/** Live lockpath server processes started from this session's extensions folder (the analysis worker is a
 *  thread of the same process). */
function serverPids(extensionsDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      // A killed process lingers as a zombie until its parent reaps it: not alive.
      if (/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) continue;
    } catch {
      continue; // gone meanwhile
    }
    if (argv.some((a) => a.startsWith(extensionsDir) && a.endsWith(join('dist', 'server', 'server.js'))))
      pids.push(Number(name));
  }
  return pids;
}

async function until<T>(what: string, ms: number, probe: () => T | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('VS Code: the lockpath server killed mid-session', { timeout: 600_000 }, () => {
  let session: CodeServer | undefined;
  let page: Page;
  const ready = useCodeServer('vscode-recovery', { shots: SHOTS }, (s) => {
    session = s;
    page = s.page;
  });
  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`) });
  const lockpathStatus = (): ReturnType<typeof statusItem> => statusItem(page, 'lockpath.lockpath');
  const squiggle = (): ReturnType<typeof statusItem> =>
    page.locator('.editor-group-container .monaco-editor .squiggly-error').first();
  const onlyServer = (): number | undefined => {
    const pids = serverPids(session!.extensionsDir);
    assert.ok(pids.length <= 1, `one lockpath server at a time: ${pids.join(', ')}`);
    return pids[0];
  };
  /** Kills the one server and returns its pid. */
  const kill = (): number => {
    const pid = onlyServer();
    assert.ok(pid, 'a lockpath server is running');
    process.kill(pid, 'SIGKILL');
    return pid;
  };
  /** The notifications' messages, as the notification centre lists them (toasts hide after a while). */
  const notices = async (): Promise<string[]> => {
    const center = page.locator('.notifications-center');
    if (!(await center.isVisible())) await runCommand(page, 'Notifications: Show Notifications');
    await center.waitFor();
    const texts = await center.locator('.notification-list-item-message').allInnerTexts();
    await page.keyboard.press('Escape');
    return texts;
  };

  it('opens mmu.c and shows its races, served by one lockpath server process', async () => {
    ready();
    await openFromExplorer(page, ['virt', 'kvm', 'arm'], 'mmu.c');
    // Squiggles are drawn for visible lines only: show the dereference in stage2_get_pud.
    const text = readFileSync(join(session!.box.root, MMU), 'utf8');
    const deref = locate(text, 'stage2_pgd_none(*pgd)', locate(text, 'stage2_get_pud(struct kvm').line + 1);
    await goTo(page, deref.line + 1);
    await squiggle().waitFor({ timeout: ANALYSIS_MS });
    await lockpathStatus().filter({ hasText: 'lockpath: 1 race (3 entries)' }).waitFor({ timeout: ANALYSIS_MS });
    assert.match((await statusItem(page, 'status.problems').getAttribute('aria-label')) ?? '', /^Errors: 1\b/);
    assert.ok(onlyServer(), 'the server process is found by its command line');
  });

  it('after kill -9 a new server starts, the diagnostics come back, and the user is told once', async () => {
    ready();
    for (let round = 1; round <= 2; round++) {
      const killed = kill();
      const started = performance.now();
      const next = await until(`a new lockpath server after killing ${killed}`, 60_000, () => {
        const pid = onlyServer();
        return pid !== undefined && pid !== killed && pid;
      });
      // The status is reset when the connection drops and counts races again only when the new server has
      // analysed and published: what shows from here on is the new server's.
      await lockpathStatus().filter({ hasNotText: 'race' }).waitFor({ timeout: 30_000 });
      await lockpathStatus().filter({ hasText: 'lockpath: 1 race (3 entries)' }).waitFor({ timeout: ANALYSIS_MS });
      await squiggle().waitFor({ timeout: ANALYSIS_MS });
      assert.match((await statusItem(page, 'status.problems').getAttribute('aria-label')) ?? '', /^Errors: 1\b/);
      console.log(
        `# round ${round}: server ${killed} killed, ${next} serving again after ${Math.round(performance.now() - started)} ms`,
      );
    }
    await shot('01-recovered');
    const told = (await notices()).filter((t) => t.includes('stopped unexpectedly and was restarted'));
    assert.deepEqual(told, [RESTARTED_MESSAGE], 'one notice for two restarts');
  });

  it(`killed past the bound (${MAX_RESTARTS} restarts in 3 minutes) it stays down and says so once`, async () => {
    ready();
    // Two deaths so far; restarts left: MAX_RESTARTS - 2, then the one that ends it.
    for (let i = 0; i < MAX_RESTARTS - 2; i++) {
      const killed = kill();
      await until('a new lockpath server', 60_000, () => {
        const pid = onlyServer();
        return pid !== undefined && pid !== killed;
      });
      await lockpathStatus().filter({ hasText: 'lockpath: 1 race (3 entries)' }).waitFor({ timeout: ANALYSIS_MS });
    }
    kill();
    await lockpathStatus().locator('.codicon-error').waitFor({ timeout: 30_000 });
    // Long enough for a restart to have shown up (one takes well under this here).
    await new Promise((r) => setTimeout(r, 10_000));
    assert.deepEqual(serverPids(session!.extensionsDir), [], 'no server was started again');
    const all = await notices();
    assert.equal(all.filter((t) => /will not be restarted/.test(t)).length, 1, all.join('\n'));
    assert.match(
      all.find((t) => /will not be restarted/.test(t)) ?? '',
      /^lockpath: the language server stopped 5 times within 3 minutes and will not be restarted\. Run "lockpath: Restart Language Server" to try again/,
    );
    assert.equal(all.filter((t) => t.includes('was restarted')).length, 1, 'still one restart notice');
    assert.equal(
      all.filter((t) => /lockpath|server/i.test(t)).length,
      2,
      `no other notice from lockpath or the client library:\n${all.join('\n')}`,
    );
    await shot('02-gave-up');
  });

  it('"lockpath: Restart Language Server" brings it back after giving up', async () => {
    ready();
    await runCommand(page, 'lockpath: Restart Language Server');
    await until('a lockpath server after the manual restart', 60_000, () => onlyServer());
    await lockpathStatus().filter({ hasText: 'lockpath: 1 race (3 entries)' }).waitFor({ timeout: ANALYSIS_MS });
    assert.deepEqual(session!.pageErrors, []);
  });
});
