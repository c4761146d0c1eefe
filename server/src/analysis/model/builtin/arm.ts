// KVM arm/arm64: kvm->arch.pgd up to v5.8, struct kvm_s2_mmu's pgt from v5.9. Facts: ../shared/domain/stage2-lifetime.md.
import type { Model } from '../types';
import {
  kernelLockOps,
  kernelSleepCalls,
  kvmAssumptions,
  kvmContexts,
  kvmTeardownPaths,
  notifierHook,
  notifierViaMayBlock,
} from './kvm-common';

/** kvm->arch.pgd, virt/kvm/arm/mmu.c (and arch/arm/kvm/mmu.c before v4.12), up to about v5.8. */
export const kvmArmV4: Model = {
  id: 'kvm-arm-v4',
  description: 'KVM arm/arm64 up to v5.8: stage-2 root kvm->arch.pgd, spinlock kvm->mmu_lock',
  source: 'built-in',
  detect: ['arch.pgd'],
  resource: { display: 'kvm->arch.pgd', fieldPath: ['arch', 'pgd'], walkTypes: ['pgd_t', 'pud_t', 'pmd_t', 'pte_t'] },
  freeFunction: 'kvm_free_stage2_pgd',
  lock: { name: 'mmu_lock', display: 'kvm->mmu_lock', kind: 'spinlock' },
  lockOps: kernelLockOps,
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
  sleepCalls: kernelSleepCalls,
  blockability: { queries: ['mmu_notifier_range_blockable'], flags: ['MMU_NOTIFIER_RANGE_BLOCKABLE'] },
  viaMayBlock: notifierViaMayBlock,
  contexts: kvmContexts,
  hooks: [
    notifierHook('kvm_unmap_hva', ['invalidate_page']),
    notifierHook('kvm_unmap_hva_range', ['invalidate_range_start']),
    notifierHook('kvm_set_spte_hva', ['change_pte']),
    notifierHook('kvm_age_hva', ['clear_flush_young', 'clear_young']),
    notifierHook('kvm_test_age_hva', ['test_young']),
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
  teardownPaths: kvmTeardownPaths,
  assumptions: kvmAssumptions,
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
    notifierHook('kvm_unmap_gfn_range', ['invalidate_range_start']),
    notifierHook('kvm_set_spte_gfn', ['change_pte']),
    notifierHook('kvm_age_gfn', ['clear_flush_young', 'clear_young']),
    notifierHook('kvm_test_age_gfn', ['test_young']),
    ...kvmArmV4.hooks.filter((h) => h.context !== 'mmu-notifier'),
  ],
};
