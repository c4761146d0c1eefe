// lockpath review on a git repository built from the example (both revisions read from git objects), on a
// format-patch file applied in memory, a patch that does not apply, the email reply body, and check --baseline.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { exampleDir, scratchDir } from '../helpers';
import { commitEdit, exampleRepo, git, lockpath, MMU, SPTE_GUARD } from './git-fixture';

interface Diff {
  new: { id: string; hook: string; chain: { function: string }[]; witness: { lane: number; hazard?: boolean }[] }[];
  fixed: { id: string }[];
  unchanged: { id: string }[];
}

const dropGuard = (t: string): string => t.replace(SPTE_GUARD, '\tpte_t stage2_pte;\n');

describe('lockpath review BASE..HEAD', () => {
  let repo = '';
  let base = '';
  let removal = '';
  before(() => {
    repo = exampleRepo('lockpath-review-');
    base = git(repo, 'rev-parse', 'HEAD');
    removal = commitEdit(repo, MMU, dropGuard, 'KVM: arm: drop the pgd check in kvm_set_spte_hva');
    git(repo, 'revert', '--no-edit', 'HEAD');
    // The working tree is not what is reviewed: spoil it, and the answer must not change.
    rmSync(join(repo, MMU));
  });

  it('a commit that removes a guard has a new finding, with its chain and witness, and exits 1', () => {
    const r = lockpath(['review', `${base}..${removal}`, '--json'], repo);
    assert.equal(r.code, 1, r.err);
    const d: Diff & { base: string; head: string } = JSON.parse(r.out);
    assert.deepEqual([d.base, d.head], [base, removal]);
    assert.equal(d.new.length, 1);
    assert.equal(d.new[0].hook, 'kvm_set_spte_hva');
    assert.deepEqual(d.new[0].chain.map((h) => h.function).slice(0, 2), [
      'kvm_mmu_notifier_change_pte',
      'kvm_set_spte_hva',
    ]);
    assert.ok(
      d.new[0].witness.some((s) => s.lane === 1) && d.new[0].witness.at(-1)?.hazard,
      'two lanes ending in the hazard',
    );
    assert.equal(d.fixed.length, 0);
    assert.equal(d.unchanged.length, 3, 'the v4.12 aging races stay');
  });

  it('its revert is "fixed" and exits 0; the text names new, fixed and unchanged', () => {
    const r = lockpath(['review', `${removal}..HEAD`], repo);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /0 new, 1 fixed, 3 unchanged/);
    assert.match(r.out, /^fixed:\n {2}LP[0-9A-F]{8} unguarded-notifier-path: kvm_set_spte_hva/m);
    assert.match(r.out, /read 6 files: arch\/arm64\/kvm, virt\/kvm/);
    const json: Diff = JSON.parse(lockpath(['review', `${removal}..HEAD`, '--json'], repo).out);
    const added: Diff = JSON.parse(lockpath(['review', `${base}..${removal}`, '--json'], repo).out);
    assert.deepEqual(
      json.fixed.map((f) => f.id),
      added.new.map((f) => f.id),
    );
  });

  it('from a subfolder of a kernel tree inside a larger repository, reviews that kernel tree', () => {
    const outer = scratchDir('lockpath-outer-');
    git(outer, 'init', '-q');
    cpSync(exampleDir, join(outer, 'linux'), { recursive: true });
    writeFileSync(join(outer, 'tool.c'), 'int tool(void) { return 0; }\n');
    git(outer, 'add', '-A');
    git(outer, 'commit', '-q', '-m', 'a kernel tree in a bigger repository');
    commitEdit(outer, join('linux', MMU), dropGuard, 'drop the guard');
    const r = lockpath(['review', 'HEAD~1..HEAD'], join(outer, 'linux', 'virt', 'kvm'));
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /read 6 files: arch\/arm64\/kvm, virt\/kvm/);
    assert.match(r.out, /1 new, 0 fixed, 3 unchanged/);
  });

  it('exits 3 when nothing is new but the search did not finish (a bound too small), 0 with --fail-on none', () => {
    const r = lockpath(['review', `${removal}..HEAD`, '--max-states', '5'], repo);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /did not finish on some chains/);
    assert.equal(lockpath(['review', `${removal}..HEAD`, '--max-states', '5', '--fail-on', 'none'], repo).code, 0);
  });

  it('an unknown revision or a malformed range is bad input (exit 2)', () => {
    const r = lockpath(['review', 'nosuchrev..HEAD'], repo);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown revision nosuchrev/);
    assert.equal(lockpath(['review', 'HEAD'], repo).code, 2);
  });
});

describe('lockpath review --patch', () => {
  let repo = '';
  let patch = '';
  let tree = '';
  before(() => {
    repo = exampleRepo('lockpath-patch-');
    commitEdit(repo, MMU, dropGuard, 'KVM: arm: drop the pgd check in kvm_set_spte_hva');
    patch = join(scratchDir('lockpath-patchfile-'), 'series.mbox');
    // A series of two as git format-patch writes it (one mbox): a comment first, then the guard removal.
    commitEdit(repo, 'virt/kvm/kvm_main.c', (t) => `/* reviewed */\n${t}`, 'KVM: a comment');
    writeFileSync(patch, git(repo, 'format-patch', '--stdout', 'HEAD~2..HEAD') + '\n');
    tree = scratchDir('lockpath-tree-');
    cpSync(exampleDir, tree, { recursive: true });
  });

  it('applies a format-patch series in memory to TREE and reports the new finding (TREE untouched)', () => {
    const beforeText = readFileSync(join(tree, MMU), 'utf8');
    const r = lockpath(['review', '--patch', patch, tree, '--json'], repo);
    assert.equal(r.code, 1, r.err);
    const d: Diff = JSON.parse(r.out);
    assert.deepEqual(
      d.new.map((f) => f.hook),
      ['kvm_set_spte_hva'],
    );
    assert.equal(d.unchanged.length, 3);
    assert.equal(readFileSync(join(tree, MMU), 'utf8'), beforeText);
  });

  it('a patch that does not apply is a clear error naming the file and the hunk (exit 2)', () => {
    const bad = join(scratchDir('lockpath-badpatch-'), 'bad.patch');
    writeFileSync(
      bad,
      readFileSync(patch, 'utf8')
        .replace('\tif (!kvm->arch.pgd)\n-\t\treturn;', '\tif (!kvm->arch.pgd)\n-\t\treturn 0;')
        .replace(/^ \tpte_t stage2_pte;$/m, ' \tpte_t stage3_pte;'),
    );
    const r = lockpath(['review', '--patch', bad, tree], repo);
    assert.equal(r.code, 2, r.out);
    assert.match(r.err, /bad\.patch:\d+: virt\/kvm\/arm\/mmu\.c: hunk #1 \(@@ -\d+,\d+ \+\d+,\d+ @@\) does not apply/);
    const none = join(scratchDir('lockpath-nopatch-'), 'empty.patch');
    writeFileSync(none, 'Subject: no diff here\n\nJust words.\n');
    assert.match(lockpath(['review', '--patch', none, tree], repo).err, /no diff found/);
  });

  it('--format=email is a reply body: quoted hunk, chain, two-lane witness, no line over 80 columns', () => {
    const r = lockpath(['review', '--patch', patch, tree, '--format=email'], repo);
    assert.equal(r.code, 1, r.err);
    const lines = r.out.trimEnd().split('\n');
    const wide = lines.filter((l) => l.length > 80);
    assert.deepEqual(wide, [], 'every line at most 80 columns');
    assert.ok(!r.out.includes('\t'), 'tabs expanded');
    assert.match(r.out, /"KVM: arm: drop the pgd check in kvm_set_spte_hva"|2 patches/);
    assert.match(r.out, /^> @@ -\d+,\d+ \+\d+,\d+ @@/m);
    assert.match(r.out, /^> -\s+if \(!kvm->arch\.pgd\)$/m);
    assert.match(r.out, /^This adds a race: virt\/kvm\/arm\/mmu\.c:\d+: kvm->arch\.pgd may be NULL here/m);
    assert.match(r.out, /^ {4}-> kvm_set_spte_hva \(kvm_main\.c:\d+\)$/m);
    assert.match(r.out, /^ {2}mmu notifier: kvm_set_spte_hva +\| exit_mmap: kvm_free_stage2_pgd$/m);
    assert.match(r.out, /!! dereferences \*pgd: NULL/);
    assert.match(r.out, /Still racing after this change \(3\)/);
    const quoted = lines.filter((l) => l.startsWith('>'));
    assert.ok(
      quoted.length >= 4 && quoted.every((l) => l === '>' || l.startsWith('> ')),
      'quoted lines start with "> "',
    );
    assert.ok(
      lines.indexOf(quoted.at(-1)!) < lines.findIndex((l) => l.startsWith('This adds a race')),
      'nothing but the hunk is quoted',
    );
  });
});

describe('lockpath check --baseline', () => {
  it('compares with an earlier check --json: new exits 1, the same tree exits 0', () => {
    const dir = scratchDir('lockpath-baseline-');
    const old = join(dir, 'old.json');
    const first = lockpath(['check', '--json', exampleDir], dir);
    writeFileSync(old, first.out);
    const same = lockpath(['check', '--baseline', old, exampleDir], dir);
    assert.equal(same.code, 0, same.err);
    assert.match(same.out, /0 new, 0 fixed, 3 unchanged/);
    const tree = join(dir, 'tree');
    cpSync(exampleDir, tree, { recursive: true });
    writeFileSync(join(tree, MMU), dropGuard(readFileSync(join(tree, MMU), 'utf8')));
    const worse = lockpath(['check', '--baseline', old, '--json', tree], dir);
    assert.equal(worse.code, 1, worse.err);
    const d: Diff = JSON.parse(worse.out);
    assert.deepEqual([d.new.length, d.fixed.length, d.unchanged.length], [1, 0, 3]);
    writeFileSync(join(dir, 'junk.json'), '{"nothing": 1}');
    const junk = lockpath(['check', '--baseline', join(dir, 'junk.json'), exampleDir], dir);
    assert.equal(junk.code, 2);
    assert.match(junk.err, /no "findings" array/);
  });
});
