// Metamorphic pairs for the value model (issue #13): kvm_main.c's hva-range dispatcher takes kvm->mmu_lock once,
// before the first handler call, and remembers that in a flag. Written every way kernels write it, the verdicts
// must agree (all safe); each one-bug twin (the handler called before the lock is taken) must be found, with a
// witness in which the racing walk holds no lock.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Analysis } from '../../server/src/analysis';
import { kvmArm64Pgt } from '../../server/src/analysis/model/builtin';
import { analyzeTexts, fixturesDir } from '../helpers';

const dir = join(fixturesDir, 'precision', 'hva-dispatch');
const template = readFileSync(join(dir, 'kvm_main.template.c'), 'utf8');
const mmu = readFileSync(join(dir, 'common', 'mmu.c'), 'utf8');
const CALL = '\t\tr.ret |= range->handler(kvm, &gfn_range);';

interface Variant {
  helpers?: string;
  decl?: string;
  /** Takes the lock once (before the handler call in the safe form, after it in the twin). */
  take: string;
  release: string;
  lockless?: string;
}

const variants: Record<string, Variant> = {
  'flag in a field of a local struct (6.x r.found_memslot)': {
    take: '\t\tif (!r.found_memslot) {\n\t\t\tr.found_memslot = true;\n\t\t\tKVM_MMU_LOCK(kvm);\n\t\t}',
    release: '\tif (r.found_memslot)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
  'flag local (5.13 bool locked)': {
    decl: '\tbool locked = false;',
    take: '\t\tif (!locked) {\n\t\t\tlocked = true;\n\t\t\tKVM_MMU_LOCK(kvm);\n\t\t}',
    release: '\tif (locked)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
  'flag compared with constants': {
    decl: '\tint locked = 0;',
    take: '\t\tif (locked == 0) {\n\t\t\tlocked = 1;\n\t\t\tKVM_MMU_LOCK(kvm);\n\t\t}',
    release: '\tif (locked != 0)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
  'flag set through an out-parameter by a helper': {
    helpers:
      'static void kvm_mmu_lock_once(struct kvm *kvm, bool *locked)\n{\n\tif (!*locked) {\n\t\t*locked = true;\n\t\tKVM_MMU_LOCK(kvm);\n\t}\n}',
    decl: '\tbool locked = false;',
    take: '\t\tkvm_mmu_lock_once(kvm, &locked);',
    release: '\tif (locked)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
  'flag in a struct a helper returns': {
    helpers:
      'struct kvm_lock_state {\n\tbool locked;\n};\n\n' +
      'static struct kvm_lock_state kvm_mmu_lock_once(struct kvm *kvm, struct kvm_lock_state s)\n{\n\tif (!s.locked) {\n\t\ts.locked = true;\n\t\tKVM_MMU_LOCK(kvm);\n\t}\n\treturn s;\n}',
    decl: '\tstruct kvm_lock_state held = { .locked = false };',
    take: '\t\theld = kvm_mmu_lock_once(kvm, held);',
    release: '\tif (held.locked)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
  'lock wrappers with bodies': {
    helpers:
      'static void kvm_mmu_lock_wrapped(struct kvm *kvm)\n{\n\twrite_lock(&kvm->mmu_lock);\n}\n\n' +
      'static void kvm_mmu_unlock_wrapped(struct kvm *kvm)\n{\n\twrite_unlock(&kvm->mmu_lock);\n}',
    decl: '\tbool locked = false;',
    take: '\t\tif (!locked) {\n\t\t\tlocked = true;\n\t\t\tkvm_mmu_lock_wrapped(kvm);\n\t\t}',
    release: '\tif (locked)\n\t\tkvm_mmu_unlock_wrapped(kvm);',
  },
  'trylock, then lock when it fails': {
    decl: '\tbool locked = false;',
    take: '\t\tif (!locked) {\n\t\t\tlocked = true;\n\t\t\tif (!write_trylock(&kvm->mmu_lock))\n\t\t\t\twrite_lock(&kvm->mmu_lock);\n\t\t}',
    release: '\tif (locked)\n\t\twrite_unlock(&kvm->mmu_lock);',
  },
  'lock skipped for lockless ranges, and lockless is false (later 6.x)': {
    take: '\t\tif (!r.found_memslot) {\n\t\t\tr.found_memslot = true;\n\t\t\tif (!range->lockless)\n\t\t\t\tKVM_MMU_LOCK(kvm);\n\t\t}',
    release: '\tif (r.found_memslot && !range->lockless)\n\t\tKVM_MMU_UNLOCK(kvm);',
  },
};

function source(v: Variant, buggy: boolean): string {
  const body = buggy ? `${CALL}\n${v.take}` : `${v.take}\n${CALL}`;
  return template
    .replace('/*@HELPERS@*/', v.helpers ?? '')
    .replace('/*@DECL@*/', v.decl ?? '')
    .replace('/*@BODY@*/', body)
    .replace('/*@RELEASE@*/', v.release)
    .replace('/*@LOCKLESS@*/false', v.lockless ?? 'false');
}

const analyze = (kvmMain: string): Promise<Analysis> =>
  analyzeTexts({ 'virt/kvm/kvm_main.c': kvmMain, 'arch/arm64/kvm/mmu.c': mmu }, { model: kvmArm64Pgt });

const rows = (a: Analysis): string[] => a.findings.map((f) => `${f.class} ${f.chain.entry.via} ${f.function}`).sort();

describe('precision: the dispatcher written every way kernels write it', () => {
  for (const [name, v] of Object.entries(variants)) {
    it(`${name}: every chain safe`, async () => {
      const a = await analyze(source(v, false));
      assert.deepEqual(rows(a), []);
      const contexts = new Set(a.chains.map(({ chain }) => chain.context));
      assert.ok(contexts.has('mmu-notifier') && contexts.has('teardown'), [...contexts].join());
      for (const { chain, verdict } of a.chains)
        assert.equal(verdict.verdict, 'safe', `${chain.path.join(' > ')}: ${verdict.reason}`);
    });

    it(`${name}: the twin that calls the handler before taking the lock races, with a feasible witness`, async () => {
      const a = await analyze(source(v, true));
      const notifier = a.findings.filter((f) => f.chain.context === 'mmu-notifier');
      assert.ok(notifier.length > 0, rows(a).join('\n') || 'no finding');
      for (const f of notifier) {
        const hazard = f.witness[f.witness.length - 1];
        assert.equal(hazard.hazard, true);
        assert.deepEqual(
          hazard.locks,
          [],
          'the racing walk holds no lock (the lock is taken after the first handler call)',
        );
      }
    });
  }

  it('a lockless range walks without the lock: found when the callers say lockless = true', async () => {
    const v = variants['lock skipped for lockless ranges, and lockless is false (later 6.x)'];
    const a = await analyze(source({ ...v, lockless: 'true' }, false));
    const via = new Set(a.findings.map((f) => f.chain.entry.via));
    assert.ok(
      via.has('kvm_mmu_notifier_ops.clear_young') && via.has('kvm_mmu_notifier_ops.test_young'),
      rows(a).join('\n'),
    );
    assert.ok(
      !via.has('kvm_mmu_notifier_ops.invalidate_range_start'),
      'invalidation passes lockless = false: still safe',
    );
  });
});

describe('precision: blockability flows from the notifier range to the walk', () => {
  it('post-fix shape: the walk reschedules only when the range may block: no finding', async () => {
    const a = await analyze(source(variants['flag in a field of a local struct (6.x r.found_memslot)'], false));
    assert.deepEqual(
      rows(a).filter((r) => r.startsWith('sleeps')),
      [],
    );
  });

  it('pre-fix shape: the walk always reschedules: sleeps-in-nonblocking-context from invalidate_range_start only', async () => {
    const preFix = mmu.replace('kvm_pgtable_stage2_unmap, may_block)', 'kvm_pgtable_stage2_unmap, true)');
    assert.notEqual(preFix, mmu);
    const a = await analyzeTexts(
      {
        'virt/kvm/kvm_main.c': source(variants['flag local (5.13 bool locked)'], false),
        'arch/arm64/kvm/mmu.c': preFix,
      },
      { model: kvmArm64Pgt },
    );
    const sleeps = a.findings.filter((f) => f.class === 'sleeps-in-nonblocking-context');
    assert.deepEqual(
      sleeps.map((f) => `${f.chain.entry.via} ${f.function}`),
      ['kvm_mmu_notifier_ops.invalidate_range_start stage2_apply_range'],
    );
    const last = sleeps[0].witness[sleeps[0].witness.length - 1];
    assert.match(last.action, /cond_resched_rwlock_write/);
    assert.match(sleeps[0].message, /may sleep/);
  });

  it('a constant false passed down never reschedules; a constant true always does', async () => {
    const never = mmu.replace('range->may_block);\n\treturn false;', 'false);\n\treturn false;');
    const always = mmu.replace('range->may_block);\n\treturn false;', 'true);\n\treturn false;');
    assert.ok(never !== mmu && always !== mmu);
    const kvmMain = source(variants['flag local (5.13 bool locked)'], false);
    const a = await analyzeTexts(
      { 'virt/kvm/kvm_main.c': kvmMain, 'arch/arm64/kvm/mmu.c': never },
      { model: kvmArm64Pgt },
    );
    assert.deepEqual(rows(a), []);
    const b = await analyzeTexts(
      { 'virt/kvm/kvm_main.c': kvmMain, 'arch/arm64/kvm/mmu.c': always },
      { model: kvmArm64Pgt },
    );
    assert.deepEqual(rows(b).filter((r) => r.startsWith('sleeps')).length, 1);
  });
});

const copyTemplate = readFileSync(join(fixturesDir, 'precision', 'root-copy', 'mmu.template.c'), 'utf8');

interface CopyVariant {
  setup: string;
  walk: string;
  refresh: string;
}

/** Three ways to keep the root in a copy; the refresh after the drop is what the one-bug twin leaves out. */
const copies: Record<string, CopyVariant> = {
  'a local struct filled by an init helper (gstage->pgd)': {
    setup: '\tkvm_riscv_gstage_init(&gstage, kvm);',
    walk: '\t\tif (!gstage.pgd)\n\t\t\treturn;\n\t\tgstage_clear_pte(&gstage.pgd[gstage_pgd_index(addr)]);',
    refresh: '\t\t\tkvm_riscv_gstage_init(&gstage, kvm);',
  },
  'a helper that returns the root': {
    setup: '\tpgd = kvm_stage2_root(kvm);',
    walk: '\t\tif (!pgd)\n\t\t\treturn;\n\t\tgstage_clear_pte(&pgd[gstage_pgd_index(addr)]);',
    refresh: '\t\t\tpgd = kvm_stage2_root(kvm);',
  },
  'a plain local read with READ_ONCE': {
    setup: '\tpgd = READ_ONCE(kvm->arch.pgd);',
    walk: '\t\tif (!pgd)\n\t\t\treturn;\n\t\tgstage_clear_pte(&pgd[gstage_pgd_index(addr)]);',
    refresh: '\t\t\tpgd = READ_ONCE(kvm->arch.pgd);',
  },
};

const copySource = (v: CopyVariant, stale: boolean): string =>
  copyTemplate
    .replace('/*@SETUP@*/', v.setup)
    .replace('/*@WALK@*/', v.walk)
    .replace('/*@REFRESH@*/', stale ? '\t\t\t/* keeps the copy it made before the drop */' : v.refresh);

describe('precision: copies of the root, fresh after a lock drop or stale', () => {
  for (const [name, v] of Object.entries(copies)) {
    it(`${name}: a fresh copy after every drop, checked: safe`, async () => {
      const a = await analyzeTexts({ 'mmu.c': copySource(v, false) });
      assert.deepEqual(rows(a), []);
      assert.ok(a.chains.some(({ chain }) => chain.context === 'mmu-notifier'));
    });

    it(`${name}: the copy kept across the drop: stale-after-lock-drop, the walk after the retake`, async () => {
      const a = await analyzeTexts({ 'mmu.c': copySource(v, true) });
      const stale = a.findings.filter((f) => f.chain.context === 'mmu-notifier');
      assert.ok(stale.length > 0, rows(a).join('\n') || 'no finding');
      for (const f of stale) {
        assert.equal(f.class, 'stale-after-lock-drop', rows(a).join('\n'));
        assert.ok(
          f.witness.some((s) => s.lane === 0 && /drops/.test(s.action)),
          'the witness shows the drop',
        );
      }
    });
  }
});

/**
 * The same dispatcher rewritten by independent, meaning-preserving choices: where the flag lives, how it is
 * tested, how the lock is taken and released. Every combination must keep every chain safe, and moving the handler
 * call before the lock must always be found.
 */
const flagForms = {
  'struct field': {
    decl: '',
    name: 'r.found_memslot',
    set: 'r.found_memslot = true;',
    isSet: 'r.found_memslot',
    notSet: '!r.found_memslot',
  },
  'bool local': {
    decl: '\tbool locked = false;',
    name: 'locked',
    set: 'locked = true;',
    isSet: 'locked',
    notSet: '!locked',
  },
  'int local': {
    decl: '\tint locked = 0;',
    name: 'locked',
    set: 'locked = 1;',
    isSet: 'locked != 0',
    notSet: 'locked == 0',
  },
  'bool local, tested against false': {
    decl: '\tbool locked = false;',
    name: 'locked',
    set: 'locked = true;',
    isSet: 'locked != false',
    notSet: 'locked == false',
  },
};
const lockForms = {
  macro: { helpers: '', lock: 'KVM_MMU_LOCK(kvm);', unlock: 'KVM_MMU_UNLOCK(kvm);' },
  write_lock: { helpers: '', lock: 'write_lock(&kvm->mmu_lock);', unlock: 'write_unlock(&kvm->mmu_lock);' },
  wrapper: {
    helpers:
      'static void kvm_mmu_lock_wrapped(struct kvm *kvm)\n{\n\twrite_lock(&kvm->mmu_lock);\n}\n\nstatic void kvm_mmu_unlock_wrapped(struct kvm *kvm)\n{\n\twrite_unlock(&kvm->mmu_lock);\n}',
    lock: 'kvm_mmu_lock_wrapped(kvm);',
    unlock: 'kvm_mmu_unlock_wrapped(kvm);',
  },
  'trylock first': {
    helpers: '',
    lock: 'if (!write_trylock(&kvm->mmu_lock))\n\t\t\t\twrite_lock(&kvm->mmu_lock);',
    unlock: 'write_unlock(&kvm->mmu_lock);',
  },
};

function rewritten(flag: keyof typeof flagForms, lockForm: keyof typeof lockForms, setBeforeLock: boolean): Variant {
  const f = flagForms[flag];
  const l = lockForms[lockForm];
  const inner = setBeforeLock ? `\t\t\t${f.set}\n\t\t\t${l.lock}` : `\t\t\t${l.lock}\n\t\t\t${f.set}`;
  return {
    helpers: l.helpers,
    decl: f.decl,
    take: `\t\tif (${f.notSet}) {\n${inner}\n\t\t}`,
    release: `\tif (${f.isSet})\n\t\t${l.unlock}`,
  };
}

describe('precision property: meaning-preserving rewrites keep the verdicts (fast-check)', () => {
  it('every combination of flag form, lock form and statement order is safe, and its twin is found', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(flagForms) as (keyof typeof flagForms)[])),
        fc.constantFrom(...(Object.keys(lockForms) as (keyof typeof lockForms)[])),
        fc.boolean(),
        async (flag, lockForm, setBeforeLock) => {
          const v = rewritten(flag, lockForm, setBeforeLock);
          const safe = await analyze(source(v, false));
          assert.deepEqual(rows(safe), [], `${flag} / ${lockForm}`);
          assert.ok(safe.chains.every(({ verdict }) => verdict.verdict === 'safe'));
          const twin = await analyze(source(v, true));
          assert.ok(
            twin.findings.some((f) => f.chain.context === 'mmu-notifier'),
            `${flag} / ${lockForm}: twin not found`,
          );
        },
      ),
      { numRuns: Number(process.env.LOCKPATH_PROPERTY_RUNS ?? 12), seed: 13 },
    );
  });
});
