// The lifetime simulator's verdicts: the bundled example (the 2017 bug), the named assumptions, and each historical
// bug class before and after its upstream fix.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Analysis } from '../../server/src/analysis';
import { entryName } from '../../server/src/analysis/findings/findings';
import { applyModelFile } from '../../server/src/analysis/model/loader';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';
import { analyzeDir, analyzeTexts, exampleDir, fixturesDir, readDir } from '../helpers';

let example: Analysis;
before(async () => {
  example = await analyzeDir(exampleDir);
});

const verdictOf = (a: Analysis, pathPart: string): { verdict: string; reason: string; assumptions: string[] }[] =>
  a.chains.filter(({ chain }) => chain.path.join(' > ').includes(pathPart)).map(({ verdict }) => verdict);

describe('the bundled v4.12 example', () => {
  it('finds exactly the aging races: kvm_age_hva from both young callbacks and kvm_test_age_hva, NULL pgd in stage2_get_pud', () => {
    const rows = example.findings.map((f) => `${f.class} ${f.kind} ${f.chain.entry.via} ${f.function}`).sort();
    assert.deepEqual(rows, [
      'unguarded-notifier-path null-deref kvm_mmu_notifier_ops.clear_flush_young stage2_get_pud',
      'unguarded-notifier-path null-deref kvm_mmu_notifier_ops.clear_young stage2_get_pud',
      'unguarded-notifier-path null-deref kvm_mmu_notifier_ops.test_young stage2_get_pud',
    ]);
    assert.deepEqual([...new Set(example.findings.map((f) => entryName(example.model, f.chain)))].sort(), [
      'kvm_age_hva',
      'kvm_test_age_hva',
    ]);
  });

  it('gives each race a witness: the teardown clears the pointer under the lock, then the notifier walks NULL', () => {
    for (const f of example.findings) {
      const w = f.witness;
      const last = w[w.length - 1];
      assert.equal(last.hazard, true);
      assert.equal(last.function, 'stage2_get_pud');
      assert.match(last.action, /dereferences .*NULL/);
      const clear = w.findIndex((s) => s.lane === 1 && s.action === 'sets kvm->arch.pgd = NULL');
      assert.ok(clear >= 0 && clear < w.length - 1, 'the free side clears before the walk');
      assert.ok(w[clear].locks.includes('kvm->mmu_lock'), 'and does so holding kvm->mmu_lock');
      assert.ok(
        w.some((s) => s.lane === 0 && /kvm_mmu_notifier_(clear_flush_young|clear_young|test_young)/.test(s.function)),
        'the notifier lane starts in its kvm_main.c wrapper',
      );
      assert.match(
        f.message,
        /^kvm->arch\.pgd may be NULL here: reached from mmu notifier kvm_(test_)?age_hva \((clear_flush_young|clear_young|test_young)\) while kvm_free_stage2_pgd runs from exit_mmap/,
      );
      assert.ok(f.freeSide && /NULL|frees/.test(f.freeSide.action));
      assert.match(f.id, /^LP[0-9A-F]{8}$/);
    }
  });

  it('says why everything else is safe', () => {
    for (const v of verdictOf(example, 'kvm_set_spte_hva')) {
      assert.equal(v.verdict, 'safe');
      assert.match(v.reason, /guarded: kvm_set_spte_hva tests `!kvm->arch.pgd` .* under kvm->mmu_lock/);
    }
    for (const v of verdictOf(example, 'kvm_unmap_hva_range'))
      assert.match(v.reason, /kvm_unmap_hva_range tests .* under kvm->mmu_lock/);
    for (const v of verdictOf(example, 'user_mem_abort')) {
      assert.equal(v.verdict, 'safe');
      assert.match(
        v.reason,
        /pinned: exit_mmap cannot start \(vcpu-thread-pins-mm\); kvm_destroy_vm cannot start \(vcpu-fd-pins-kvm\)/,
      );
      assert.deepEqual(v.assumptions, ['vcpu-fd-pins-kvm', 'vcpu-thread-pins-mm']);
    }
    for (const v of verdictOf(example, 'kvm_arch_prepare_memory_region > kvm_phys_addr_ioremap'))
      assert.match(v.reason, /vm-ioctl-pins-mm/);
    const teardown = example.chains.filter(
      ({ chain }) => chain.context === 'teardown' && chain.walker.name === 'unmap_stage2_range',
    );
    assert.ok(teardown.length > 0);
    for (const { verdict } of teardown) {
      assert.equal(verdict.verdict, 'safe');
      assert.match(
        verdict.reason,
        /unmap_stage2_range tests `!READ_ONCE\(kvm->arch\.pgd\)`/,
        'the re-check after cond_resched_lock is what makes it safe',
      );
      assert.deepEqual(verdict.assumptions, ['releases-may-overlap']);
    }
    const free = example.chains.filter(
      ({ chain }) => chain.walker.name === 'kvm_free_stage2_pgd' && chain.context === 'teardown',
    );
    for (const { verdict } of free)
      assert.match(verdict.reason, /kvm_free_stage2_pgd tests `kvm->arch\.pgd` .* under kvm->mmu_lock/);
    assert.equal(example.chains.filter(({ verdict }) => verdict.verdict === 'inconclusive').length, 0);
  });

  it("answers the thread's question: with vcpu-thread-pins-mm off, user_mem_abort races via exit_mmap", async () => {
    const model = applyModelFile(kvmArmV4, { assumptions: { 'vcpu-thread-pins-mm': false } }, 'test');
    const a = await analyzeDir(exampleDir, { model });
    const ume = a.findings.filter((f) => f.chain.path.includes('user_mem_abort'));
    assert.equal(ume.length, 2, ume.map((f) => f.chain.path.join('>')).join('\n'));
    for (const f of ume) {
      assert.deepEqual(f.teardown, ['exit_mmap'], 'kvm_destroy_vm is still held off by the vcpu fd');
      assert.equal(f.class, 'may-be-freed');
      assert.equal(f.chain.context, 'vcpu');
      assert.ok(f.witness.some((s) => s.lane === 1 && s.thread.startsWith('exit_mmap')));
    }
    for (const v of verdictOf(a, 'user_mem_abort')) {
      assert.equal(v.verdict, 'race');
      assert.deepEqual(v.assumptions, ['vcpu-fd-pins-kvm']);
    }
    assert.equal(a.findings.filter((f) => f.chain.context === 'vm-ioctl').length, 0, 'VM ioctls still pin the mm');
  });

  it('is deterministic', async () => {
    const again = await analyzeDir(exampleDir);
    const show = (a: Analysis) => a.findings.map((f) => [f.id, f.class, f.file, f.at, f.witness.map((s) => s.action)]);
    assert.deepEqual(show(again), show(example));
    assert.deepEqual(
      again.chains.map((c) => c.verdict),
      example.chains.map((c) => c.verdict),
    );
  });
});

interface Expected {
  findings: { class: string; entry: string; function: string }[];
}

async function rowsOf(dir: string): Promise<{ got: string[]; want: string[] }> {
  const a = await analyzeTexts(readDir(dir));
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const got = [...new Set(a.findings.map((f) => `${f.class} | ${entryName(a.model, f.chain)} | ${f.function}`))].sort();
  const want = [...new Set(expected.findings.map((f) => `${f.class} | ${f.entry} | ${f.function}`))].sort();
  return { got, want };
}

describe('history: each release yields the bug classes it had', () => {
  const classes: Record<string, string[]> = {
    'v4.10': ['cleared-outside-lock', 'teardown-without-lock', 'unguarded-notifier-path'],
    'v4.11': ['cleared-outside-lock', 'stale-after-lock-drop', 'unguarded-notifier-path'],
    'v4.12': ['unguarded-notifier-path'],
    'v4.13': [],
  };
  for (const [release, want] of Object.entries(classes)) {
    it(`${release}: ${want.join(', ') || 'nothing'}`, async () => {
      const { got, want: rows } = await rowsOf(join(fixturesDir, 'history', release));
      assert.deepEqual([...new Set(got.map((r) => r.split(' | ')[0]))].sort(), want);
      assert.deepEqual(got, rows, 'every expected (class, hook, function) row and no other');
    });
  }
});

describe('each historical class, before and after its fix', () => {
  const dir = join(fixturesDir, 'classes');
  for (const cls of readdirSync(dir).filter((n) => existsSync(join(dir, n, 'before')))) {
    it(`${cls}: the before form yields it with a witness, the after form yields nothing`, async () => {
      const { got, want } = await rowsOf(join(dir, cls, 'before'));
      assert.ok(
        got.some((r) => r.startsWith(`${cls} |`)),
        `${cls} not found in ${got.join('; ')}`,
      );
      assert.deepEqual(got, want);
      const after = await analyzeTexts(readDir(join(dir, cls, 'after')));
      assert.deepEqual(
        after.findings.map((f) => `${f.class} ${f.function}`),
        [],
      );
    });
  }

  it('the stale witness shows the drop, the free in between, and the walk resuming', async () => {
    const a = await analyzeTexts(readDir(join(fixturesDir, 'classes', 'stale-after-lock-drop', 'before')));
    const f = a.findings.find((x) => x.class === 'stale-after-lock-drop' && x.kind === 'use-after-free');
    assert.ok(f);
    const actions = f.witness.map((s) => `${s.lane}:${s.action}`);
    const drop = actions.findIndex((x) => /^0:cond_resched_lock drops/.test(x));
    const free = actions.findIndex((x) => /^1:.*frees the stage-2 tables/.test(x));
    const retake = actions.findIndex((x) => /^0:cond_resched_lock retakes/.test(x));
    assert.ok(drop >= 0 && drop < free && drop < retake, actions.join('\n'));
    assert.match(actions[actions.length - 1], /^0:dereferences .*freed tables/);
  });

  it("the cleared-outside-lock witness: the notifier takes the lock between the free path's unlock and its clear", async () => {
    const a = await analyzeTexts(readDir(join(fixturesDir, 'history', 'v4.11')));
    const f = a.findings.find(
      (x) => x.class === 'cleared-outside-lock' && entryName(a.model, x.chain) === 'kvm_unmap_hva_range',
    );
    assert.ok(f);
    const actions = f.witness.map((s) => `${s.lane}:${s.action}`);
    const unlock = actions.findIndex((x) => /^1:spin_unlock/.test(x));
    const guard = actions.findIndex((x) => /^0:checks `!kvm->arch.pgd`: the pointer is not NULL/.test(x));
    assert.ok(unlock >= 0 && guard > unlock, actions.join('\n'));
    assert.ok(
      !actions.slice(0, -1).some((x) => /^1:sets kvm->arch.pgd = NULL/.test(x)),
      'the pointer is still set when the notifier walks',
    );
    assert.match(actions[actions.length - 1], /freed tables/);
  });
});
