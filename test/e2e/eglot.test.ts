// lockpath in a real Emacs: Debian's Emacs 28 with eglot 1.9 (elpa-eglot), in --batch, runs test/e2e/eglot.el
// against `node bin/lockpath.js serve --stdio` with a scratch copy of the bundled example as its project. The script
// reports what the editor received, one JSON line per step; this test checks it: flymake's diagnostics on mmu.c with
// the class code, hover on kvm_set_spte_hva, the code lenses (no eglot UI for them: asked over eglot's connection),
// the code actions from `eglot-code-actions`, and the first one applied with eglot's own workspace-edit code.
// A missing emacs or eglot fails the test by name (scripts/setup-editors.sh installs them).
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
  SETUP_HINT,
  stepsOf,
  type Run,
  type Sandbox,
} from './editors';

const SCRIPT = join(repoRoot, 'test', 'e2e', 'eglot.el');
const README_CHECK = join(repoRoot, 'test', 'e2e', 'eglot-readme.el');
const FLYMAKE_CHECK = join(repoRoot, 'test', 'e2e', 'flymake-readme.el');
const EGLOT = '/usr/share/emacs/site-lisp/elpa/eglot-1.9';
const WAIT_MS = 120_000;

interface Diag {
  line: number;
  type: string;
  text: string;
  code: string;
  findings: string[];
}

describe('Emacs + eglot with lockpath serve --stdio on examples/v4.12', { timeout: 300_000 }, () => {
  let box: Sandbox | undefined;
  let run: Run;
  let steps: Map<string, Record<string, unknown>>;
  let mmuText: string;
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError) throw setupError;
  };
  const failure = (): string => {
    const f = steps?.get('fail');
    return `\nemacs exit ${run?.code}${run?.timedOut ? ' (killed at its bound)' : ''}; ${f ? `failed: ${f.message}` : 'no failure reported'}\nstderr: ${run?.stderr.slice(-2500)}`;
  };
  const step = (name: string): Record<string, unknown> => {
    ready();
    const s = steps.get(name);
    assert.ok(s, `emacs reported no "${name}" step${failure()}`);
    return s;
  };

  before(async () => {
    try {
      requireCommand('emacs', ['--version'], 'emacs (Debian package `emacs-nox`)');
      if (!existsSync(EGLOT))
        throw new Error(`eglot is missing: no ${EGLOT} (Debian package \`elpa-eglot\`); ${SETUP_HINT}`);
      requireBuild();
      box = sandbox('eglot');
      mmuText = readFileSync(join(box.root, 'virt/kvm/arm/mmu.c'), 'utf8');
      run = await runBounded('emacs', ['--batch', '-Q', '-l', SCRIPT], {
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
    assert.deepEqual([init.hover, init.codeLens, init.codeAction], [true, true, true]);
  });

  it('flymake shows the stage2_get_pud race on mmu.c with its class code, standing for the three findings', () => {
    const s = step('diagnostics');
    const diags = s.diagnostics as Diag[];
    assert.equal(s.findings, 3, 'the server counts 3 findings');
    assert.equal(diags.length, 1, `one grouped diagnostic: ${JSON.stringify(diags)}`);
    const d = diags[0];
    assert.equal(d.type, 'eglot-error');
    assert.equal(d.code, 'unguarded-notifier-path');
    assert.equal(d.findings.length, 3);
    assert.match(mmuText.split('\n')[d.line], /\*pgd/, 'on the dereference');
    assert.match(d.text, /^lockpath \[unguarded-notifier-path\]: kvm->arch.pgd may be NULL here/);
    assert.match(
      d.text,
      /reached from 3 entries: .*kvm_age_hva \(clear_flush_young\).*kvm_age_hva \(clear_young\).*kvm_test_age_hva \(test_young\)/,
    );
  });

  it('hover on kvm_set_spte_hva gives its safe verdict in a few lines', () => {
    const text = step('hover').text as string;
    assert.match(text, /kvm_set_spte_hva\*?\*?: 1 stage-2 chain · no races/);
    assert.match(text, /mmu notifier · safe: checked in kvm_set_spte_hva/);
  });

  it('references on kvm->arch.pgd list its accesses (the request xref makes)', () => {
    const s = step('references');
    assert.ok((s.count as number) >= 10, JSON.stringify(s));
    assert.ok((s.files as string[]).includes('mmu.c'), JSON.stringify(s));
  });

  it('the code lens request (no eglot UI) answers the mmu-notifier race above kvm_age_hva', () => {
    const s = step('codelens');
    const lenses = s.lenses as { line: number; title: string }[];
    assert.ok(
      lenses.some((l) => l.line === s.age_line && /^mmu notifier · race/.test(l.title)),
      JSON.stringify(lenses.filter((l) => l.line === s.age_line)),
    );
  });

  it('eglot-code-actions lists the fixes, the preferred one first', () => {
    const actions = step('codeaction').actions as {
      title: string;
      kind: string;
      isPreferred: boolean;
      hasEdit: boolean;
    }[];
    assert.ok(actions.length >= 2, JSON.stringify(actions));
    assert.equal(actions[0].isPreferred, true);
    assert.match(actions[0].title, /kvm_age_hva/);
    assert.ok(actions.every((a) => a.kind === 'quickfix' && a.hasEdit));
  });

  it("applying the first with eglot's workspace-edit code inserts the guard and clears the finding", () => {
    const s = step('applied');
    assert.equal(s.changed, true);
    assert.ok((s.age_hva as string).includes(GUARD), `the guard in kvm_age_hva:\n${s.age_hva}`);
    assert.ok((s.findings as number) < 3, `the findings drop: ${s.findings}`);
    assert.ok(
      !(s.diagnostics as Diag[]).some((d) => /kvm_age_hva \(clear/.test(d.text)),
      JSON.stringify(s.diagnostics),
    );
  });
});

describe("the README's eglot config", { timeout: 300_000 }, () => {
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
      `emacs reported no "${name}" step; exit ${run.code}${f ? `; failed: ${f.message}` : ''}\nstderr: ${run.stderr.slice(-2000)}`,
    );
    return s;
  };

  before(async () => {
    try {
      requireCommand('emacs', ['--version'], 'emacs (Debian package `emacs-nox`)');
      if (!existsSync(EGLOT))
        throw new Error(`eglot is missing: no ${EGLOT} (Debian package \`elpa-eglot\`); ${SETUP_HINT}`);
      requireBuild();
      box = sandbox('eglot-readme');
      const config = join(box.dir, 'lockpath-eglot.el');
      writeFileSync(
        config,
        readmeSnippet(
          '**Emacs with eglot',
          'elisp',
          '("lockpath" "serve" "--stdio")',
          `(${serverCommand.map((a) => JSON.stringify(a)).join(' ')})`,
        ),
      );
      run = await runBounded('emacs', ['--batch', '-Q', '-l', README_CHECK], {
        cwd: box.root,
        env: { ...box.env, LOCKPATH_ROOT: box.root, LOCKPATH_CONFIG: config, LOCKPATH_WAIT_MS: '120000' },
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

  it('eglot starts lockpath from eglot-server-programs and flymake shows its diagnostics', () => {
    const s = step('attached');
    assert.equal(s.name, 'lockpath');
    assert.deepEqual(s.contact, serverCommand);
    assert.equal(s.root, `${box!.root}/`);
    assert.ok((s.diagnostics as number) >= 1);
  });

  it('the workspace configuration reaches the server (vcpu-thread-pins-mm off adds the VCPU findings)', () => {
    const s = step('attached');
    assert.ok((s.findings as number) > 3, `more than the 3 findings of the built-in assumptions: ${s.findings}`);
    step('done');
    assert.equal(run.code, 0);
  });
});

describe("the README's flymake backend for lockpath beside clangd", { timeout: 300_000 }, () => {
  let box: Sandbox | undefined;
  let run: Run;
  let steps: Map<string, Record<string, unknown>>;
  let setupError: Error | undefined;

  before(async () => {
    try {
      requireCommand('emacs', ['--version'], 'emacs (Debian package `emacs-nox`)');
      requireBuild();
      box = sandbox('flymake-readme');
      const config = join(box.dir, 'lockpath-flymake.el');
      const cli = `(list ${[process.execPath, join(repoRoot, 'bin', 'lockpath.js')].map((a) => JSON.stringify(a)).join(' ')} "check" root)`;
      writeFileSync(
        config,
        readmeSnippet('**Emacs: lockpath beside clangd.', 'elisp', '(list "lockpath" "check" root)', cli),
      );
      run = await runBounded('emacs', ['--batch', '-Q', '-l', FLYMAKE_CHECK], {
        cwd: box.root,
        env: { ...box.env, LOCKPATH_ROOT: box.root, LOCKPATH_CONFIG: config, LOCKPATH_WAIT_MS: '120000' },
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

  it('flymake shows the race on the dereference in stage2_get_pud, from the command line', () => {
    if (setupError) throw setupError;
    const s = steps.get('diagnostics');
    assert.ok(
      s,
      `no diagnostics step; exit ${run.code}; ${JSON.stringify(steps.get('fail'))}\nstderr: ${run.stderr.slice(-2000)}`,
    );
    const diags = s.diagnostics as { line: number; text: string; type: string; message: string }[];
    const mmu = readFileSync(join(box!.root, 'virt/kvm/arm/mmu.c'), 'utf8').split('\n');
    const race = diags.filter((d) => /kvm->arch\.pgd may be NULL here/.test(d.message));
    assert.equal(race.length, 3, `one per entry, as the CLI prints them: ${JSON.stringify(diags)}`);
    for (const d of race) {
      assert.equal(d.type, ':error');
      assert.match(mmu[d.line - 1], /stage2_pgd_none\(\*pgd\)/, 'on the dereference line');
      assert.match(d.text, /pgd/, `the region covers the access: ${d.text}`);
    }
    assert.ok(race.some((d) => /kvm_test_age_hva \(test_young\)/.test(d.message)));
    assert.equal(run.code, 0);
  });
});
