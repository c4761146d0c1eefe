// The statements generated notifier hooks are made of (properties.test.ts, reduction.test.ts): lock operations,
// guards, reads and dereferences of the stage-2 root, lock drops and a loop, each as kernel-style C.
export type HookOp = 'lock' | 'unlock' | 'guard' | 'read' | 'deref' | 'dfield' | 'resched' | 'loop';

export const hookC: Record<HookOp, string> = {
  lock: '\tspin_lock(&kvm->mmu_lock);',
  unlock: '\tspin_unlock(&kvm->mmu_lock);',
  guard: '\tif (!kvm->arch.pgd)\n\t\treturn 0;',
  read: '\tpgd = kvm->arch.pgd;',
  deref: '\twalk(*pgd);',
  dfield: '\twalk(*kvm->arch.pgd);',
  resched: '\tcond_resched_lock(&kvm->mmu_lock);',
  loop: '\twhile (more(kvm))\n\t\twalk(*pgd);',
};
