// Limited mode in real VS Code (code-server + chromium, set up as in vscode.test.ts): a copy of the example with a
// .lockpath.json that would change the results opens as an untrusted folder, in Restricted Mode (trust checked,
// no start-up prompt, nothing trusted yet). The status bar says limited, mmu.c gets the built-in model's races
// and not the model file's, and nothing shows on the model file. Granting trust from the Manage Workspace Trust
// editor then restarts lockpath in full mode, where the model file's races and its warning appear: the contrast
// shows the limited-mode checks can fail. Screenshots go to test-output/vscode-untrusted/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { repoRoot } from '../helpers';
import {
  ANALYSIS_MS,
  goTo,
  locate,
  openFromExplorer,
  runCommand,
  useCodeServer,
  statusItem,
  UI_MS,
  type CodeServer,
} from './codeserver';
import { MMU } from './editors';

const SHOTS = join(repoRoot, 'test-output', 'vscode-untrusted');
/** Drops the mm assumptions (8 more races over the folder, test/lsp/model.test.ts) and names one that does not
 *  exist, which full mode reports as a warning on this file: read, it shows in the status and in Problems. */
const MODEL =
  '{\n  "assumptions": { "vcpu-thread-pins-mm": false, "vm-ioctl-pins-mm": false, "no-such-assumption": false }\n}\n';
/** The message of the model file's own warning in full mode. */
const MODEL_WARNING = 'unknown assumption "no-such-assumption"';
/** The class of the races that only the model file's dropped assumptions produce (Problems shows the code). */
const MODEL_RACE = 'may-be-freed';

describe('VS Code: an untrusted folder gets lockpath in limited mode', { timeout: 420_000 }, () => {
  let session: CodeServer | undefined;
  let page: Page;
  const ready = useCodeServer(
    'vscode-untrusted',
    {
      untrusted: true,
      files: { '.lockpath.json': MODEL },
      shots: SHOTS,
      clearShots: ['01-limited', '02-model-file', '03-trusted'],
    },
    (s) => {
      session = s;
      page = s.page;
    },
  );
  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`) });
  const lockpathStatus = (): Locator => statusItem(page, 'lockpath.lockpath');
  const problemsLabel = async (): Promise<string> =>
    (await statusItem(page, 'status.problems').getAttribute('aria-label')) ?? '';
  /** The Problems panel's file rows (collapsed, so every file shows however many rows its problems take). */
  const problemFiles = async (): Promise<string[]> => {
    const panel = page.locator('.markers-panel');
    // Ctrl+Shift+M hides a focused Problems panel: only pressed when it is not showing.
    if (!(await panel.isVisible())) await page.keyboard.press('Control+Shift+M');
    await panel.waitFor();
    await panel.locator('.monaco-list-row').first().waitFor();
    await page.locator('.panel .title-actions .action-label[aria-label="Collapse All"]').click();
    await panel.locator('.monaco-list-row[aria-expanded="true"]').first().waitFor({ state: 'detached' });
    return (await panel.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  };
  /** The Problems panel's rows under one file, expanded alone. */
  const problemsOf = async (file: string): Promise<string> => {
    const panel = page.locator('.markers-panel');
    const row = panel.locator('.monaco-list-row', { hasText: file }).first();
    await row.click();
    await panel.locator('.monaco-list-row[aria-expanded="true"]', { hasText: file }).waitFor();
    return panel.innerText();
  };
  const hidePanel = async (): Promise<void> => {
    await page.keyboard.press('Control+J');
    await page.locator('.markers-panel').waitFor({ state: 'hidden' });
  };

  it('opens the folder in Restricted Mode', async () => {
    ready();
    // VS Code's own indicator: without it the rest would not be testing an untrusted folder.
    await statusItem(page, 'status.workspaceTrust').waitFor({ timeout: UI_MS });
    assert.match((await statusItem(page, 'status.workspaceTrust').getAttribute('aria-label')) ?? '', /Restricted Mode/);
  });

  it('analyses mmu.c with the built-in model and says limited in the status bar', async () => {
    ready();
    await openFromExplorer(page, ['virt', 'kvm', 'arm'], 'mmu.c');
    // Out of preview, so opening the model file later does not close it (a closed file's diagnostics go).
    await runCommand(page, 'View: Keep Editor');
    await page.locator('.tab.active:not(.preview)', { hasText: 'mmu.c' }).waitFor();
    const text = readFileSync(join(session!.box.root, MMU), 'utf8');
    const deref = locate(text, 'stage2_pgd_none(*pgd)', locate(text, 'stage2_get_pud(struct kvm').line + 1);
    await goTo(page, deref.line + 1);
    await page
      .locator('.editor-group-container .monaco-editor .squiggly-error')
      .first()
      .waitFor({ timeout: ANALYSIS_MS });
    // mmu.c alone with the built-in model: 3 races (the whole folder with the model file would give 11).
    await lockpathStatus()
      .filter({ hasText: 'lockpath: 1 race (3 entries) (limited)' })
      .waitFor({ timeout: ANALYSIS_MS });
    assert.match(
      (await lockpathStatus().getAttribute('aria-label')) ?? '',
      /lockpath: 1 race \(3 entries\) \(limited\)/,
    );
    // One error and no warning: a race from the model file's assumptions would be a warning.
    assert.match(await problemsLabel(), /^Errors: 1$/);
    const files = await problemFiles();
    assert.ok(files.length === 1 && files[0].startsWith('mmu.c'), `only mmu.c has problems:\n${files.join('\n')}`);
    const problems = await problemsOf('mmu.c');
    assert.match(problems, /kvm->arch\.pgd may be NULL here/);
    assert.ok(!problems.includes(MODEL_RACE), `no race from the model file's assumptions:\n${problems}`);
    await shot('01-limited');
    await hidePanel();
  });

  it('shows nothing on the model file, also with it open', async () => {
    ready();
    await openFromExplorer(page, [], '.lockpath.json');
    // Nothing to wait for when nothing comes: give the server a few seconds to have published if it were to.
    await new Promise((r) => setTimeout(r, 5000));
    assert.match(await problemsLabel(), /^Errors: 1$/);
    const files = await problemFiles();
    assert.ok(!files.some((f) => f.includes('.lockpath.json')), `nothing on .lockpath.json:\n${files.join('\n')}`);
    assert.match(
      (await lockpathStatus().getAttribute('aria-label')) ?? '',
      /lockpath: 1 race \(3 entries\) \(limited\)/,
    );
    await shot('02-model-file');
    await hidePanel();
  });

  it('trusting the folder restarts lockpath in full mode, with the model file read', async () => {
    ready();
    await runCommand(page, 'Workspaces: Manage Workspace Trust');
    const trustEditor = page.locator('.workspace-trust-editor');
    await trustEditor.waitFor();
    await trustEditor.getByRole('button', { name: 'Trust', exact: true }).click();
    await statusItem(page, 'status.workspaceTrust').waitFor({ state: 'hidden' });
    // The model file's dropped assumptions: 11 races over the indexed folder, no longer limited.
    await lockpathStatus()
      .filter({ hasText: /lockpath: \d+ races? \(11 entries\)/ })
      .waitFor({ timeout: ANALYSIS_MS });
    assert.doesNotMatch((await lockpathStatus().getAttribute('aria-label')) ?? '', /limited/);
    assert.match(await problemsLabel(), /^Errors: 1, Warnings: [1-9]/);
    const files = await problemFiles();
    assert.ok(
      files.some((f) => f.startsWith('.lockpath.json')),
      `the model file has a problem row:\n${files.join('\n')}`,
    );
    const onModel = await problemsOf('.lockpath.json');
    assert.ok(onModel.includes(MODEL_WARNING), `the model file's warning is shown once it is read:\n${onModel}`);
    await problemFiles();
    const onMmu = await problemsOf('mmu.c');
    assert.ok(onMmu.includes(MODEL_RACE), `the model file's races are shown once it is read:\n${onMmu}`);
    await shot('03-trusted');
    assert.deepEqual(session!.pageErrors, []);
  });
});
