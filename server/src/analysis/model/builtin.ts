// Built-in models, one per kernel generation. The facts come from ../shared/domain/stage2-lifetime.md.
import type { AssumptionSpec, ContextSpec, LockOp, Model, TeardownPathSpec } from './types';

const contexts: ContextSpec[] = [
  { id: 'vcpu', label: 'VCPU thread' },
  { id: 'vm-ioctl', label: 'VM ioctl' },
  { id: 'mmu-notifier', label: 'mmu notifier' },
  { id: 'teardown', label: 'teardown' },
];

/** The kernel's lock families, each with its _irq/_irqsave/_bh forms: spin, raw_spin, rw; mutex and rwsem sleep. */
function lockFamily(
  acquire: string[],
  release: string[],
  trylock: string[],
  mode: LockOp['mode'],
  sleeps = false,
): LockOp[] {
  const forms = (names: string[], op: LockOp['op']): LockOp[] =>
    names.map((function_) => ({ function: function_, op, mode, ...(sleeps && op !== 'release' ? { sleeps } : {}) }));
  return [...forms(acquire, 'acquire'), ...forms(release, 'release'), ...forms(trylock, 'trylock')];
}
const irqForms = (base: string): string[] => [base, `${base}_irq`, `${base}_irqsave`, `${base}_bh`, `${base}_nested`];
const unlockForms = (base: string): string[] => [base, `${base}_irq`, `${base}_irqrestore`, `${base}_bh`];

const lockOps: LockOp[] = [
  ...lockFamily(
    [...irqForms('spin_lock'), ...irqForms('raw_spin_lock')],
    [...unlockForms('spin_unlock'), ...unlockForms('raw_spin_unlock')],
    [
      'spin_trylock',
      'spin_trylock_irq',
      'spin_trylock_irqsave',
      'spin_trylock_bh',
      'raw_spin_trylock',
      'raw_spin_trylock_irqsave',
    ],
    'exclusive',
  ),
  ...lockFamily(
    irqForms('write_lock'),
    unlockForms('write_unlock'),
    ['write_trylock', 'write_trylock_irqsave'],
    'exclusive',
  ),
  ...lockFamily(irqForms('read_lock'), unlockForms('read_unlock'), ['read_trylock'], 'shared'),
  ...lockFamily(
    ['mutex_lock', 'mutex_lock_interruptible', 'mutex_lock_killable', 'mutex_lock_nested'],
    ['mutex_unlock'],
    ['mutex_trylock'],
    'exclusive',
    true,
  ),
  ...lockFamily(
    ['down_write', 'down_write_killable', 'down_write_nested'],
    ['up_write'],
    ['down_write_trylock'],
    'exclusive',
    true,
  ),
  ...lockFamily(
    ['down_read', 'down_read_killable', 'down_read_nested'],
    ['up_read'],
    ['down_read_trylock'],
    'shared',
    true,
  ),
  { function: 'cond_resched_lock', op: 'resched', mode: 'exclusive' },
  { function: 'cond_resched_rwlock_write', op: 'resched', mode: 'exclusive' },
  { function: 'cond_resched_rwlock_read', op: 'resched', mode: 'shared' },
  // kvm_main.c's wrappers: write_lock on rwlock architectures (arm64 since v5.15), spin_lock before.
  { function: 'KVM_MMU_LOCK', op: 'acquire', mode: 'exclusive', lock: 'mmu_lock' },
  { function: 'KVM_MMU_UNLOCK', op: 'release', mode: 'exclusive', lock: 'mmu_lock' },
];

/** Calls that may sleep besides sleeping locks and reschedules (a walk reached from a non-blocking call must not). */
const sleepCalls = [
  'cond_resched',
  'might_sleep',
  'schedule',
  'msleep',
  'usleep_range',
  'synchronize_rcu',
  'synchronize_srcu',
];

/**
 * mmu-notifier callbacks by how they may be called: an invalidation may be non-blockable (the OOM reaper's, since
 * v4.19: mmu_notifier_range_blockable(range) is false); the young and change_pte callbacks run under page-table locks.
 */
const viaMayBlock: Model['viaMayBlock'] = {
  invalidate_range_start: 'per-call',
  clear_flush_young: 'never',
  clear_young: 'never',
  test_young: 'never',
  change_pte: 'never',
};

const teardownPaths: TeardownPathSpec[] = [
  {
    id: 'exit_mmap',
    label: 'exit_mmap',
    frames: ['do_exit', 'exit_mm', 'mmput', '__mmput', 'exit_mmap', 'mmu_notifier_release'],
    requires: 'mm-user',
  },
  {
    id: 'kvm_destroy_vm',
    label: 'kvm_destroy_vm',
    frames: ['kvm_put_kvm', 'kvm_destroy_vm', 'mmu_notifier_unregister'],
    startFunction: 'kvm_destroy_vm',
    requires: 'kvm-ref',
  },
];

const assumptions: AssumptionSpec[] = [
  {
    id: 'vcpu-fd-pins-kvm',
    description:
      'A VCPU ioctl runs on an open vcpu fd, which holds a reference on struct kvm: kvm_destroy_vm cannot start.',
    enabled: true,
    context: 'vcpu',
    pin: 'kvm-ref',
  },
  {
    id: 'vcpu-thread-pins-mm',
    description:
      'A running VCPU thread is a user of kvm->mm (kvm_vcpu_ioctl rejects a caller whose mm is not kvm->mm): exit_mmap cannot start.',
    enabled: true,
    context: 'vcpu',
    pin: 'mm-user',
  },
  {
    id: 'vm-fd-pins-kvm',
    description:
      'A VM ioctl runs on an open VM fd, which holds a reference on struct kvm: kvm_destroy_vm cannot start.',
    enabled: true,
    context: 'vm-ioctl',
    pin: 'kvm-ref',
  },
  {
    id: 'vm-ioctl-pins-mm',
    description:
      'kvm_vm_ioctl rejects a caller whose mm is not kvm->mm, so the caller is a user of that mm: exit_mmap cannot start.',
    enabled: true,
    context: 'vm-ioctl',
    pin: 'mm-user',
  },
  {
    id: 'releases-may-overlap',
    description:
      'exit_mmap (mmu_notifier_release) and kvm_destroy_vm (mmu_notifier_unregister) may both call ->release, at the same time.',
    enabled: true,
  },
];

const notifier = (fn: string, via: string[]) => ({
  function: fn,
  context: 'mmu-notifier',
  via,
  locksHeld: ['mmu_lock'],
});

/** kvm->arch.pgd, virt/kvm/arm/mmu.c (and arch/arm/kvm/mmu.c before v4.12), up to about v5.8. */
export const kvmArmV4: Model = {
  id: 'kvm-arm-v4',
  description: 'KVM arm/arm64 up to v5.8: stage-2 root kvm->arch.pgd, spinlock kvm->mmu_lock',
  source: 'built-in',
  detect: ['arch.pgd'],
  resource: { display: 'kvm->arch.pgd', fieldPath: ['arch', 'pgd'], walkTypes: ['pgd_t', 'pud_t', 'pmd_t', 'pte_t'] },
  freeFunction: 'kvm_free_stage2_pgd',
  lock: { name: 'mmu_lock', display: 'kvm->mmu_lock', kind: 'spinlock' },
  lockOps,
  freeCalls: ['free_pages_exact', 'free_pages', 'kfree', 'kvfree', 'free_page', '__free_pages', 'kvm_free_hwpgd'],
  addressOnlyCalls: [
    'virt_to_phys',
    '__pa',
    '__virt_to_phys',
    'virt_to_page',
    'page_to_phys',
    'offset_in_page',
    'kvm_phys_to_vttbr',
    'IS_ERR',
    'IS_ERR_OR_NULL',
    'PTR_ERR',
    'assert_spin_locked',
    'lockdep_assert_held',
  ],
  // Every KVM architecture modelled here selects the mmu notifier (arch/*/kvm/Kconfig).
  config: { CONFIG_MMU_NOTIFIER: true, CONFIG_KVM_GENERIC_MMU_NOTIFIER: true },
  sleepCalls,
  blockability: { queries: ['mmu_notifier_range_blockable'], flags: ['MMU_NOTIFIER_RANGE_BLOCKABLE'] },
  viaMayBlock,
  contexts,
  hooks: [
    notifier('kvm_unmap_hva', ['invalidate_page']),
    notifier('kvm_unmap_hva_range', ['invalidate_range_start']),
    notifier('kvm_set_spte_hva', ['change_pte']),
    notifier('kvm_age_hva', ['clear_flush_young', 'clear_young']),
    notifier('kvm_test_age_hva', ['test_young']),
    { function: 'kvm_arch_flush_shadow_all', context: 'teardown', via: ['release'], locksHeld: [] },
    { function: 'kvm_handle_guest_abort', context: 'vcpu', via: ['KVM_RUN exit handler'], locksHeld: [] },
    { function: 'kvm_set_way_flush', context: 'vcpu', via: ['set/way cache maintenance trap'], locksHeld: [] },
    { function: 'kvm_toggle_cache', context: 'vcpu', via: ['SCTLR cache toggle trap'], locksHeld: [] },
    { function: 'vgic_v2_map_resources', context: 'vcpu', via: ['first KVM_RUN'], locksHeld: [] },
    { function: 'kvm_arch_vcpu_ioctl_vcpu_init', context: 'vcpu', via: ['KVM_ARM_VCPU_INIT'], locksHeld: [] },
    {
      function: 'kvm_arch_prepare_memory_region',
      context: 'vm-ioctl',
      via: ['KVM_SET_USER_MEMORY_REGION'],
      locksHeld: [],
    },
    {
      function: 'kvm_arch_commit_memory_region',
      context: 'vm-ioctl',
      via: ['KVM_SET_USER_MEMORY_REGION'],
      locksHeld: [],
    },
    {
      function: 'kvm_arch_flush_shadow_memslot',
      context: 'vm-ioctl',
      via: ['KVM_SET_USER_MEMORY_REGION'],
      locksHeld: [],
    },
    {
      function: 'kvm_arch_mmu_enable_log_dirty_pt_masked',
      context: 'vm-ioctl',
      via: ['KVM_GET_DIRTY_LOG'],
      locksHeld: ['mmu_lock'],
    },
  ],
  entryTables: [
    {
      structType: 'mmu_notifier_ops',
      fields: {
        invalidate_page: 'mmu-notifier',
        invalidate_range_start: 'mmu-notifier',
        invalidate_range_end: 'mmu-notifier',
        clear_flush_young: 'mmu-notifier',
        clear_young: 'mmu-notifier',
        test_young: 'mmu-notifier',
        change_pte: 'mmu-notifier',
        release: 'teardown',
      },
    },
    {
      structType: 'file_operations',
      variable: 'kvm_vcpu_fops',
      fields: { unlocked_ioctl: 'vcpu', compat_ioctl: 'vcpu' },
    },
    {
      structType: 'file_operations',
      variable: 'kvm_vm_fops',
      fields: { unlocked_ioctl: 'vm-ioctl', compat_ioctl: 'vm-ioctl' },
    },
  ],
  externalInvokes: [
    { function: 'mmu_notifier_unregister', structType: 'mmu_notifier_ops', field: 'release' },
    { function: 'mmu_notifier_release', structType: 'mmu_notifier_ops', field: 'release' },
  ],
  teardownPaths,
  assumptions,
};

/**
 * arch/arm64/kvm/mmu.c from about v5.9: the root is struct kvm_s2_mmu's pgt (kvm->arch.mmu.pgt, mmu->pgt,
 * vcpu->arch.hw_mmu->pgt), walked through kvm_pgtable_stage2_*; kvm->mmu_lock is an rwlock from v5.15; the
 * mmu-notifier hooks take gfn ranges and are reached through kvm_main.c's hva-range handlers.
 */
export const kvmArm64Pgt: Model = {
  ...kvmArmV4,
  id: 'kvm-arm64-pgt',
  description: 'KVM arm64 from v5.9: stage-2 root kvm->arch.mmu.pgt (struct kvm_s2_mmu), rwlock kvm->mmu_lock',
  detect: ['arch.mmu.pgt', 'mmu->pgt', 'kvm_pgtable_stage2'],
  resource: { display: 'kvm->arch.mmu.pgt', fieldPath: ['pgt'], walkTypes: ['struct kvm_pgtable'] },
  lock: { name: 'mmu_lock', display: 'kvm->mmu_lock', kind: 'rwlock' },
  freeCalls: [...kvmArmV4.freeCalls, 'kvm_pgtable_stage2_destroy'],
  hooks: [
    notifier('kvm_unmap_gfn_range', ['invalidate_range_start']),
    notifier('kvm_set_spte_gfn', ['change_pte']),
    notifier('kvm_age_gfn', ['clear_flush_young', 'clear_young']),
    notifier('kvm_test_age_gfn', ['test_young']),
    ...kvmArmV4.hooks.filter((h) => h.context !== 'mmu-notifier'),
  ],
};

export const builtinModels: Model[] = [kvmArmV4, kvmArm64Pgt];
