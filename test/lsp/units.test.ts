// The server's pure helpers: settings reading, file keys and URIs, the word under the cursor, finding a function
// again in edited text, markdown escaping, short verdicts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { escapeMd, shortVerdict, wordAt } from '../../server/src/lsp/format';
import { relocate } from '../../server/src/lsp/lenses';
import { makeRoots, Paths } from '../../server/src/lsp/paths';
import { defaultSettings, readSettings } from '../../server/src/lsp/settings';
import type { ChainView, Snapshot } from '../../server/src/lsp/snapshot';

describe('settings', () => {
  it('reads the nested section VS Code sends, falling back per key', () => {
    const s = readSettings({
      index: { include: ['a/**'] },
      assumptions: { x: false, y: 'no' },
      inlayHints: { enabled: false },
      maxFileSize: -1,
    });
    assert.deepEqual(
      s.index,
      { include: ['a/**'], exclude: ['arch/arm64/kvm/hyp/**', 'arch/arm/kvm/hyp/**'] },
      'EL2 code stays out by default',
    );
    assert.deepEqual(s.assumptions, { x: false });
    assert.equal(s.inlayHints.enabled, false);
    assert.equal(s.maxFileSize, defaultSettings.maxFileSize);
    assert.deepEqual(readSettings(null), defaultSettings);
    assert.deepEqual(readSettings({ 'index.include': ['b/**'], 'inlayHints.enabled': false }).index.include, ['b/**']);
  });
});

describe('paths', () => {
  it('keys are paths relative to the folder; several folders are told apart; outside keeps the URI', () => {
    const one = new Paths(makeRoots([{ uri: 'file:///k/linux', name: 'linux' }]));
    assert.equal(one.keyOfUri('file:///k/linux/virt/kvm/arm/mmu.c'), 'virt/kvm/arm/mmu.c');
    assert.equal(one.uriOfKey('virt/kvm/arm/mmu.c'), 'file:///k/linux/virt/kvm/arm/mmu.c');
    assert.equal(one.keyOfUri('file:///elsewhere/x.c'), 'file:///elsewhere/x.c');
    assert.equal(one.rootOfKey('file:///elsewhere/x.c'), undefined);
    assert.equal(one.keyOfUri('untitled:Untitled-1'), 'untitled:Untitled-1');
    const two = new Paths(
      makeRoots([
        { uri: 'file:///k/a', name: 'a' },
        { uri: 'file:///k/b', name: 'a' },
      ]),
    );
    assert.equal(two.keyOfUri('file:///k/b/x.c'), 'a_/x.c');
    assert.equal(two.fsPathOfKey('a_/x.c'), '/k/b/x.c');
    assert.equal(two.uriOfKey('a/y.c'), 'file:///k/a/y.c');
  });

  it('reads only inside the folders, links resolved', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockpath-paths-'));
    try {
      mkdirSync(join(dir, 'root'));
      writeFileSync(join(dir, 'root', 'in.c'), '');
      writeFileSync(join(dir, 'out.c'), '');
      symlinkSync(join(dir, 'out.c'), join(dir, 'root', 'link.c'));
      symlinkSync(join(dir, 'root', 'in.c'), join(dir, 'root', 'inner-link.c'));
      const p = new Paths(makeRoots([{ uri: pathToFileURL(join(dir, 'root')).href }]));
      assert.equal(p.mayRead(join(dir, 'root', 'in.c')), true);
      assert.equal(p.mayRead(join(dir, 'root', 'inner-link.c')), true);
      assert.equal(p.mayRead(join(dir, 'root', 'link.c')), false);
      assert.equal(p.mayRead(join(dir, 'out.c')), false);
      assert.equal(p.mayRead(join(dir, 'root', 'missing.c')), false);
      assert.equal(p.mayRead(join(dir, 'root', '..', 'out.c')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('text helpers', () => {
  it('finds the identifier under or just after the cursor', () => {
    const text = 'int kvm_age_hva(struct kvm *kvm)\n\tret = handle_hva_to_gpa(kvm);\n';
    assert.equal(wordAt(text, { line: 0, character: 6 })?.word, 'kvm_age_hva');
    assert.equal(wordAt(text, { line: 0, character: 15 })?.word, 'kvm_age_hva', 'at the end of the word');
    assert.deepEqual(wordAt(text, { line: 1, character: 8 })?.range, {
      start: { line: 1, character: 7 },
      end: { line: 1, character: 24 },
    });
    assert.equal(wordAt(text, { line: 0, character: 3 })?.word, 'int');
    assert.equal(wordAt(text, { line: 1, character: 0 }), undefined);
    assert.equal(wordAt(text, { line: 9, character: 0 }), undefined);
  });

  it('finds a function again after edits moved it, preferring its definition over calls', () => {
    const lines = ['/* a */', 'static int f(void)', '{', '\tg();', '}', '', 'int g(void)', '{', '\treturn f();', '}'];
    assert.equal(relocate(lines, 'g', 3), 6, 'the definition, not the nearer call');
    assert.equal(relocate(lines, 'f', 0), 1);
    assert.equal(relocate(lines, 'h', 3), undefined);
    assert.equal(relocate(['\tonly_a_call();'], 'only_a_call', 0), 0);
  });

  it('escapes markup but keeps identifiers readable', () => {
    assert.equal(escapeMd('kvm_age_hva *pgd [x] `y` <z>'), 'kvm_age_hva \\*pgd \\[x\\] \\`y\\` \\<z>');
    assert.equal(escapeMd('trailing_'), 'trailing\\_');
  });

  it('short verdicts for lenses', () => {
    const chain = (
      verdict: ChainView['verdict'],
      reason: string,
      assumptions: string[] = [],
      path = ['f'],
      findings: string[] = [],
    ): ChainView => ({ verdict, reason, assumptions, path, findings }) as unknown as ChainView;
    const at = (line: number): object => ({ line, column: 0, endLine: line, endColumn: 4 });
    const findings = [
      { id: 'A', kind: 'null-deref', file: 'a.c', at: at(3), class: 'x' },
      { id: 'A2', kind: 'null-deref', file: 'a.c', at: at(3), class: 'x' },
      { id: 'B', kind: 'double-free', file: 'a.c', at: at(9), class: 'y' },
    ];
    const snap = { model: { resource: 'kvm->arch.pgd', resourceShort: 'pgd' }, findings } as unknown as Snapshot;
    // The diagnostic's words ("kvm->arch.pgd may be NULL here: ..."), counted as Problems counts: one per place and class.
    assert.equal(shortVerdict(snap, [chain('race', '', [], ['f'], ['A'])]), 'race: kvm->arch.pgd may be NULL · 1 race');
    assert.equal(
      shortVerdict(snap, [chain('race', '', [], ['f'], ['A', 'A2'])]),
      'race: kvm->arch.pgd may be NULL · 1 race (2 entries)',
    );
    assert.equal(
      shortVerdict(snap, [chain('race', '', [], ['f'], ['A', 'B']), chain('safe', 'x')]),
      'race: kvm->arch.pgd may be NULL; kvm->arch.pgd may be freed twice · 2 races',
    );
    assert.equal(
      shortVerdict(snap, [
        chain(
          'safe',
          'pinned: exit_mmap cannot start (vcpu-thread-pins-mm); kvm_destroy_vm cannot start (vcpu-fd-pins-kvm)',
          ['vcpu-thread-pins-mm', 'vcpu-fd-pins-kvm'],
        ),
      ]),
      'safe: mm + vcpu fd pinned',
    );
    assert.equal(
      shortVerdict(snap, [
        chain('safe', 'guarded: k tests `!kvm->arch.pgd` (line 3) under kvm->mmu_lock; ...', [], ['e', 'k']),
      ]),
      'safe: checked in k',
    );
    assert.equal(
      shortVerdict(snap, [chain('inconclusive', 'the search stopped at its bound')]),
      'inconclusive: search bound reached',
    );
  });
});
