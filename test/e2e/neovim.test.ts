// lockpath in a real Neovim: Debian's nvim (0.7, `vim.lsp.start_client`), headless, runs test/e2e/neovim.lua
// against `node bin/lockpath.js serve --stdio` with a scratch copy of the bundled example as its root. The script
// reports what the editor received, one JSON line per step; this test checks it: diagnostics on mmu.c with the class
// code, hover on kvm_set_spte_hva, references on kvm->arch.pgd, the code lens above kvm_age_hva, the code actions, and the first fix applied
// through Neovim's own apply_workspace_edit clearing the finding.
// A missing nvim fails the test by name (scripts/setup-editors.sh installs it): a silent pass would hide that
// nothing was checked.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers';
import {
  GUARD,
  readmeSnippet,
  requireBuild,
  requireCommand,
  runBounded,
  sandbox,
  serverCommand,
  stepsOf,
  type Run,
  type Sandbox,
} from './editors';

const SCRIPT = join(repoRoot, 'test', 'e2e', 'neovim.lua');
const README_CHECK = join(repoRoot, 'test', 'e2e', 'neovim-readme.lua');
const WAIT_MS = 120_000;

interface Diag {
  line: number;
  severity: number;
  source: string;
  code: string;
  message: string;
  findings: string[] | null;
  related: number;
}

describe('Neovim 0.7 with lockpath serve --stdio on examples/v4.12', { timeout: 300_000 }, () => {
  let box: Sandbox | undefined;
  let run: Run;
  let steps: Map<string, Record<string, unknown>>;
  let mmuText: string;
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError) throw setupError;
  };
  const step = (name: string): Record<string, unknown> => {
    ready();
    const s = steps.get(name);
    assert.ok(s, `nvim reported no "${name}" step${failure()}`);
    return s;
  };
  /** Why the script stopped, with the end of nvim's lsp.log (it holds the server's stderr). */
  const failure = (): string => {
    const f = steps.get('fail');
    const log = box ? join(box.env.XDG_CACHE_HOME!, 'nvim', 'lsp.log') : '';
    const tail = log && existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '(no lsp.log)';
    return `\nnvim exit ${run?.code}${run?.timedOut ? ' (killed at its bound)' : ''}; ${f ? `failed: ${f.message}` : 'no failure reported'}\nstderr: ${run?.stderr.slice(-2000)}\nlsp.log: ${tail}`;
  };

  before(async () => {
    try {
      const version = requireCommand('nvim', ['--version'], 'neovim (Debian package `neovim`)');
      assert.match(version, /^NVIM v0\.([7-9]|\d\d)|^NVIM v[1-9]/, `the script uses the 0.7 LSP API; got ${version}`);
      requireBuild();
      box = sandbox('nvim');
      mmuText = readFileSync(join(box.root, 'virt/kvm/arm/mmu.c'), 'utf8');
      run = await runBounded('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '-c', `luafile ${SCRIPT}`], {
        cwd: box.root,
        env: {
          ...box.env,
          LOCKPATH_ROOT: box.root,
          LOCKPATH_CMD: JSON.stringify(serverCommand),
          LOCKPATH_WAIT_MS: String(WAIT_MS),
        },
        ms: 240_000,
      });
      steps = stepsOf(run.stdout);
    } catch (e) {
      setupError = e as Error;
    }
  });

  after(() => {
    if (box) rmSync(box.dir, { recursive: true, force: true });
  });

  it('runs the script to the end and exits 0', () => {
    step('done');
    assert.equal(run.code, 0, failure());
    const init = step('initialized');
    assert.deepEqual(init.server, { hover: true, codeLens: true, codeAction: true });
  });

  it('receives the stage2_get_pud race on mmu.c with its class code, standing for the three findings', () => {
    const s = step('diagnostics');
    const diags = s.diagnostics as Diag[];
    const status = s.status as { findings: number; state: string };
    assert.equal(status.findings, 3, 'the server counts 3 findings');
    const races = diags.filter((d) => d.code === 'unguarded-notifier-path');
    // The server groups findings at one place and class into one diagnostic (test/lsp/features.test.ts).
    assert.equal(races.length, diags.length, `only the race: ${JSON.stringify(diags)}`);
    assert.equal(races.length, 1);
    const d = races[0];
    assert.equal(d.severity, 1, 'an error');
    assert.equal(d.source, 'lockpath');
    assert.equal(d.findings?.length, 3, 'the three findings are in its data');
    assert.match(mmuText.split('\n')[d.line], /\*pgd/, 'on the dereference');
    assert.match(d.message, /reached from 3 entries/);
    assert.match(d.message, /kvm_age_hva \(clear_flush_young\)/);
    assert.match(d.message, /kvm_age_hva \(clear_young\)/);
    assert.match(d.message, /kvm_test_age_hva \(test_young\)/);
    assert.ok(d.related > 0, 'with related information (the chain hops)');
  });

  it('hover on kvm_set_spte_hva gives its safe verdict in a few lines', () => {
    const s = step('hover');
    const text = s.text as string;
    assert.equal(typeof text, 'string', `a hover came back: ${JSON.stringify(s)}`);
    assert.match(text, /^\*\*kvm_set_spte_hva\*\*: 1 stage-2 chain · no races/);
    assert.match(text, /- mmu notifier · safe: checked in kvm_set_spte_hva/);
    assert.match(text, /\[Explain kvm_set_spte_hva\]\(command:lockpath\.explain/);
    assert.ok(text.length < 1000, `short: ${text.length}`);
  });

  it('references on kvm->arch.pgd list every access of the root, across files', () => {
    const s = step('references');
    const refs = s.references as { file: string; line: number; text: string }[];
    assert.ok(refs.length >= 10, JSON.stringify(refs));
    const has = (re: RegExp, what: string): void =>
      assert.ok(
        refs.some((r) => re.test(`${r.file}: ${r.text.trim()}`)),
        `${what}: ${JSON.stringify(refs)}`,
      );
    has(/^virt\/kvm\/arm\/mmu\.c: kvm->arch\.pgd = NULL;/, 'the write that clears it');
    has(/^virt\/kvm\/arm\/mmu\.c: free_pages_exact\(pgd, S2_PGD_SIZE\);/, 'the free');
    has(/^virt\/kvm\/arm\/mmu\.c: if \(!READ_ONCE\(kvm->arch\.pgd\)\)/, 'a test');
    has(/^virt\/kvm\/arm\/arm\.c: .*kvm->arch\.pgd/, 'a use in another file');
    assert.ok(
      refs.some((r) => r.line === s.line && r.file === 'virt/kvm/arm/mmu.c'),
      'the access asked about',
    );
  });

  it('code lens above kvm_age_hva names the mmu-notifier context and its race', () => {
    const s = step('codelens');
    const lenses = s.lenses as { line: number; title: string; command: string }[];
    const above = lenses.filter((l) => l.line === s.age_line);
    assert.ok(
      above.length,
      `a lens on kvm_age_hva's line ${s.age_line}: ${JSON.stringify(lenses.map((l) => [l.line, l.title]))}`,
    );
    assert.ok(
      above.some((l) => /^mmu notifier · race/.test(l.title) && l.command === 'lockpath.showRaceTimeline'),
      JSON.stringify(above),
    );
  });

  it('code actions answer on the diagnostic, the preferred fix first', () => {
    const s = step('codeaction');
    const actions = s.actions as { title: string; kind: string; isPreferred: boolean; hasEdit: boolean }[];
    assert.ok((s.context as number) >= 1, 'nvim passed the line diagnostics as context');
    assert.ok(actions.length >= 2, JSON.stringify(actions));
    assert.ok(
      actions.every((a) => a.kind === 'quickfix' && a.hasEdit),
      JSON.stringify(actions),
    );
    assert.equal(actions[0].isPreferred, true);
    assert.match(actions[0].title, /kvm_age_hva/);
    assert.ok(actions.some((a) => /Check kvm->arch.pgd in kvm_age_hva/.test(a.title)));
  });

  it('applying the first fix with apply_workspace_edit inserts the guard into kvm_age_hva and clears the finding', () => {
    const s = step('applied');
    assert.equal(s.changed, true, 'the buffer changed');
    assert.ok((s.age_hva as string).includes(GUARD), `the guard in kvm_age_hva:\n${s.age_hva}`);
    const status = s.status as { findings: number; state: string };
    assert.equal(status.state, 'idle');
    assert.ok(status.findings < 3, `the findings drop: ${status.findings}`);
    const diags = s.diagnostics as Diag[];
    assert.ok(
      !diags.some((d) => /kvm_age_hva \(clear/.test(d.message)),
      `no diagnostic names kvm_age_hva any more: ${JSON.stringify(diags)}`,
    );
  });
});

describe("the README's Neovim config, as a user's init.lua", { timeout: 300_000 }, () => {
  let box: Sandbox | undefined;
  let run: Run;
  let steps: Map<string, Record<string, unknown>>;
  let setupError: Error | undefined;
  const step = (name: string): Record<string, unknown> => {
    if (setupError) throw setupError;
    const s = steps.get(name);
    const f = steps.get('fail');
    assert.ok(
      s,
      `nvim reported no "${name}" step; exit ${run.code}${f ? `; failed: ${f.message}` : ''}\nstderr: ${run.stderr.slice(-2000)}`,
    );
    return s;
  };

  before(async () => {
    try {
      requireCommand('nvim', ['--version'], 'neovim (Debian package `neovim`)');
      requireBuild();
      box = sandbox('nvim-readme');
      const init = join(box.dir, 'init.lua');
      writeFileSync(
        init,
        readmeSnippet(
          '**Neovim 0.7',
          'lua',
          "{ 'lockpath', 'serve', '--stdio' }",
          `{ ${serverCommand.map((a) => JSON.stringify(a)).join(', ')} }`,
        ),
      );
      // Started from a subfolder, with the file given by a relative path: the config finds the root by itself.
      run = await runBounded(
        'nvim',
        [
          '--headless',
          '-i',
          'NONE',
          '-n',
          '-u',
          init,
          '-c',
          'filetype on',
          '-c',
          'edit ../virt/kvm/arm/mmu.c',
          '-c',
          `luafile ${README_CHECK}`,
        ],
        {
          cwd: join(box.root, 'arch'),
          env: { ...box.env, LOCKPATH_WAIT_MS: '120000' },
          ms: 240_000,
        },
      );
      steps = stepsOf(run.stdout);
    } catch (e) {
      setupError = e as Error;
    }
  });

  after(() => {
    if (box) rmSync(box.dir, { recursive: true, force: true });
  });

  it('attaches lockpath at the tree root and gets the diagnostics and code lenses', () => {
    const s = step('attached');
    assert.equal(s.name, 'lockpath');
    assert.equal(s.root, box!.root);
    assert.equal(s.filetype, 'c');
    assert.equal(s.diagnostics, 1);
    assert.ok((s.lenses as number) > 0);
  });

  it('running the lens above kvm_age_hva shows the race in a markdown split', () => {
    const lines = (step('lens-run').lines as string[]).join('\n');
    assert.match(lines, /unguarded-notifier-path/);
    assert.match(lines, /\| mmu notifier: kvm_age_hva \| exit_mmap: kvm_free_stage2_pgd \|/);
    step('done');
    assert.equal(run.code, 0);
  });
});
