// `lockpath debug STAGE NAME` as a user runs it: the real command in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exampleDir, repoRoot } from '../helpers';

function lockpath(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'lockpath.js'), ...args, '--no-cache'], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('lockpath debug', () => {
  it('prints the facts of one function and exits 0', () => {
    const r = lockpath(['debug', 'facts', 'kvm_free_stage2_pgd', exampleDir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^facts kvm_free_stage2_pgd {2}virt\/kvm\/arm\/mmu\.c:\d+:\d+\n/);
    assert.match(r.out, /\n {4}acquire mmu_lock exclusive \(spin_lock\) {2}@\d+:\d+\n/);
    assert.match(r.out, /\n {6}write <root> := null {2}@\d+:\d+\n/);
  });

  it('prints the chains and witnesses through a function', () => {
    const chains = lockpath(['debug', 'chains', 'kvm_test_age_hva', exampleDir]);
    assert.equal(chains.code, 0, chains.err);
    assert.match(
      chains.out,
      /^chains through kvm_test_age_hva: 1\n[^]*\n {4}race: null-deref while kvm_free_stage2_pgd runs/,
    );
    const witness = lockpath(['debug', 'witness', 'kvm_test_age_hva', exampleDir]);
    assert.match(witness.out, /^findings through kvm_test_age_hva: 1\n/);
  });

  it('says which stages there are, and exits 2 on an unknown function', () => {
    const bad = lockpath(['debug', 'ir', 'kvm_age_hva']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /debug shows one of facts, program, witness, chains, not "ir"/);
    const missing = lockpath(['debug', 'facts', 'no_such_function', exampleDir]);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /no function no_such_function in the indexed files/);
  });
});
