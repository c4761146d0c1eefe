/*@@ about @@
 * The C text of scripts/gen-synthetic.mjs: synthetic benchmark input with the shapes of virt/kvm/arm/mmu.c (v4.12
 * era). Our own text, NOT kernel source. The generator reads the sections below (each starts at a line
 * "/*@@ NAME @@" + "*" + "/"), and fills each unit in:
 *   {{name}}               a value (names, numbers, descriptions)
 *   {{#flag}}...{{/flag}}  kept when the flag is on; {{^flag}}...{{/flag}} when it is off. A marker alone on its line
 *                          takes the line with it.
 * core: the part of mmu.c every tree has once. unit: one walker family, a lookup, a handler, an hva hook and its
 * notifier callback, and hyp-table walkers of the same shape; gen-synthetic.mjs picks each unit's variant.
 */
/*@@ core @@*/
/*
 * SYNTHETIC input for lockpath's benchmark (scripts/gen-synthetic.mjs). NOT kernel source: generated text with
 * the shapes of virt/kvm/arm/mmu.c (v4.12 era) -- stage-2 walkers, hva handlers, notifier hooks, teardown.
 */

#include <linux/kvm_host.h>
#include <linux/mman.h>
#include <trace/events/kvm.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_emulate.h>

#define S2_PGD_SIZE	(PTRS_PER_S2_PGD * sizeof(pgd_t))

/* Hyp page tables: another root that merely shares the pgd_t type (never the stage-2 root). */
pgd_t *hyp_pgd;
DEFINE_MUTEX(kvm_hyp_pgd_mutex);

#define KVM_S2PTE_FLAG_IS_IOMAP		(1UL << 0)
#define KVM_S2_FLAG_LOGGING_ACTIVE	(1UL << 1)

void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	kvm_call_hyp(__kvm_tlb_flush_vmid, kvm);
}

void kvm_tlb_flush_vmid_ipa(struct kvm *kvm, phys_addr_t ipa)
{
	kvm_call_hyp(__kvm_tlb_flush_vmid_ipa, kvm, ipa);
}

bool kvm_is_device_pfn(unsigned long pfn)
{
	return !pfn_valid(pfn);
}

static inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}

static int mmu_topup_memory_cache(struct kvm_mmu_memory_cache *cache, int min, int max)
{
	void *page;

	BUG_ON(max > KVM_NR_MEM_OBJS);
	if (cache->nobjs >= min)
		return 0;
	while (cache->nobjs < max) {
		page = (void *)__get_free_page(PGALLOC_GFP);
		if (!page)
			return -ENOMEM;
		cache->objects[cache->nobjs++] = page;
	}
	return 0;
}

static void mmu_free_memory_cache(struct kvm_mmu_memory_cache *mc)
{
	while (mc->nobjs)
		free_page((unsigned long)mc->objects[--mc->nobjs]);
}

static void *mmu_memory_cache_alloc(struct kvm_mmu_memory_cache *mc)
{
	BUG_ON(!mc || !mc->nobjs);
	return mc->objects[--mc->nobjs];
}

static void clear_stage2_pgd_entry(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr)
{
	pud_t *pud_table __maybe_unused = stage2_pud_offset(pgd, 0UL);

	stage2_pgd_clear(pgd);
	kvm_tlb_flush_vmid_ipa(kvm, addr);
	stage2_pud_free(pud_table);
	put_page(virt_to_page(pgd));
}

/* ---- unmapping ---------------------------------------------------------- */

static void unmap_stage2_ptes(struct kvm *kvm, pmd_t *pmd, phys_addr_t addr, phys_addr_t end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);

	do {
		if (pte_none(*pte))
			continue;
		{
			pte_t old = *pte;

			kvm_set_pte(pte, __pte(0));
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			if (!kvm_is_device_pfn(pte_pfn(old)))
				kvm_flush_dcache_pte(old);
			put_page(virt_to_page(pte));
		}
	} while (pte++, addr += PAGE_SIZE, addr != end);
}

static void unmap_stage2_pmds(struct kvm *kvm, pud_t *pud, phys_addr_t addr, phys_addr_t end)
{
	phys_addr_t next;
	pmd_t *pmd = stage2_pmd_offset(pud, addr);

	do {
		next = stage2_pmd_addr_end(addr, end);
		if (pmd_none(*pmd))
			continue;
		if (!pmd_thp_or_huge(*pmd)) {
			unmap_stage2_ptes(kvm, pmd, addr, next);
		} else {
			pmd_t old = *pmd;

			pmd_clear(pmd);
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			kvm_flush_dcache_pmd(old);
			put_page(virt_to_page(pmd));
		}
	} while (pmd++, addr = next, addr != end);
}

static void unmap_stage2_puds(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr, phys_addr_t end)
{
	phys_addr_t next, first = addr;
	pud_t *pud, *first_pud;

	first_pud = pud = stage2_pud_offset(pgd, addr);
	do {
		next = stage2_pud_addr_end(addr, end);
		if (stage2_pud_none(*pud))
			continue;
		if (!stage2_pud_huge(*pud)) {
			unmap_stage2_pmds(kvm, pud, addr, next);
		} else {
			pud_t old = *pud;

			stage2_pud_clear(pud);
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			kvm_flush_dcache_pud(old);
			put_page(virt_to_page(pud));
		}
	} while (pud++, addr = next, addr != end);

	if (stage2_pud_table_empty(first_pud))
		clear_stage2_pgd_entry(kvm, pgd, first);
}

/* Called with mmu_lock held; lets it go between top-level entries and re-checks the root after. */
void unmap_stage2_range(struct kvm *kvm, phys_addr_t start, u64 size)
{
	pgd_t *pgd;
	phys_addr_t addr = start, end = start + size;
	phys_addr_t next;

	assert_spin_locked(&kvm->mmu_lock);
	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
		if (!READ_ONCE(kvm->arch.pgd))
			break;
		next = stage2_pgd_addr_end(addr, end);
		if (!stage2_pgd_none(*pgd))
			unmap_stage2_puds(kvm, pgd, addr, next);
		if (next != end)
			cond_resched_lock(&kvm->mmu_lock);
	} while (pgd++, addr = next, addr != end);
}

/* ---- stage-2 root lifetime ---------------------------------------------- */

int kvm_alloc_stage2_pgd(struct kvm *kvm)
{
	pgd_t *pgd;

	if (kvm->arch.pgd != NULL) {
		kvm_err("kvm_arch already initialized?\n");
		return -EINVAL;
	}
	pgd = alloc_pages_exact(S2_PGD_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (!pgd)
		return -ENOMEM;
	kvm->arch.pgd = pgd;
	return 0;
}

void kvm_free_stage2_pgd(struct kvm *kvm)
{
	void *pgd = NULL;

	spin_lock(&kvm->mmu_lock);
	if (kvm->arch.pgd) {
		unmap_stage2_range(kvm, 0, KVM_PHYS_SIZE);
		pgd = READ_ONCE(kvm->arch.pgd);
		kvm->arch.pgd = NULL;
	}
	spin_unlock(&kvm->mmu_lock);

	if (pgd)
		free_pages_exact(pgd, S2_PGD_SIZE);
}

/* ---- building and looking up ------------------------------------------- */

pud_t *stage2_get_pud(struct kvm *kvm, struct kvm_mmu_memory_cache *cache, phys_addr_t addr)
{
	pgd_t *pgd;
	pud_t *pud;

	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	if (!WARN_ON(stage2_pgd_none(*pgd)))
		return stage2_pud_offset(pgd, addr);
	if (!cache)
		return NULL;
	pud = mmu_memory_cache_alloc(cache);
	stage2_pgd_populate(pgd, pud);
	get_page(virt_to_page(pgd));
	return stage2_pud_offset(pgd, addr);
}

pmd_t *stage2_get_pmd(struct kvm *kvm, struct kvm_mmu_memory_cache *cache, phys_addr_t addr)
{
	pud_t *pud;
	pmd_t *pmd;

	pud = stage2_get_pud(kvm, cache, addr);
	if (!pud)
		return NULL;
	if (!stage2_pud_none(*pud))
		return stage2_pmd_offset(pud, addr);
	if (!cache)
		return NULL;
	pmd = mmu_memory_cache_alloc(cache);
	stage2_pud_populate(pud, pmd);
	get_page(virt_to_page(pud));
	return stage2_pmd_offset(pud, addr);
}

static int stage2_set_pte(struct kvm *kvm, struct kvm_mmu_memory_cache *cache, phys_addr_t addr,
			  const pte_t *new_pte, unsigned long flags)
{
	pmd_t *pmd;
	pte_t *pte, old_pte;
	bool iomap = flags & KVM_S2PTE_FLAG_IS_IOMAP;

	pmd = stage2_get_pmd(kvm, cache, addr);
	if (!pmd)
		return 0;
	if (pmd_none(*pmd)) {
		if (!cache)
			return 0;
		pte = mmu_memory_cache_alloc(cache);
		pmd_populate_kernel(NULL, pmd, pte);
		get_page(virt_to_page(pmd));
	}
	pte = pte_offset_kernel(pmd, addr);
	if (iomap && pte_present(*pte))
		return -EFAULT;
	old_pte = *pte;
	if (!pte_present(old_pte)) {
		get_page(virt_to_page(pte));
	} else {
		if (pte_val(old_pte) == pte_val(*new_pte))
			return 0;
		kvm_set_pte(pte, __pte(0));
		kvm_tlb_flush_vmid_ipa(kvm, addr);
	}
	kvm_set_pte(pte, *new_pte);
	return 0;
}

int kvm_phys_addr_ioremap(struct kvm *kvm, phys_addr_t guest_ipa, phys_addr_t pa, unsigned long size, bool writable)
{
	phys_addr_t addr, end;
	unsigned long pfn = __phys_to_pfn(pa);
	struct kvm_mmu_memory_cache cache = { 0, };
	int ret = 0;

	end = PAGE_ALIGN(guest_ipa + size);
	for (addr = guest_ipa; addr < end; addr += PAGE_SIZE, pfn++) {
		pte_t pte = pfn_pte(pfn, PAGE_S2_DEVICE);

		if (writable)
			pte = kvm_s2pte_mkwrite(pte);
		ret = mmu_topup_memory_cache(&cache, KVM_MMU_CACHE_MIN_PAGES, KVM_NR_MEM_OBJS);
		if (!ret) {
			spin_lock(&kvm->mmu_lock);
			ret = stage2_set_pte(kvm, &cache, addr, &pte, KVM_S2PTE_FLAG_IS_IOMAP);
			spin_unlock(&kvm->mmu_lock);
		}
		if (ret)
			break;
	}
	mmu_free_memory_cache(&cache);
	return ret;
}

/* ---- cache maintenance over all memslots (VCPU thread) ------------------ */

static void stage2_flush_memslot(struct kvm *kvm, struct kvm_memory_slot *memslot)
{
	phys_addr_t addr = memslot->base_gfn << PAGE_SHIFT;
	phys_addr_t end = addr + PAGE_SIZE * memslot->npages;
	phys_addr_t next;
	pgd_t *pgd;

	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
		next = stage2_pgd_addr_end(addr, end);
		if (!stage2_pgd_none(*pgd))
			kvm_flush_dcache_pgd(*pgd);
	} while (pgd++, addr = next, addr != end);
}

static void stage2_flush_vm(struct kvm *kvm)
{
	struct kvm_memslots *slots;
	struct kvm_memory_slot *memslot;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	spin_lock(&kvm->mmu_lock);
	slots = kvm_memslots(kvm);
	kvm_for_each_memslot(memslot, slots)
		stage2_flush_memslot(kvm, memslot);
	spin_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

void kvm_set_way_flush(struct kvm_vcpu *vcpu)
{
	unsigned long hcr = vcpu_get_hcr(vcpu);

	if (hcr & HCR_TVM)
		return;
	stage2_flush_vm(vcpu->kvm);
	vcpu_set_hcr(vcpu, hcr | HCR_TVM);
}

void kvm_toggle_cache(struct kvm_vcpu *vcpu, bool was_enabled)
{
	bool now_enabled = vcpu_has_cache_enabled(vcpu);

	if (now_enabled != was_enabled)
		stage2_flush_vm(vcpu->kvm);
	if (now_enabled)
		vcpu_set_hcr(vcpu, vcpu_get_hcr(vcpu) & ~HCR_TVM);
}

/* ---- guest aborts (VCPU thread) ----------------------------------------- */

static int user_mem_abort(struct kvm_vcpu *vcpu, phys_addr_t fault_ipa, struct kvm_memory_slot *memslot,
			  unsigned long hva)
{
	int ret;
	bool writable;
	unsigned long mmu_seq;
	gfn_t gfn = fault_ipa >> PAGE_SHIFT;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_memory_cache *memcache = &vcpu->arch.mmu_page_cache;
	kvm_pfn_t pfn;
	pte_t new_pte;

	ret = mmu_topup_memory_cache(memcache, KVM_MMU_CACHE_MIN_PAGES, KVM_NR_MEM_OBJS);
	if (ret)
		return ret;
	mmu_seq = vcpu->kvm->mmu_notifier_seq;
	smp_rmb();
	pfn = gfn_to_pfn_prot(kvm, gfn, kvm_is_write_fault(vcpu), &writable);
	if (is_error_noslot_pfn(pfn))
		return -EFAULT;

	spin_lock(&kvm->mmu_lock);
	if (mmu_notifier_retry(kvm, mmu_seq))
		goto out_unlock;
	new_pte = pfn_pte(pfn, PAGE_S2);
	if (writable)
		new_pte = kvm_s2pte_mkwrite(new_pte);
	ret = stage2_set_pte(kvm, memcache, fault_ipa, &new_pte, 0);
out_unlock:
	spin_unlock(&kvm->mmu_lock);
	kvm_release_pfn_clean(pfn);
	return ret;
}

static void handle_access_fault(struct kvm_vcpu *vcpu, phys_addr_t fault_ipa)
{
	pmd_t *pmd;
	pte_t *pte;

	spin_lock(&vcpu->kvm->mmu_lock);
	pmd = stage2_get_pmd(vcpu->kvm, NULL, fault_ipa);
	if (pmd && !pmd_none(*pmd)) {
		if (pmd_thp_or_huge(*pmd)) {
			*pmd = pmd_mkyoung(*pmd);
		} else {
			pte = pte_offset_kernel(pmd, fault_ipa);
			if (!pte_none(*pte))
				*pte = pte_mkyoung(*pte);
		}
	}
	spin_unlock(&vcpu->kvm->mmu_lock);
}

int kvm_handle_guest_abort(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	unsigned long fault_status;
	phys_addr_t fault_ipa;
	struct kvm_memory_slot *memslot;
	unsigned long hva;
	bool writable;
	gfn_t gfn;
	int ret, idx;

	fault_status = kvm_vcpu_trap_get_fault_type(vcpu);
	fault_ipa = kvm_vcpu_get_fault_ipa(vcpu);
	if (fault_status != FSC_FAULT && fault_status != FSC_PERM && fault_status != FSC_ACCESS)
		return -EFAULT;

	idx = srcu_read_lock(&vcpu->kvm->srcu);
	gfn = fault_ipa >> PAGE_SHIFT;
	memslot = gfn_to_memslot(vcpu->kvm, gfn);
	hva = gfn_to_hva_memslot_prot(memslot, gfn, &writable);
	if (kvm_is_error_hva(hva)) {
		ret = 1;
		goto out_unlock;
	}
	if (fault_status == FSC_ACCESS) {
		handle_access_fault(vcpu, fault_ipa);
		ret = 1;
		goto out_unlock;
	}
	ret = user_mem_abort(vcpu, fault_ipa, memslot, hva);
	if (ret == 0)
		ret = 1;
out_unlock:
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return ret;
}

/* ---- hva -> gpa, and the notifier hooks the core calls with mmu_lock held ------ */

int handle_hva_to_gpa(struct kvm *kvm, unsigned long start, unsigned long end,
		      int (*handler)(struct kvm *kvm, gpa_t gpa, u64 size, void *data), void *data)
{
	struct kvm_memslots *slots = kvm_memslots(kvm);
	struct kvm_memory_slot *memslot;
	int ret = 0;

	kvm_for_each_memslot(memslot, slots) {
		unsigned long lo, hi;
		gpa_t gpa;

		lo = max(start, memslot->userspace_addr);
		hi = min(end, memslot->userspace_addr + (memslot->npages << PAGE_SHIFT));
		if (lo >= hi)
			continue;
		gpa = (gpa_t)hva_to_gfn_memslot(lo, memslot) << PAGE_SHIFT;
		ret |= handler(kvm, gpa, (u64)(hi - lo), data);
	}
	return ret;
}

static int kvm_unmap_hva_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	unmap_stage2_range(kvm, gpa, size);
	return 0;
}

int kvm_unmap_hva(struct kvm *kvm, unsigned long hva)
{
	unsigned long end = hva + PAGE_SIZE;

	if (!kvm->arch.pgd)
		return 0;
	handle_hva_to_gpa(kvm, hva, end, &kvm_unmap_hva_handler, NULL);
	return 0;
}

int kvm_unmap_hva_range(struct kvm *kvm, unsigned long start, unsigned long end)
{
	if (!kvm->arch.pgd)
		return 0;
	handle_hva_to_gpa(kvm, start, end, &kvm_unmap_hva_handler, NULL);
	return 0;
}

static int kvm_set_spte_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pte_t *pte = (pte_t *)data;

	WARN_ON(size != PAGE_SIZE);
	stage2_set_pte(kvm, NULL, gpa, pte, 0);
	return 0;
}

void kvm_set_spte_hva(struct kvm *kvm, unsigned long hva, pte_t pte)
{
	unsigned long end = hva + PAGE_SIZE;
	pte_t stage2_pte;

	if (!kvm->arch.pgd)
		return;
	stage2_pte = pfn_pte(pte_pfn(pte), PAGE_S2);
	handle_hva_to_gpa(kvm, hva, end, &kvm_set_spte_handler, &stage2_pte);
}

static int kvm_age_hva_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pmd_t *pmd;
	pte_t *pte;

	pmd = stage2_get_pmd(kvm, NULL, gpa);
	if (!pmd || pmd_none(*pmd))
		return 0;
	if (pmd_thp_or_huge(*pmd)) {
		if (!pmd_young(*pmd))
			return 0;
		*pmd = pmd_mkold(*pmd);
		return 1;
	}
	pte = pte_offset_kernel(pmd, gpa);
	if (pte_none(*pte) || !pte_young(*pte))
		return 0;
	*pte = pte_mkold(*pte);
	return 1;
}

static int kvm_test_age_hva_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pmd_t *pmd;
	pte_t *pte;

	pmd = stage2_get_pmd(kvm, NULL, gpa);
	if (!pmd || pmd_none(*pmd))
		return 0;
	if (pmd_thp_or_huge(*pmd))
		return pmd_young(*pmd);
	pte = pte_offset_kernel(pmd, gpa);
	return !pte_none(*pte) && pte_young(*pte);
}

/* No root test in the two aging hooks (the v4.12 shape). */
int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)
{
	return handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler, NULL);
}

int kvm_test_age_hva(struct kvm *kvm, unsigned long hva)
{
	return handle_hva_to_gpa(kvm, hva, hva, kvm_test_age_hva_handler, NULL);
}

/* ---- memslot hooks (VM ioctl) and the teardown hook --------------------- */

int kvm_arch_prepare_memory_region(struct kvm *kvm, struct kvm_memory_slot *memslot,
				   const struct kvm_userspace_memory_region *mem, enum kvm_mr_change change)
{
	int ret = 0;

	if (change != KVM_MR_CREATE && change != KVM_MR_MOVE)
		return 0;
	if (memslot->base_gfn + memslot->npages >= (KVM_PHYS_SIZE >> PAGE_SHIFT))
		return -EFAULT;
	spin_lock(&kvm->mmu_lock);
	if (ret)
		unmap_stage2_range(kvm, mem->guest_phys_addr, mem->memory_size);
	else
		stage2_flush_memslot(kvm, memslot);
	spin_unlock(&kvm->mmu_lock);
	return ret;
}

void kvm_arch_flush_shadow_memslot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	gpa_t gpa = slot->base_gfn << PAGE_SHIFT;
	phys_addr_t size = slot->npages << PAGE_SHIFT;

	spin_lock(&kvm->mmu_lock);
	unmap_stage2_range(kvm, gpa, size);
	spin_unlock(&kvm->mmu_lock);
}

void kvm_arch_flush_shadow_all(struct kvm *kvm)
{
	kvm_free_stage2_pgd(kvm);
}

static void kvm_s2_notifier_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	kvm_arch_flush_shadow_all(kvm);
	srcu_read_unlock(&kvm->srcu, idx);
}
/*@@ unit @@*/
/* ---- unit {{i}}: {{p}}_* ({{rangeKind}}, hook {{hookKind}}, handler: {{handlerKind}}) ---- */

static inline bool {{p}}_pte_wanted(pte_t pte, unsigned long flags)
{
	if (!pte_present(pte))
		return false;
	return (flags & {{wantedFlags}}) || pte_young(pte);
}

{{#deep}}
static int {{p}}_ptes(struct kvm *kvm, pmd_t *pmd, phys_addr_t addr, phys_addr_t end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);
	int young = 0;

	do {
		if (pte_none(*pte))
			continue;
		if (!{{p}}_pte_wanted(*pte, {{pteFlags}}))
			continue;
{{#leafFlush}}
		kvm_flush_dcache_pte(*pte);
{{/leafFlush}}
{{#leafMkold}}
		*pte = pte_mkold(*pte);
{{/leafMkold}}
{{#leafReadonly}}
		kvm_set_s2pte_readonly(pte);
{{/leafReadonly}}
{{#leafYoung}}
		if (pte_young(*pte))
			young++;
{{/leafYoung}}
	} while (pte++, addr += PAGE_SIZE, addr != end);
	return young;
}

{{/deep}}
static int {{p}}_pmds(struct kvm *kvm, pud_t *pud, phys_addr_t addr, phys_addr_t end)
{
	pmd_t *pmd = stage2_pmd_offset(pud, addr);
	phys_addr_t next;
	int young = 0;

	do {
		next = stage2_pmd_addr_end(addr, end);
		if (pmd_none(*pmd))
			continue;
		if (pmd_thp_or_huge(*pmd)) {
{{#leafFlush}}
			kvm_flush_dcache_pmd(*pmd);
{{/leafFlush}}
{{#leafMkold}}
			*pmd = pmd_mkold(*pmd);
{{/leafMkold}}
{{#leafReadonly}}
			kvm_set_s2pmd_readonly(pmd);
{{/leafReadonly}}
{{#leafYoung}}
			if (pmd_young(*pmd))
			young++;
{{/leafYoung}}
		}{{#deep}} else {
			young += {{p}}_ptes(kvm, pmd, addr, next);
		}{{/deep}}
	} while (pmd++, addr = next, addr != end);
	return young;
}

static int {{p}}_puds(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr, phys_addr_t end)
{
	pud_t *pud = stage2_pud_offset(pgd, addr);
	phys_addr_t next;
	int young = 0;

	do {
		next = stage2_pud_addr_end(addr, end);
		if (stage2_pud_none(*pud))
			continue;
		if (stage2_pud_huge(*pud))
			kvm_flush_dcache_pud(*pud);
		else
			young += {{p}}_pmds(kvm, pud, addr, next);
	} while (pud++, addr = next, addr != end);
	return young;
}

/* Walk [start, end) of the guest IPA space (mmu_lock held by the caller). */
static int {{p}}_range(struct kvm *kvm, phys_addr_t start, phys_addr_t end)
{
	pgd_t *pgd;
	phys_addr_t addr = start, next;
	int young = 0;
{{#localVisited}}
	unsigned long visited = 0;
{{/localVisited}}
{{#localRounds}}
	int rounds = 0;
{{/localRounds}}

{{#guardTop}}
	if (!kvm->arch.pgd)
		return 0;
{{/guardTop}}
	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
{{#loopGuard}}
		if (!READ_ONCE(kvm->arch.pgd))
			break;
{{/loopGuard}}
		next = stage2_pgd_addr_end(addr, end);
		if (!stage2_pgd_none(*pgd))
			young += {{p}}_puds(kvm, pgd, addr, next);
{{#resched}}
		if (next != end)
			cond_resched_lock(&kvm->mmu_lock);
{{/resched}}
	} while (pgd++, addr = next, addr != end);
	return young;
}

/* One IPA: find its pmd (no allocation) and look at what is mapped there. */
static int {{p}}_lookup(struct kvm *kvm, gpa_t gpa)
{
	pmd_t *pmd;
	pte_t *pte;

	pmd = stage2_get_pmd(kvm, NULL, gpa);
	if (!pmd || pmd_none(*pmd))
		return 0;
	if (pmd_thp_or_huge(*pmd))
		return pmd_young(*pmd);
	pte = pte_offset_kernel(pmd, gpa);
	if (pte_none(*pte))
		return 0;
	return {{p}}_pte_wanted(*pte, 0);
}

static int {{p}}_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
{{#handlerRange}}
	return {{p}}_range(kvm, gpa, gpa + size);
{{/handlerRange}}
{{#handlerLookup}}
	WARN_ON(size != PAGE_SIZE && size != PMD_SIZE);
	return {{p}}_lookup(kvm, gpa);
{{/handlerLookup}}
{{#handlerBoth}}
	int young;

	young = {{p}}_lookup(kvm, gpa);
	if (young && size > PAGE_SIZE)
		young += {{p}}_range(kvm, gpa, gpa + size);
	return young;
{{/handlerBoth}}
}

/* Called by the notifier below with kvm->mmu_lock held. */
int {{hook}}(struct kvm *kvm, unsigned long start, unsigned long end)
{
{{#hookGuard}}
	/* ->release may already have freed the tables */
	if (!kvm->arch.pgd)
		return 0;
{{/hookGuard}}
	trace_kvm_age_hva(start, end);
	return handle_hva_to_gpa(kvm, start, end, {{p}}_handler, NULL);
}

static int {{p}}_notifier(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	int ret, idx;

	idx = srcu_read_lock(&kvm->srcu);
	spin_lock(&kvm->mmu_lock);
	ret = {{hook}}(kvm, start, end);
	spin_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

static void {{h}}_ptes(pmd_t *pmd, unsigned long addr, unsigned long end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);

	do {
		if (!pte_present(*pte))
			continue;
		kvm_set_pte(pte, __pte(0));
		put_page(virt_to_page(pte));
	} while (pte++, addr += PAGE_SIZE, addr != end);
}

static void {{h}}_pmds(pud_t *pud, unsigned long addr, unsigned long end)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	unsigned long next;

	do {
		next = pmd_addr_end(addr, end);
		if (!pmd_none(*pmd))
			{{h}}_ptes(pmd, addr, next);
	} while (pmd++, addr = next, addr != end);
}

static void {{h}}_range(pgd_t *pgdp, unsigned long start, unsigned long end)
{
	pgd_t *pgd = pgdp + pgd_index(start);
	unsigned long addr = start, next;

	do {
		next = pgd_addr_end(addr, end);
		if (!pgd_none(*pgd))
			{{h}}_pmds(pud_offset(pgd, addr), addr, next);
	} while (pgd++, addr = next, addr != end);
}

void {{h}}_unmap(unsigned long start, unsigned long size)
{
	mutex_lock(&kvm_hyp_pgd_mutex);
	if (hyp_pgd)
		{{h}}_range(hyp_pgd, start, start + size);
	mutex_unlock(&kvm_hyp_pgd_mutex);
}
/*@@ part @@*/
/*
 * SYNTHETIC input for lockpath's benchmark (scripts/gen-synthetic.mjs), part {{part}}. NOT kernel source.
 */

#include <linux/kvm_host.h>
#include <asm/kvm_mmu.h>

extern int handle_hva_to_gpa(struct kvm *kvm, unsigned long start, unsigned long end,
			     int (*handler)(struct kvm *kvm, gpa_t gpa, u64 size, void *data), void *data);
extern pmd_t *stage2_get_pmd(struct kvm *kvm, struct kvm_mmu_memory_cache *cache, phys_addr_t addr);
extern pgd_t *hyp_pgd;
extern struct mutex kvm_hyp_pgd_mutex;

static inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}
