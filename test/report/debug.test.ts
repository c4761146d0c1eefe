// Golden files of the pipeline's middle: beside each fixture (and the example), expected.txt holds the lowered facts
// of every function on a chain and the compiled program of every entry (report/debug.ts). A change to a lowering or
// compilation rule shows up as a readable diff of those files. LOCKPATH_UPDATE_GOLDEN=1 rewrites them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { debugText, goldenText } from '../../server/src/report/debug';
import { analyzeDir, exampleDir, fixturesDir, repoRoot } from '../helpers';

const update = process.env.LOCKPATH_UPDATE_GOLDEN === '1';

/** Folders that hold an analysis fixture: an expected.json beside the C files. */
function fixtureFolders(dir: string): string[] {
  if (existsSync(join(dir, 'expected.json'))) return [dir];
  return readdirSync(dir)
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isDirectory())
    .flatMap(fixtureFolders);
}

describe('golden facts and programs (expected.txt)', () => {
  const folders = [exampleDir, ...fixtureFolders(fixturesDir)];
  it('covers the example and every fixture', () => assert.ok(folders.length >= 13, `${folders.length} folders`));
  for (const dir of folders) {
    it(relative(repoRoot, dir), async () => {
      const actual = goldenText(await analyzeDir(dir));
      const file = join(dir, 'expected.txt');
      if (update || !existsSync(file)) {
        writeFileSync(file, actual);
        if (!update) assert.fail(`${file} was missing and has been written: check it in`);
        return;
      }
      assert.equal(
        actual,
        readFileSync(file, 'utf8'),
        `${relative(repoRoot, file)} differs: rerun with LOCKPATH_UPDATE_GOLDEN=1 and read the diff`,
      );
    });
  }
});

describe('lockpath debug stages', () => {
  it('print what each stage knows about one function of the example', async () => {
    const a = await analyzeDir(exampleDir);
    const facts = debugText(a, 'facts', 'stage2_get_pud');
    assert.ok(facts.found);
    assert.match(facts.text, /^facts stage2_get_pud {2}virt\/kvm\/arm\/mmu\.c:\d+:\d+/);
    assert.match(facts.text, /\n {4}pgd := <root> {2}@\d+:\d+\n {4}deref pgd {2}`\*pgd`/);
    const program = debugText(a, 'program', 'kvm_mmu_notifier_clear_young').text;
    assert.match(
      program,
      /^program kvm_mmu_notifier_clear_young \(mmu-notifier, kvm_mmu_notifier_ops\.clear_young\): \d+ instructions/,
    );
    assert.match(program, /\n +\d+ {2}lock mmu_lock exclusive \(spin_lock\)/);
    assert.match(program, /branch !\$\d+:pmd then \d+ else \d+ \(guard\) {2}`!pmd`/);
    assert.match(
      debugText(a, 'program', 'stage2_get_pud').text,
      /^stage2_get_pud is not an entry with chains; entries: .*kvm_vm_ioctl/,
    );
    const witness = debugText(a, 'witness', 'kvm_age_hva').text;
    assert.match(
      witness,
      /^findings through kvm_age_hva: 2\n {2}LP[0-9A-F]{8} {2}unguarded-notifier-path {2}null-deref/,
    );
    assert.match(witness, /\n {4}!0 [^\n]*dereferences \*pgd: NULL/);
    const chains = debugText(a, 'chains', 'stage2_get_pud').text;
    assert.match(chains, /^chains through stage2_get_pud: 9\n/);
    assert.match(chains, /\n {4}safe: guarded: kvm_set_spte_hva tests `!kvm->arch\.pgd`/);
    assert.deepEqual(debugText(a, 'chains', 'no_such_function'), {
      text: 'lockpath: no function no_such_function in the indexed files',
      found: false,
    });
  });
});
