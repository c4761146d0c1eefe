/*
 * lockpath test reduction of virt/kvm/arm/vgic/vgic-init.c as of Linux v4.12.
 * This is NOT kernel source: only the first-run mapping entry point is kept,
 * rewritten. It runs on a VCPU thread (kvm_vcpu_first_run_init) under
 * kvm->lock, which is unrelated to kvm->mmu_lock.
 */

#include <linux/uaccess.h>
#include <linux/interrupt.h>
#include <linux/cpu.h>
#include <linux/kvm_host.h>
#include <kvm/arm_vgic.h>
#include <asm/kvm_mmu.h>
#include "vgic.h"

/*
 * Map the per-model resources (for GICv2: the virtual CPU interface into
 * the guest IPA space) once, before the first VCPU enters the guest.
 */
int kvm_vgic_map_resources(struct kvm *kvm)
{
	struct vgic_dist *dist = &kvm->arch.vgic;
	int ret = 0;

	mutex_lock(&kvm->lock);
	if (!irqchip_in_kernel(kvm))
		goto out;

	if (dist->vgic_model == KVM_DEV_TYPE_ARM_VGIC_V2)
		ret = vgic_v2_map_resources(kvm);
	else
		ret = vgic_v3_map_resources(kvm);
out:
	mutex_unlock(&kvm->lock);
	return ret;
}
