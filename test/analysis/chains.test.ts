// Chains with contexts on the bundled v4.12 example: the maintainer's caller table from the 2017 thread, the
// chains the thread did not list, built-in versus derived contexts, and a golden file of every chain.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Analysis } from '../../server/src/analysis';
import { analyzeTexts, chainLines, exampleDir, readDir, repoRoot } from '../helpers';

let derived: Analysis;
let builtin: Analysis;
before(async () => {
  derived = await analyzeTexts(readDir(exampleDir));
  builtin = await analyzeTexts(readDir(exampleDir, (rel) => rel.endsWith('arm/mmu.c')));
});

/** Chains whose path runs through `segment` in order, as "context via". */
function through(a: Analysis, segment: string[]): { context: string; via: string; guards: string[]; path: string[] }[] {
  return a.chains
    .filter(({ chain }) => chain.path.join('>').includes(segment.join('>')))
    .map(({ chain }) => ({
      context: chain.context,
      via: chain.entry.via,
      guards: chain.guards.map((g) => g.function),
      path: chain.path,
    }));
}

const contextsOf = (a: Analysis, segment: string[]): string[] =>
  [...new Set(through(a, segment).map((c) => c.context))].sort();

describe("the maintainer's caller table (LKML, 2017-07-06)", () => {
  it('user_mem_abort and handle_access_fault reach stage2_get_pmd from the VCPU thread only', () => {
    assert.deepEqual(
      contextsOf(derived, ['user_mem_abort', 'stage2_set_pmd_huge', 'stage2_get_pmd', 'stage2_get_pud']),
      ['vcpu'],
    );
    assert.deepEqual(contextsOf(derived, ['user_mem_abort', 'stage2_set_pte', 'stage2_get_pmd', 'stage2_get_pud']), [
      'vcpu',
    ]);
    assert.deepEqual(contextsOf(derived, ['handle_access_fault', 'stage2_get_pmd', 'stage2_get_pud']), ['vcpu']);
    const hops = derived.chains.find(({ chain }) => chain.path.includes('user_mem_abort'))!.chain.hops;
    assert.ok(
      hops.some((h) => h.function === 'kvm_handle_guest_abort' && h.via.startsWith('table arm_exit_handlers')),
      'the exit-handler array is followed',
    );
  });

  it('kvm_set_spte_handler reaches stage2_get_pmd from the mmu notifier, guarded in kvm_set_spte_hva', () => {
    const chains = through(derived, ['kvm_set_spte_handler', 'stage2_set_pte', 'stage2_get_pmd']);
    assert.deepEqual([...new Set(chains.map((c) => c.context))], ['mmu-notifier']);
    assert.ok(chains.every((c) => c.guards.includes('kvm_set_spte_hva')));
    assert.ok(chains.every((c) => c.via === 'kvm_mmu_notifier_ops.change_pte'));
  });

  it('kvm_phys_addr_ioremap is reached from vgic_v2_map_resources (VCPU) and kvm_arch_prepare_memory_region (VM ioctl)', () => {
    assert.deepEqual(
      contextsOf(derived, ['vgic_v2_map_resources', 'kvm_phys_addr_ioremap', 'stage2_set_pte', 'stage2_get_pmd']),
      ['vcpu'],
    );
    assert.deepEqual(
      contextsOf(derived, [
        'kvm_arch_prepare_memory_region',
        'kvm_phys_addr_ioremap',
        'stage2_set_pte',
        'stage2_get_pmd',
      ]),
      ['vm-ioctl'],
    );
  });

  it('the aging handlers reach stage2_get_pmd from the mmu notifier with no guard; kvm_age_hva from both young callbacks', () => {
    const age = through(derived, ['kvm_age_hva', 'handle_hva_to_gpa', 'kvm_age_hva_handler', 'stage2_get_pmd']);
    assert.deepEqual(age.map((c) => c.via).sort(), [
      'kvm_mmu_notifier_ops.clear_flush_young',
      'kvm_mmu_notifier_ops.clear_young',
    ]);
    const test = through(derived, [
      'kvm_test_age_hva',
      'handle_hva_to_gpa',
      'kvm_test_age_hva_handler',
      'stage2_get_pmd',
    ]);
    assert.deepEqual(
      test.map((c) => c.via),
      ['kvm_mmu_notifier_ops.test_young'],
    );
    assert.ok([...age, ...test].every((c) => c.context === 'mmu-notifier' && c.guards.length === 0));
  });

  it('function-pointer parameters follow what each caller passes, not every handler', () => {
    for (const { chain } of derived.chains) {
      const p = chain.path.join('>');
      if (p.includes('kvm_age_hva>')) assert.ok(!/kvm_(set_spte|unmap_hva|test_age_hva)_handler/.test(p), p);
      if (p.includes('kvm_set_spte_hva>')) assert.ok(!/kvm_(age|test_age|unmap)_hva_handler/.test(p), p);
    }
  });
});

describe('chains the thread did not list', () => {
  it('unmap_stage2_range: notifier invalidate paths, stage2_unmap_vm, memslot flush and the teardown itself', () => {
    const ctx = (seg: string[]): string[] => contextsOf(derived, [...seg, 'unmap_stage2_range']);
    assert.deepEqual(ctx(['kvm_unmap_hva_range', 'handle_hva_to_gpa', 'kvm_unmap_hva_handler']), ['mmu-notifier']);
    assert.deepEqual(ctx(['kvm_unmap_hva', 'handle_hva_to_gpa', 'kvm_unmap_hva_handler']), ['mmu-notifier']);
    assert.deepEqual(ctx(['stage2_unmap_vm', 'stage2_unmap_memslot']), ['vcpu']);
    assert.deepEqual(ctx(['kvm_arch_flush_shadow_memslot']), ['vm-ioctl']);
    assert.deepEqual(ctx(['kvm_free_stage2_pgd']), ['teardown']);
    const teardown = through(derived, ['kvm_free_stage2_pgd', 'unmap_stage2_range'])
      .map((c) => c.via)
      .sort();
    assert.deepEqual([...new Set(teardown)], ['kvm_destroy_vm', 'kvm_mmu_notifier_ops.release'], 'both teardown paths');
  });

  it('stage2_flush_memslot: VCPU cache maintenance and the memory-region ioctl; stage2_wp_range: dirty logging ioctls', () => {
    assert.deepEqual(contextsOf(derived, ['stage2_flush_vm', 'stage2_flush_memslot']), ['vcpu']);
    assert.deepEqual(contextsOf(derived, ['kvm_arch_prepare_memory_region', 'stage2_flush_memslot']), ['vm-ioctl']);
    assert.deepEqual(contextsOf(derived, ['stage2_wp_range']), ['vm-ioctl']);
    assert.ok(through(derived, ['kvm_vm_ioctl_get_dirty_log']).some((c) => c.path.at(-1) === 'stage2_wp_range'));
    assert.ok(
      through(derived, ['kvm_arch_commit_memory_region', 'kvm_mmu_wp_memory_region', 'stage2_wp_range']).length > 0,
    );
  });

  it('no chain from a pinned context walks into kvm_destroy_vm (it runs only when the last reference is gone)', () => {
    for (const { chain } of derived.chains) {
      if (chain.context === 'vcpu' || chain.context === 'vm-ioctl')
        assert.ok(!chain.path.includes('kvm_destroy_vm'), chain.path.join(' > '));
    }
  });
});

describe('contexts: derived from the tree versus the built-in hook table', () => {
  /** (first model hook on the path, context) pairs: the same whichever way the context was found. */
  const hookContexts = (a: Analysis): string[] => {
    const hooks = new Set(a.model.hooks.map((h) => h.function));
    return [
      ...new Set(
        a.chains.map(
          ({ chain }) => `${chain.path.find((f) => hooks.has(f)) ?? '?'} ${chain.context} ${chain.walker.name}`,
        ),
      ),
    ].sort();
  };

  it('mmu.c alone uses the built-in table; with kvm_main.c, arm.c and handle_exit.c the ops tables and exit handlers', () => {
    assert.ok(builtin.entries.every((e) => !e.derived));
    assert.ok(derived.entries.some((e) => e.derived && e.via === 'kvm_mmu_notifier_ops.clear_young'));
    assert.ok(derived.entries.some((e) => e.derived && e.via === 'kvm_vcpu_fops.unlocked_ioctl'));
  });

  it('give the same context for every hook and walker', () => {
    const b = hookContexts(builtin);
    const d = hookContexts(derived).filter(
      (l) => !l.startsWith('? ') && b.some((x) => x.split(' ')[0] === l.split(' ')[0]),
    );
    assert.deepEqual(
      d,
      b.filter((l) => d.some((x) => x.split(' ')[0] === l.split(' ')[0])),
    );
    assert.ok(b.length >= 15, `${b.length} hook/context/walker rows`);
    assert.ok(
      derived.contextChecks.length >= 8 && derived.contextChecks.every((c) => c.agrees),
      JSON.stringify(derived.contextChecks),
    );
  });

  it('the built-in table enters kvm_age_hva once per callback, like the ops table does', () => {
    const vias = builtin.chains
      .filter(({ chain }) => chain.entry.fn.name === 'kvm_age_hva')
      .map(({ chain }) => chain.entry.via);
    assert.deepEqual([...new Set(vias)].sort(), ['clear_flush_young', 'clear_young']);
  });

  it('a built-in hook the tree reaches from another context is reported', async () => {
    const a = await analyzeTexts({
      'mmu.c':
        'int kvm_age_hva(struct kvm *kvm)\n{\n\tpgd_t *pgd = kvm->arch.pgd;\n\treturn stage2_pgd_none(*pgd);\n}\n',
      'main.c':
        'static long kvm_vm_ioctl(struct file *f)\n{\n\treturn kvm_age_hva(f->private_data);\n}\nstatic struct file_operations kvm_vm_fops = {\n\t.unlocked_ioctl = kvm_vm_ioctl,\n};\n',
    });
    const check = a.contextChecks.find((c) => c.hook === 'kvm_age_hva');
    assert.deepEqual(check, { hook: 'kvm_age_hva', builtin: 'mmu-notifier', derived: ['vm-ioctl'], agrees: false });
    assert.ok(a.problems.some((p) => p.message.includes('kvm_age_hva runs as mmu-notifier')));
  });
});

describe('determinism and the golden table', () => {
  it('gives the same chains whatever order the files arrive in', async () => {
    const files = readDir(exampleDir);
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    assert.deepEqual(chainLines(await analyzeTexts(reversed)), chainLines(derived));
  });

  it('matches test/golden/example-chains.txt (LOCKPATH_UPDATE_GOLDEN=1 rewrites it)', () => {
    const golden = join(repoRoot, 'test', 'golden', 'example-chains.txt');
    const text = `${chainLines(derived).join('\n')}\n`;
    if (process.env.LOCKPATH_UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, text);
    assert.equal(text, readFileSync(golden, 'utf8'));
  });
});
