/*
 * lockpath test reduction of virt/kvm/arm/vgic/vgic-v2.c as of Linux v4.12.
 * This is NOT kernel source: only vgic_v2_map_resources is kept, rewritten.
 * Its call to kvm_phys_addr_ioremap is one of the stage-2 chains discussed
 * in the 2017 thread (VCPU thread, first run).
 */

#include <linux/irqchip/arm-gic.h>
#include <linux/kvm.h>
#include <linux/kvm_host.h>
#include <kvm/arm_vgic.h>
#include <asm/kvm_mmu.h>

#include "vgic.h"

/* Sanity check the two guest-physical frames the user gave us. */
static bool vgic_v2_check_base(gpa_t dist_base, gpa_t cpu_base)
{
	gpa_t dist_end = dist_base + KVM_VGIC_V2_DIST_SIZE;
	gpa_t cpu_end = cpu_base + KVM_VGIC_V2_CPU_SIZE;

	/* wrap-around, then overlap */
	if (dist_end < dist_base || cpu_end < cpu_base)
		return false;
	return dist_end <= cpu_base || cpu_end <= dist_base;
}

int vgic_v2_map_resources(struct kvm *kvm)
{
	struct vgic_dist *dist = &kvm->arch.vgic;
	int ret;

	if (vgic_ready(kvm))
		return 0;

	/* userspace must have placed both frames, without overlap */
	if (IS_VGIC_ADDR_UNDEF(dist->vgic_dist_base) ||
	    IS_VGIC_ADDR_UNDEF(dist->vgic_cpu_base))
		return -ENXIO;
	if (!vgic_v2_check_base(dist->vgic_dist_base, dist->vgic_cpu_base))
		return -EINVAL;

	/* may already have been done on demand by a userspace access */
	ret = vgic_init(kvm);
	if (!ret)
		ret = vgic_register_dist_iodev(kvm, dist->vgic_dist_base, VGIC_V2);
	if (ret) {
		kvm_err("vgic-v2: setup failed (%d)\n", ret);
		return ret;
	}

	/*
	 * Without CPU-interface trapping the guest gets the hardware GICV
	 * frame mapped at its GICC address: a stage-2 mapping, built on the
	 * first VCPU run.
	 */
	if (!static_branch_unlikely(&vgic_v2_cpuif_trap)) {
		ret = kvm_phys_addr_ioremap(kvm, dist->vgic_cpu_base,
					    kvm_vgic_global_state.vcpu_base,
					    KVM_VGIC_V2_CPU_SIZE, true);
		if (ret)
			return ret;
	}

	dist->ready = true;
	return 0;
}
