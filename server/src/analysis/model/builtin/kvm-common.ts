// What every KVM port shares: the kernel's lock vocabulary, sleeping calls, the mmu-notifier's blockability, the
// core's contexts, teardown paths and the assumptions about fds and mm users. Ports add their root, lock and hooks.
import type { AssumptionSpec, ContextSpec, LockOp, Model, TeardownPathSpec } from '../types';

export const kvmContexts: ContextSpec[] = [
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

export const kernelLockOps: LockOp[] = [
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
export const kernelSleepCalls = [
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
export const notifierViaMayBlock: Model['viaMayBlock'] = {
  invalidate_range_start: 'per-call',
  clear_flush_young: 'never',
  clear_young: 'never',
  test_young: 'never',
  change_pte: 'never',
};

export const kvmTeardownPaths: TeardownPathSpec[] = [
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

export const kvmAssumptions: AssumptionSpec[] = [
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

/** An mmu-notifier hook: the core calls it under kvm->mmu_lock. */
export const notifierHook = (fn: string, via: string[]) => ({
  function: fn,
  context: 'mmu-notifier',
  via,
  locksHeld: ['mmu_lock'],
});
