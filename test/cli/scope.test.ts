// One scope for every command: a kernel tree is known by its layout (virt/kvm beside arch/*/kvm, no Makefile
// needed), only its KVM folders are read, hyp/ (EL2 code) is left out and named; lockpath with no path reads the
// kernel tree it stands in, and says what it read.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  KERNEL_EXCLUDES,
  KERNEL_GLOBS,
  isKernelLayout,
  isKernelRoot,
  findKernelRoot,
  scopeFilter,
  scopeOf,
} from '../../server/src/files/scope';
import { exampleDir, repoRoot, scratchDir } from '../helpers';
import { lockpath } from './git-fixture';

/** The example's tree plus EL2 code under hyp/, a driver outside KVM, and no Makefile. */
function kernelTree(): string {
  const dir = scratchDir('lockpath-scope-');
  cpSync(exampleDir, dir, { recursive: true });
  mkdirSync(join(dir, 'arch', 'arm64', 'kvm', 'hyp'), { recursive: true });
  writeFileSync(join(dir, 'arch', 'arm64', 'kvm', 'hyp', 'switch.c'), 'void __kvm_vcpu_run(void) { }\n');
  mkdirSync(join(dir, 'drivers', 'misc'), { recursive: true });
  writeFileSync(join(dir, 'drivers', 'misc', 'other.c'), 'int other(void) { return 0; }\n');
  return dir;
}

describe('scope', () => {
  it('a layout without a Makefile is a kernel tree; a folder without arch/*/kvm is not', () => {
    const dir = kernelTree();
    assert.ok(isKernelRoot(dir));
    assert.equal(findKernelRoot(join(dir, 'virt', 'kvm', 'arm')), dir);
    assert.ok(!isKernelRoot(join(dir, 'virt')));
    assert.ok(isKernelLayout(['virt/kvm/kvm_main.c', 'arch/arm64/kvm/mmu.c']));
    assert.ok(!isKernelLayout(['virt/kvm/kvm_main.c', 'arch/arm64/mm/mmu.c']));
    const inScope = scopeFilter(scopeOf(true));
    assert.ok(
      inScope('arch/arm64/kvm/mmu.c') && !inScope('arch/arm64/kvm/hyp/switch.c') && !inScope('drivers/misc/other.c'),
    );
  });

  it('check reads the KVM folders, leaves hyp/ out and says so', () => {
    const dir = kernelTree();
    const r = lockpath(['check', dir], scratchDir('lockpath-cwd-'));
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.out,
      /^lockpath: read 6 files: arch\/arm64\/kvm, virt\/kvm; left out: arch\/arm64\/kvm\/hyp\/ \(EL2 code\)$/m,
    );
    const j = JSON.parse(lockpath(['check', '--json', dir], dir).out);
    assert.ok(!j.files.some((f: string) => f.includes('hyp/') || f.startsWith('drivers/')), j.files.join(' '));
  });

  it('with no path, inside a kernel tree, analyses that tree; outside one, suggests demo or a PATH (exit 2)', () => {
    const dir = kernelTree();
    const inside = lockpath([], join(dir, 'virt', 'kvm'));
    assert.equal(inside.code, 1, inside.err);
    assert.match(inside.out, /read 6 files/);
    assert.match(inside.out, /kvm_age_hva/);
    const outside = lockpath([], scratchDir('lockpath-nowhere-'));
    assert.equal(outside.code, 2);
    assert.match(outside.err, /is not inside a kernel tree.*give a PATH.*lockpath demo/);
  });

  it("the editor's defaults (package.json lockpath.index.*) are the same rules", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const props = pkg.contributes.configuration.properties;
    assert.deepEqual(props['lockpath.index.include'].default, KERNEL_GLOBS);
    assert.deepEqual(props['lockpath.index.exclude'].default, KERNEL_EXCLUDES);
    assert.match(pkg.scripts.start, /lockpath\.js demo \|\| test \$\? -eq 1/);
  });
});
