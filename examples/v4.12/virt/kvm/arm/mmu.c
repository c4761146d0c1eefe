/*
 * lockpath test reduction of virt/kvm/arm/mmu.c as of Linux v4.12.
 * This is NOT kernel source: the bodies below were rewritten and shortened
 * for the analyzer's tests. Function names, parameters (simplified), call
 * structure, locking, guards, loops and frees follow the v4.12 tree, i.e.
 * the state just BEFORE "KVM: arm/arm64: Handle hva aging while destroying
 * the vm" (v4.13): kvm_age_hva() and kvm_test_age_hva() do not test the pgd.
 */

#include <linux/kvm_host.h>
#include <linux/hugetlb.h>
#include <trace/events/kvm.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_emulate.h>
#include "trace.h"

/* Hyp page tables: a different root that merely shares the pgd_t type. */
static pgd_t *hyp_pgd;
static DEFINE_MUTEX(kvm_hyp_pgd_mutex);

#define S2_PGD_SIZE	(PTRS_PER_S2_PGD * sizeof(pgd_t))
#define hyp_pgd_order	get_order(PTRS_PER_PGD * sizeof(pgd_t))

#define KVM_S2PTE_FLAG_IS_IOMAP		(1UL << 0)
#define KVM_S2_FLAG_LOGGING_ACTIVE	(1UL << 1)

/* (reduction: the kernel declares this plain static; inlined here on purpose) */
static __always_inline bool memslot_is_logging(struct kvm_memory_slot *memslot)
{
	/* read-only slots never get dirty, so they are never logged */
	return memslot->dirty_bitmap && !(memslot->flags & KVM_MEM_READONLY);
}

/* arm provides its own full-VM TLB flush (HAVE_KVM_ARCH_TLB_FLUSH_ALL) */
void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	kvm_call_hyp(__kvm_tlb_flush_vmid, kvm);
}

static void kvm_tlb_flush_vmid_ipa(struct kvm *kvm, phys_addr_t ipa)
{
	kvm_call_hyp(__kvm_tlb_flush_vmid_ipa, kvm, ipa);
}

static bool kvm_is_device_pfn(unsigned long pfn)
{
	return !pfn_valid(pfn);
}

/* Turn a block mapping back into nothing so that ptes can be installed. */
static void stage2_dissolve_pmd(struct kvm *kvm, phys_addr_t addr, pmd_t *pmd)
{
	if (!pmd_thp_or_huge(*pmd))
		return;
	pmd_clear(pmd);
	kvm_tlb_flush_vmid_ipa(kvm, addr);
	put_page(virt_to_page(pmd));
}

static int mmu_topup_memory_cache(struct kvm_mmu_memory_cache *cache,
				  int min, int max)
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

/* Drop a now-empty pud table hanging off one root entry. */
static void clear_stage2_pgd_entry(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr)
{
	pud_t *pud_table __maybe_unused = stage2_pud_offset(pgd, 0UL);

	stage2_pgd_clear(pgd);
	kvm_tlb_flush_vmid_ipa(kvm, addr);
	stage2_pud_free(pud_table);
	put_page(virt_to_page(pgd));
}

/* ---- unmapping ---------------------------------------------------------- */

static void unmap_stage2_ptes(struct kvm *kvm, pmd_t *pmd,
			      phys_addr_t addr, phys_addr_t end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);

	do {
		if (pte_none(*pte))
			continue;
		/* zap, flush the TLB, then clean the data (not for devices) */
		{
			pte_t gone = *pte;

			kvm_set_pte(pte, __pte(0));
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			if (!kvm_is_device_pfn(pte_pfn(gone)))
				kvm_flush_dcache_pte(gone);
			put_page(virt_to_page(pte));
		}
	} while (pte++, addr += PAGE_SIZE, addr != end);

	/* (reduction: freeing of the emptied pte table elided) */
}

static void unmap_stage2_pmds(struct kvm *kvm, pud_t *pud,
			      phys_addr_t addr, phys_addr_t end)
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
			pmd_t gone = *pmd;

			pmd_clear(pmd);
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			kvm_flush_dcache_pmd(gone);
			put_page(virt_to_page(pmd));
		}
	} while (pmd++, addr = next, addr != end);

	/* (reduction: freeing of the emptied pmd table elided) */
}

static void unmap_stage2_puds(struct kvm *kvm, pgd_t *pgd,
			      phys_addr_t addr, phys_addr_t end)
{
	phys_addr_t next, first = addr;
	pud_t *pud, *first_pud;

	/* pgd is an alias of kvm->arch.pgd + index, handed down by the caller */
	first_pud = pud = stage2_pud_offset(pgd, addr);
	do {
		next = stage2_pud_addr_end(addr, end);
		if (stage2_pud_none(*pud))
			continue;
		if (!stage2_pud_huge(*pud)) {
			unmap_stage2_pmds(kvm, pud, addr, next);
		} else {
			pud_t gone = *pud;

			stage2_pud_clear(pud);
			kvm_tlb_flush_vmid_ipa(kvm, addr);
			kvm_flush_dcache_pud(gone);
			put_page(virt_to_page(pud));
		}
	} while (pud++, addr = next, addr != end);

	if (stage2_pud_table_empty(first_pud))
		clear_stage2_pgd_entry(kvm, pgd, first);
}

/*
 * Remove every stage-2 mapping in [start, start + size). Runs with mmu_lock
 * held; on big ranges it lets the lock go between top-level entries, so the
 * root may have been torn down by the time it gets the lock back: hence the
 * READ_ONCE() test at the top of each round (added in v4.12).
 */
static void unmap_stage2_range(struct kvm *kvm, phys_addr_t start, u64 size)
	__must_hold(&kvm->mmu_lock)
{
	pgd_t *pgd;
	phys_addr_t addr = start, end = start + size;
	phys_addr_t next;

	assert_spin_locked(&kvm->mmu_lock);
	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
		/* someone may have freed the tables while we slept */
		if (!READ_ONCE(kvm->arch.pgd))
			break;
		next = stage2_pgd_addr_end(addr, end);
		if (!stage2_pgd_none(*pgd))
			unmap_stage2_puds(kvm, pgd, addr, next);
		/* long walk: give other lock users a turn */
		if (next != end)
			cond_resched_lock(&kvm->mmu_lock);
	} while (pgd++, addr = next, addr != end);
}

/* ---- cache maintenance -------------------------------------------------- */

/* stage2_flush_ptes() and stage2_wp_ptes(): leaf loops, elided */

static void stage2_flush_pmds(struct kvm *kvm, pud_t *pud,
			      phys_addr_t addr, phys_addr_t end)
{
	pmd_t *pmd = stage2_pmd_offset(pud, addr);
	phys_addr_t next;

	do {
		next = stage2_pmd_addr_end(addr, end);
		if (pmd_none(*pmd))
			continue;
		if (pmd_thp_or_huge(*pmd))
			kvm_flush_dcache_pmd(*pmd);
		else
			stage2_flush_ptes(kvm, pmd, addr, next);
	} while (pmd++, addr = next, addr != end);
}

static void stage2_flush_puds(struct kvm *kvm, pgd_t *pgd,
			      phys_addr_t addr, phys_addr_t end)
{
	pud_t *pud = stage2_pud_offset(pgd, addr);
	phys_addr_t next;

	do {
		next = stage2_pud_addr_end(addr, end);
		if (stage2_pud_none(*pud))
			continue;
		if (stage2_pud_huge(*pud))
			kvm_flush_dcache_pud(*pud);
		else
			stage2_flush_pmds(kvm, pud, addr, next);
	} while (pud++, addr = next, addr != end);
}

/* Clean+invalidate everything a memslot has mapped. No pgd test here. */
static void stage2_flush_memslot(struct kvm *kvm,
				 struct kvm_memory_slot *memslot)
{
	phys_addr_t addr = memslot->base_gfn << PAGE_SHIFT;
	phys_addr_t end = addr + PAGE_SIZE * memslot->npages;
	phys_addr_t next;
	pgd_t *pgd;

	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
		next = stage2_pgd_addr_end(addr, end);
		stage2_flush_puds(kvm, pgd, addr, next);
	} while (pgd++, addr = next, addr != end);
}

/* Walk all memslots under srcu + mmu_lock and flush what they map. */
static void stage2_flush_vm(struct kvm *kvm)
{
	struct kvm_memslots *slots;
	struct kvm_memory_slot *memslot;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	spin_lock(&kvm->mmu_lock);

	slots = kvm_memslots(kvm);
	/* (brace-less macro loop, exactly as the kernel writes it) */
	kvm_for_each_memslot(memslot, slots)
		stage2_flush_memslot(kvm, memslot);

	spin_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

/* ---- hyp tables: NOT the stage-2 root, must never be reported ------------ */

static void unmap_hyp_range(pgd_t *pgdp, phys_addr_t start, u64 size)
{
	pgd_t *pgd;
	phys_addr_t addr = start, end = start + size;
	phys_addr_t next;

	/* a local called pgd, but derived from the hyp root, not kvm->arch */
	pgd = pgdp + pgd_index(addr);
	do {
		next = pgd_addr_end(addr, end);
		if (!pgd_none(*pgd))
			unmap_hyp_puds(pgd, addr, next);
	} while (pgd++, addr = next, addr != end);
}

void free_hyp_pgds(void)
{
	mutex_lock(&kvm_hyp_pgd_mutex);
	if (hyp_pgd) {
		unmap_hyp_range(hyp_pgd, kern_hyp_va(PAGE_OFFSET),
				(uintptr_t)high_memory - PAGE_OFFSET);
		free_pages((unsigned long)hyp_pgd, hyp_pgd_order);
		hyp_pgd = NULL;
	}
	mutex_unlock(&kvm_hyp_pgd_mutex);
}

/* ---- stage-2 root lifetime ---------------------------------------------- */

/*
 * Allocate the level-1 table at VM creation. Nothing else can see the VM
 * yet, so no lock is taken.
 */
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

static void stage2_unmap_memslot(struct kvm *kvm,
				 struct kvm_memory_slot *memslot)
{
	phys_addr_t ipa = memslot->base_gfn << PAGE_SHIFT;
	hva_t start = memslot->userspace_addr;
	hva_t stop = start + PAGE_SIZE * memslot->npages;
	hva_t hva = start;

	/* the slot may cover several VMAs and holes: walk them one by one */
	while (hva < stop) {
		struct vm_area_struct *vma = find_vma(current->mm, hva);
		hva_t lo, hi;

		if (!vma || vma->vm_start >= stop)
			break;
		lo = max(hva, vma->vm_start);
		hi = min(stop, vma->vm_end);
		/* device (PFNMAP) pieces are left mapped */
		if (!(vma->vm_flags & VM_PFNMAP))
			unmap_stage2_range(kvm, ipa + (lo - start), hi - lo);
		hva = hi;
	}
}

/* Drop all RAM mappings, e.g. when a VCPU is re-initialised (reboot). */
void stage2_unmap_vm(struct kvm *kvm)
{
	struct kvm_memslots *slots;
	struct kvm_memory_slot *memslot;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	down_read(&current->mm->mmap_sem);
	spin_lock(&kvm->mmu_lock);

	slots = kvm_memslots(kvm);
	kvm_for_each_memslot(memslot, slots) {
		stage2_unmap_memslot(kvm, memslot);
	}

	spin_unlock(&kvm->mmu_lock);
	up_read(&current->mm->mmap_sem);
	srcu_read_unlock(&kvm->srcu, idx);
}

/*
 * Tear down the whole stage-2 tree. v4.12 form: the NULL test, the walk and
 * the clearing of kvm->arch.pgd all happen inside one mmu_lock section; the
 * pointer is kept in a local (read with READ_ONCE) and the pages are given
 * back only after the lock is dropped.
 */
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

/* ---- building the tree -------------------------------------------------- */

/*
 * Find (or, given a cache, create) the pud for addr. This is where every
 * caller ends up touching the root: no test of kvm->arch.pgd here.
 */
static pud_t *stage2_get_pud(struct kvm *kvm, struct kvm_mmu_memory_cache *cache,
			     phys_addr_t addr)
{
	pgd_t *pgd;
	pud_t *pud;

	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	if (!WARN_ON(stage2_pgd_none(*pgd)))
		return stage2_pud_offset(pgd, addr);

	/* empty root entry: only a fault (with a cache) may fill it */
	if (!cache)
		return NULL;
	pud = mmu_memory_cache_alloc(cache);
	stage2_pgd_populate(pgd, pud);
	get_page(virt_to_page(pgd));
	return stage2_pud_offset(pgd, addr);
}

static pmd_t *stage2_get_pmd(struct kvm *kvm, struct kvm_mmu_memory_cache *cache,
			     phys_addr_t addr)
{
	pud_t *pud;
	pmd_t *pmd;

	pud = stage2_get_pud(kvm, cache, addr);
	if (!pud)
		return NULL;
	if (!stage2_pud_none(*pud))
		return stage2_pmd_offset(pud, addr);

	if (!cache)
		return NULL;	/* lookup only: nothing mapped here */
	pmd = mmu_memory_cache_alloc(cache);
	stage2_pud_populate(pud, pmd);
	get_page(virt_to_page(pud));
	return stage2_pmd_offset(pud, addr);
}

static int stage2_set_pmd_huge(struct kvm *kvm, struct kvm_mmu_memory_cache
			       *cache, phys_addr_t addr, const pmd_t *new_pmd)
{
	pmd_t *pmd, old_pmd;

	pmd = stage2_get_pmd(kvm, cache, addr);
	VM_BUG_ON(!pmd);

	old_pmd = *pmd;
	if (!pmd_present(old_pmd)) {
		get_page(virt_to_page(pmd));
	} else {
		/* same block again (several vcpus faulting): nothing to do */
		if (pmd_val(old_pmd) == pmd_val(*new_pmd))
			return 0;
		/* break-before-make */
		VM_BUG_ON(pmd_pfn(old_pmd) != pmd_pfn(*new_pmd));
		pmd_clear(pmd);
		kvm_tlb_flush_vmid_ipa(kvm, addr);
	}

	kvm_set_pmd(pmd, *new_pmd);
	return 0;
}

static int stage2_set_pte(struct kvm *kvm, struct kvm_mmu_memory_cache *cache,
			  phys_addr_t addr, const pte_t *new_pte,
			  unsigned long flags)
{
	pmd_t *pmd;
	pte_t *pte, old_pte;
	bool iomap = flags & KVM_S2PTE_FLAG_IS_IOMAP;
	bool logging_active = flags & KVM_S2_FLAG_LOGGING_ACTIVE;

	VM_BUG_ON(logging_active && !cache);

	pmd = stage2_get_pmd(kvm, cache, addr);
	if (!pmd)
		return 0;	/* change_pte on a range we never mapped */

	if (logging_active)
		stage2_dissolve_pmd(kvm, addr, pmd);

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

#ifndef __HAVE_ARCH_PTEP_TEST_AND_CLEAR_YOUNG
static int stage2_ptep_test_and_clear_young(pte_t *pte)
{
	if (!pte_young(*pte))
		return 0;
	*pte = pte_mkold(*pte);
	return 1;
}
#else
static int stage2_ptep_test_and_clear_young(pte_t *pte)
{
	return __ptep_test_and_clear_young(pte);
}
#endif

static int stage2_pmdp_test_and_clear_young(pmd_t *pmd)
{
	return stage2_ptep_test_and_clear_young((pte_t *)pmd);
}

/*
 * Map a device range into the guest IPA space, one page per lock section.
 * Callers: the VGIC (first VCPU run) and kvm_arch_prepare_memory_region.
 */
int kvm_phys_addr_ioremap(struct kvm *kvm, phys_addr_t guest_ipa,
			  phys_addr_t pa, unsigned long size, bool writable)
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

		/* allocate with the lock dropped, install with it held */
		ret = mmu_topup_memory_cache(&cache, KVM_MMU_CACHE_MIN_PAGES,
					     KVM_NR_MEM_OBJS);
		if (!ret) {
			spin_lock(&kvm->mmu_lock);
			ret = stage2_set_pte(kvm, &cache, addr, &pte,
					     KVM_S2PTE_FLAG_IS_IOMAP);
			spin_unlock(&kvm->mmu_lock);
		}
		if (ret)
			break;
	}

	mmu_free_memory_cache(&cache);
	return ret;
}

static bool kvm_is_write_fault(struct kvm_vcpu *vcpu)
{
	if (kvm_vcpu_trap_is_iabt(vcpu))
		return false;
	return kvm_vcpu_dabt_iswrite(vcpu);
}

/* ---- write protection (dirty logging) ----------------------------------- */

static void stage2_wp_pmds(pud_t *pud, phys_addr_t addr, phys_addr_t end)
{
	pmd_t *pmd = stage2_pmd_offset(pud, addr);
	phys_addr_t next;

	do {
		next = stage2_pmd_addr_end(addr, end);
		if (pmd_none(*pmd))
			continue;
		if (!pmd_thp_or_huge(*pmd))
			stage2_wp_ptes(pmd, addr, next);
		else if (!kvm_s2pmd_readonly(pmd))
			kvm_set_s2pmd_readonly(pmd);
	} while (pmd++, addr = next, addr != end);
}

static void stage2_wp_puds(pgd_t *pgd, phys_addr_t addr, phys_addr_t end)
{
	pud_t *pud = stage2_pud_offset(pgd, addr);
	phys_addr_t next;

	do {
		next = stage2_pud_addr_end(addr, end);
		if (!stage2_pud_none(*pud)) {
			/* huge puds are not supported at stage 2 yet */
			BUG_ON(stage2_pud_huge(*pud));
			stage2_wp_pmds(pud, addr, next);
		}
	} while (pud++, addr = next, addr != end);
}

/*
 * Make [addr, end) read-only. Called with mmu_lock held; yields it every
 * round and re-checks the root afterwards (v4.12).
 */
static void stage2_wp_range(struct kvm *kvm, phys_addr_t addr, phys_addr_t end)
{
	pgd_t *pgd;
	phys_addr_t next;

	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
		/* big slots: do not hog the lock (lockup detector, other vcpus) */
		cond_resched_lock(&kvm->mmu_lock);
		if (!READ_ONCE(kvm->arch.pgd))
			break;
		next = stage2_pgd_addr_end(addr, end);
		if (stage2_pgd_present(*pgd))
			stage2_wp_puds(pgd, addr, next);
	} while (pgd++, addr = next, addr != end);
}

/* Start dirty logging on a slot: write-protect all it maps. */
void kvm_mmu_wp_memory_region(struct kvm *kvm, int slot)
{
	struct kvm_memslots *slots = kvm_memslots(kvm);
	struct kvm_memory_slot *memslot = id_to_memslot(slots, slot);
	phys_addr_t start = memslot->base_gfn << PAGE_SHIFT;
	phys_addr_t end = (memslot->base_gfn + memslot->npages) << PAGE_SHIFT;

	spin_lock(&kvm->mmu_lock);
	stage2_wp_range(kvm, start, end);
	spin_unlock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
}

/* Re-protect the pages named by one word of the dirty bitmap. */
static void kvm_mmu_write_protect_pt_masked(struct kvm *kvm,
		struct kvm_memory_slot *slot,
		gfn_t gfn_offset, unsigned long mask)
	__must_hold(&kvm->mmu_lock)
{
	phys_addr_t base_gfn = slot->base_gfn + gfn_offset;
	phys_addr_t start = (base_gfn + __ffs(mask)) << PAGE_SHIFT;
	phys_addr_t end = (base_gfn + __fls(mask) + 1) << PAGE_SHIFT;

	stage2_wp_range(kvm, start, end);
}

/* Generic dirty-log code calls this with mmu_lock held. */
void kvm_arch_mmu_enable_log_dirty_pt_masked(struct kvm *kvm,
		struct kvm_memory_slot *slot,
		gfn_t gfn_offset, unsigned long mask)
{
	kvm_mmu_write_protect_pt_masked(kvm, slot, gfn_offset, mask);
}

static void coherent_cache_guest_page(struct kvm_vcpu *vcpu, kvm_pfn_t pfn,
				      unsigned long size)
{
	__coherent_cache_guest_page(vcpu, pfn, size);
}

/* ---- guest aborts (VCPU thread) ----------------------------------------- */

static int user_mem_abort(struct kvm_vcpu *vcpu, phys_addr_t fault_ipa,
			  struct kvm_memory_slot *memslot, unsigned long hva,
			  unsigned long fault_status)
{
	int ret;
	bool write_fault, writable, hugetlb = false, force_pte = false;
	unsigned long mmu_seq;
	gfn_t gfn = fault_ipa >> PAGE_SHIFT;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_memory_cache *memcache = &vcpu->arch.mmu_page_cache;
	struct vm_area_struct *vma;
	kvm_pfn_t pfn;
	pgprot_t mem_type = PAGE_S2;
	bool logging_active = memslot_is_logging(memslot);
	unsigned long flags = 0;

	write_fault = kvm_is_write_fault(vcpu);

	/* hugetlbfs backing? (reduction: alignment checks dropped) */
	down_read(&current->mm->mmap_sem);
	vma = find_vma_intersection(current->mm, hva, hva + 1);
	if (unlikely(!vma)) {
		up_read(&current->mm->mmap_sem);
		return -EFAULT;
	}
	if (vma_kernel_pagesize(vma) == PMD_SIZE && !logging_active) {
		hugetlb = true;
		gfn = (fault_ipa & PMD_MASK) >> PAGE_SHIFT;
	}
	up_read(&current->mm->mmap_sem);

	ret = mmu_topup_memory_cache(memcache, KVM_MMU_CACHE_MIN_PAGES,
				     KVM_NR_MEM_OBJS);
	if (ret)
		return ret;

	/* pairs with the seq bump in the invalidate notifiers */
	mmu_seq = vcpu->kvm->mmu_notifier_seq;
	smp_rmb();

	pfn = gfn_to_pfn_prot(kvm, gfn, write_fault, &writable);
	if (is_error_noslot_pfn(pfn))
		return -EFAULT;

	if (kvm_is_device_pfn(pfn)) {
		mem_type = PAGE_S2_DEVICE;
		flags |= KVM_S2PTE_FLAG_IS_IOMAP;
	} else if (logging_active) {
		force_pte = true;
		flags |= KVM_S2_FLAG_LOGGING_ACTIVE;
	}

	spin_lock(&kvm->mmu_lock);
	if (mmu_notifier_retry(kvm, mmu_seq))
		goto out_unlock;

	/* both setters reach stage2_get_pmd -> stage2_get_pud, lock held */
	if (hugetlb) {
		pmd_t new_pmd = pmd_mkhuge(pfn_pmd(pfn, mem_type));

		if (writable)
			new_pmd = kvm_s2pmd_mkwrite(new_pmd);
		coherent_cache_guest_page(vcpu, pfn, PMD_SIZE);
		ret = stage2_set_pmd_huge(kvm, memcache, fault_ipa, &new_pmd);
	} else {
		pte_t new_pte = pfn_pte(pfn, mem_type);

		if (writable) {
			new_pte = kvm_s2pte_mkwrite(new_pte);
			mark_page_dirty(kvm, gfn);
		}
		coherent_cache_guest_page(vcpu, pfn, PAGE_SIZE);
		ret = stage2_set_pte(kvm, memcache, fault_ipa, &new_pte, flags);
	}
	if (writable)
		kvm_set_pfn_dirty(pfn);

out_unlock:
	spin_unlock(&kvm->mmu_lock);
	kvm_set_pfn_accessed(pfn);
	kvm_release_pfn_clean(pfn);
	return ret;
}

/* Access-flag fault: mark the existing entry young, nothing else. */
static void handle_access_fault(struct kvm_vcpu *vcpu, phys_addr_t fault_ipa)
{
	kvm_pfn_t pfn = 0;
	bool found = false;
	pmd_t *pmd;
	pte_t *pte;

	trace_kvm_access_fault(fault_ipa);

	spin_lock(&vcpu->kvm->mmu_lock);
	pmd = stage2_get_pmd(vcpu->kvm, NULL, fault_ipa);
	if (pmd && !pmd_none(*pmd)) {
		if (pmd_thp_or_huge(*pmd)) {
			/* block: set AF on the pmd itself */
			*pmd = pmd_mkyoung(*pmd);
			pfn = pmd_pfn(*pmd);
			found = true;
		} else {
			pte = pte_offset_kernel(pmd, fault_ipa);
			if (!pte_none(*pte)) {
				*pte = pte_mkyoung(*pte);
				pfn = pte_pfn(*pte);
				found = true;
			}
		}
	}
	spin_unlock(&vcpu->kvm->mmu_lock);

	if (found)
		kvm_set_pfn_accessed(pfn);
}

/*
 * MMIO emulation. (Reduction: the kernel keeps this in virt/kvm/arm/mmio.c;
 * it is here so the whole abort chain sits in one file. It never touches
 * the stage-2 tables.)
 */
int io_mem_abort(struct kvm_vcpu *vcpu, struct kvm_run *run,
		 phys_addr_t fault_ipa)
{
	bool is_write;
	int len, ret;
	u8 data_buf[8];

	ret = decode_hsr(vcpu, &is_write, &len);
	if (ret)
		return ret;

	trace_kvm_mmio(is_write ? KVM_TRACE_MMIO_WRITE :
		       KVM_TRACE_MMIO_READ_UNSATISFIED, len, fault_ipa, 0);
	if (is_write)
		ret = kvm_io_bus_write(vcpu, KVM_MMIO_BUS, fault_ipa, len, data_buf);
	else
		ret = kvm_io_bus_read(vcpu, KVM_MMIO_BUS, fault_ipa, len, data_buf);

	run->mmio.is_write = is_write;
	run->mmio.phys_addr = fault_ipa;
	run->mmio.len = len;
	if (!ret) {
		/* handled by an in-kernel device */
		kvm_handle_mmio_return(vcpu, run);
		return 1;
	}
	/* otherwise userspace emulates it */
	run->exit_reason = KVM_EXIT_MMIO;
	return 0;
}

/*
 * Entry for every stage-2 abort, reached from handle_exit() through the
 * exit-handler table: RAM faults go to user_mem_abort, access-flag faults
 * to handle_access_fault, anything outside a memslot to io_mem_abort.
 */
int kvm_handle_guest_abort(struct kvm_vcpu *vcpu, struct kvm_run *run)
{
	unsigned long fault_status;
	phys_addr_t fault_ipa;
	struct kvm_memory_slot *memslot;
	unsigned long hva;
	bool is_iabt, write_fault, writable;
	gfn_t gfn;
	int ret, idx;

	fault_status = kvm_vcpu_trap_get_fault_type(vcpu);
	fault_ipa = kvm_vcpu_get_fault_ipa(vcpu);
	is_iabt = kvm_vcpu_trap_is_iabt(vcpu);
	trace_kvm_guest_fault(*vcpu_pc(vcpu), kvm_vcpu_get_hsr(vcpu),
			      kvm_vcpu_get_hfar(vcpu), fault_ipa);

	/* only translation, permission and access-flag faults are ours */
	if (fault_status != FSC_FAULT && fault_status != FSC_PERM &&
	    fault_status != FSC_ACCESS)
		return -EFAULT;

	idx = srcu_read_lock(&vcpu->kvm->srcu);

	gfn = fault_ipa >> PAGE_SHIFT;
	memslot = gfn_to_memslot(vcpu->kvm, gfn);
	hva = gfn_to_hva_memslot_prot(memslot, gfn, &writable);
	write_fault = kvm_is_write_fault(vcpu);
	if (kvm_is_error_hva(hva) || (write_fault && !writable)) {
		if (is_iabt) {
			kvm_inject_pabt(vcpu, kvm_vcpu_get_hfar(vcpu));
			ret = 1;
			goto out_unlock;
		}
		/* not RAM: emulate as MMIO (page offset taken from the VA) */
		fault_ipa |= kvm_vcpu_get_hfar(vcpu) & ((1 << 12) - 1);
		ret = io_mem_abort(vcpu, run, fault_ipa);
		goto out_unlock;
	}

	if (fault_status == FSC_ACCESS) {
		handle_access_fault(vcpu, fault_ipa);
		ret = 1;
		goto out_unlock;
	}

	ret = user_mem_abort(vcpu, fault_ipa, memslot, hva, fault_status);
	if (ret == 0)
		ret = 1;
out_unlock:
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	return ret;
}

/* ---- mmu-notifier hooks (called by kvm_main.c with mmu_lock held) -------- */

/*
 * For each memslot overlapping [start, end) in host-virtual space, hand the
 * matching guest-physical range to handler().
 */
static int handle_hva_to_gpa(struct kvm *kvm,
			     unsigned long start,
			     unsigned long end,
			     int (*handler)(struct kvm *kvm,
					    gpa_t gpa, u64 size,
					    void *data),
			     void *data)
{
	struct kvm_memslots *slots = kvm_memslots(kvm);
	struct kvm_memory_slot *memslot;
	int ret = 0;

	kvm_for_each_memslot(memslot, slots) {
		unsigned long lo, hi;
		gpa_t gpa;

		/* clip [start, end) to the host range this slot covers */
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

	/* tables already gone (release ran first): nothing to unmap */
	if (!kvm->arch.pgd)
		return 0;

	trace_kvm_unmap_hva(hva);
	handle_hva_to_gpa(kvm, hva, end, &kvm_unmap_hva_handler, NULL);
	return 0;
}

int kvm_unmap_hva_range(struct kvm *kvm,
			unsigned long start, unsigned long end)
{
	if (!kvm->arch.pgd)
		return 0;

	trace_kvm_unmap_hva_range(start, end);
	handle_hva_to_gpa(kvm, start, end, &kvm_unmap_hva_handler, NULL);
	return 0;
}

static int kvm_set_spte_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pte_t *pte = (pte_t *)data;

	WARN_ON(size != PAGE_SIZE);
	/*
	 * No logging flag needed: the core mm has already unmapped any block
	 * before ->change_pte, so stage2_set_pte never has to split one here.
	 */
	stage2_set_pte(kvm, NULL, gpa, pte, 0);
	return 0;
}

void kvm_set_spte_hva(struct kvm *kvm, unsigned long hva, pte_t pte)
{
	unsigned long end = hva + PAGE_SIZE;
	pte_t stage2_pte;

	if (!kvm->arch.pgd)
		return;

	trace_kvm_set_spte_hva(hva);
	stage2_pte = pfn_pte(pte_pfn(pte), PAGE_S2);
	handle_hva_to_gpa(kvm, hva, end, &kvm_set_spte_handler, &stage2_pte);
}

static int kvm_age_hva_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pmd_t *pmd;
	pte_t *pte;

	WARN_ON(size != PAGE_SIZE && size != PMD_SIZE);
	pmd = stage2_get_pmd(kvm, NULL, gpa);
	if (!pmd || pmd_none(*pmd))
		return 0;
	if (!pmd_thp_or_huge(*pmd)) {
		pte = pte_offset_kernel(pmd, gpa);
		return pte_none(*pte) ? 0 : stage2_ptep_test_and_clear_young(pte);
	}
	/* block mapping: the pmd carries the access flag */
	return stage2_pmdp_test_and_clear_young(pmd);
}

static int kvm_test_age_hva_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
	pmd_t *pmd;
	pte_t *pte;

	WARN_ON(size != PAGE_SIZE && size != PMD_SIZE);
	pmd = stage2_get_pmd(kvm, NULL, gpa);
	if (!pmd || pmd_none(*pmd))
		return 0;
	if (pmd_thp_or_huge(*pmd))
		return pmd_young(*pmd);
	pte = pte_offset_kernel(pmd, gpa);
	return !pte_none(*pte) && pte_young(*pte);
}

/*
 * v4.12: no kvm->arch.pgd test in the two aging hooks. The core mm may call
 * them while ->release is tearing the VM down (the 2017 report).
 */
int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)
{
	trace_kvm_age_hva(start, end);
	return handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler, NULL);
}

int kvm_test_age_hva(struct kvm *kvm, unsigned long hva)
{
	trace_kvm_test_age_hva(hva);
	return handle_hva_to_gpa(kvm, hva, hva, kvm_test_age_hva_handler, NULL);
}

void kvm_mmu_free_memory_caches(struct kvm_vcpu *vcpu)
{
	mmu_free_memory_cache(&vcpu->arch.mmu_page_cache);
}

/* ---- memslot hooks (VM ioctl) and teardown hook -------------------------- */

void kvm_arch_commit_memory_region(struct kvm *kvm,
				   const struct kvm_userspace_memory_region *mem,
				   const struct kvm_memory_slot *old,
				   const struct kvm_memory_slot *new,
				   enum kvm_mr_change change)
{
	/* the slot is live now: begin tracking writes if logging was asked */
	if (change != KVM_MR_DELETE && mem->flags & KVM_MEM_LOG_DIRTY_PAGES)
		kvm_mmu_wp_memory_region(kvm, mem->slot);
}

int kvm_arch_prepare_memory_region(struct kvm *kvm,
				   struct kvm_memory_slot *memslot,
				   const struct kvm_userspace_memory_region *mem,
				   enum kvm_mr_change change)
{
	hva_t hva = mem->userspace_addr;
	hva_t stop = hva + mem->memory_size;
	bool writable = !(mem->flags & KVM_MEM_READONLY);
	int ret = 0;

	if (change != KVM_MR_CREATE && change != KVM_MR_MOVE &&
	    change != KVM_MR_FLAGS_ONLY)
		return 0;

	/* refuse slots that end beyond the guest IPA space */
	if (memslot->base_gfn + memslot->npages >= (KVM_PHYS_SIZE >> PAGE_SHIFT))
		return -EFAULT;

	down_read(&current->mm->mmap_sem);
	/* device (PFNMAP) VMAs under the slot are mapped right away */
	while (hva < stop) {
		struct vm_area_struct *vma = find_vma(current->mm, hva);
		hva_t lo, hi;

		if (!vma || vma->vm_start >= stop)
			break;
		if (writable && !(vma->vm_flags & VM_WRITE)) {
			ret = -EPERM;
			break;
		}
		lo = max(hva, vma->vm_start);
		hi = min(stop, vma->vm_end);

		if (vma->vm_flags & VM_PFNMAP) {
			gpa_t gpa = mem->guest_phys_addr + (lo - mem->userspace_addr);
			phys_addr_t pa = ((phys_addr_t)vma->vm_pgoff << PAGE_SHIFT) +
					 (lo - vma->vm_start);

			if (memslot->flags & KVM_MEM_LOG_DIRTY_PAGES) {
				ret = -EINVAL;	/* no dirty logging for devices */
				goto out;
			}
			ret = kvm_phys_addr_ioremap(kvm, gpa, pa, hi - lo, writable);
			if (ret)
				break;
		}
		hva = hi;
	}

	if (change == KVM_MR_FLAGS_ONLY)
		goto out;

	/* on failure undo what was mapped, otherwise clean the new slot */
	spin_lock(&kvm->mmu_lock);
	if (ret)
		unmap_stage2_range(kvm, mem->guest_phys_addr, mem->memory_size);
	else
		stage2_flush_memslot(kvm, memslot);
	spin_unlock(&kvm->mmu_lock);
out:
	up_read(&current->mm->mmap_sem);
	return ret;
}

/* ->release (via kvm_mmu_notifier_release) lands here: free everything. */
void kvm_arch_flush_shadow_all(struct kvm *kvm)
{
	kvm_free_stage2_pgd(kvm);
}

void kvm_arch_flush_shadow_memslot(struct kvm *kvm,
				   struct kvm_memory_slot *slot)
{
	gpa_t gpa = slot->base_gfn << PAGE_SHIFT;
	phys_addr_t size = slot->npages << PAGE_SHIFT;

	spin_lock(&kvm->mmu_lock);
	unmap_stage2_range(kvm, gpa, size);
	spin_unlock(&kvm->mmu_lock);
}

/* ---- set/way cache maintenance (VCPU thread, from the sysreg traps) ------ */

/*
 * Set/way operations cannot be virtualised faithfully; on the first one we
 * clean the whole VM by VA and start trapping VM register writes so that
 * the later MMU/cache toggle is seen too.
 */
void kvm_set_way_flush(struct kvm_vcpu *vcpu)
{
	unsigned long hcr = vcpu_get_hcr(vcpu);

	/* already trapping VM registers: the toggle path will clean */
	if (hcr & HCR_TVM)
		return;

	trace_kvm_set_way_flush(*vcpu_pc(vcpu), vcpu_has_cache_enabled(vcpu));
	stage2_flush_vm(vcpu->kvm);
	vcpu_set_hcr(vcpu, hcr | HCR_TVM);
}

void kvm_toggle_cache(struct kvm_vcpu *vcpu, bool was_enabled)
{
	bool now_enabled = vcpu_has_cache_enabled(vcpu);

	/* a switch in either direction needs a clean+invalidate */
	if (now_enabled != was_enabled)
		stage2_flush_vm(vcpu->kvm);

	/* caches on: stop trapping until the next set/way op */
	if (now_enabled)
		vcpu_set_hcr(vcpu, vcpu_get_hcr(vcpu) & ~HCR_TVM);

	trace_kvm_toggle_cache(*vcpu_pc(vcpu), was_enabled, now_enabled);
}
