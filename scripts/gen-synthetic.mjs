#!/usr/bin/env node
// Generates a synthetic, kernel-sized KVM arm stage-2 tree for `npm run bench`: deterministic (seeded), never
// committed, written to a folder given on the command line (the bench writes it to a temp folder).
//
//   node scripts/gen-synthetic.mjs OUTDIR [--scale N] [--seed S]
//
// Scale 1 is one virt/kvm/arm/mmu.c of about 2 000 lines with the shapes of the bundled example's mmu.c: the
// stage2_get_pud/pmd walkers, handle_hva_to_gpa with function-pointer handlers, the built-in notifier hooks
// (kvm_age_hva, kvm_test_age_hva, kvm_set_spte_hva, kvm_unmap_hva_range, ...) with and without the
// `if (!kvm->arch.pgd)` guard, unmap loops with cond_resched_lock, kvm_free_stage2_pgd and
// kvm_arch_flush_shadow_all, VCPU and VM-ioctl paths. On top of that core come "units": a family of walkers
// (range -> puds -> pmds -> ptes, and a lookup through stage2_get_pmd), a handler, an hva hook, and a notifier
// callback registered in a `static const struct mmu_notifier_ops` table. Only one table has .release (one
// teardown). Scale N keeps that mmu.c as it is and adds unit files (virt/kvm/arm/s2/walk-NNN.c, each about the
// size of the scale-1 mmu.c) until the tree has N times its lines: more walkers, hooks and call paths, the same
// single teardown. Unit i is the same text at every scale, so the scale-1 tree is part of every larger one.
// This is synthetic test input, not kernel source.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SEED = 0x6c6b7074; // "lkpt"
/** Units that live in mmu.c itself at every scale (this makes scale 1 about 2 000 lines). */
const CORE_UNITS = 9;
const UNIT_FILE_TARGET = 2000;

/** mulberry32: a small, fast, seedable PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const VERBS = ['flush', 'wp', 'clean', 'mkold', 'probe', 'scan', 'sync', 'split', 'relax', 'dirty', 'zap', 'touch', 'audit', 'pin', 'mark'];
const NOTIFIER_FIELDS = ['clear_young', 'test_young', 'clear_flush_young', 'invalidate_range_start', 'change_pte', 'invalidate_range_end'];

// ---------------------------------------------------------------------------------------------------------------
// The core: what every synthetic mmu.c has once.

function core() {
  return `/*
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
		kvm_err("kvm_arch already initialized?\\n");
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
`;
}

// ---------------------------------------------------------------------------------------------------------------
// A unit: one walker family, a lookup, a handler, an hva hook and its notifier callback.

function unit(i, seed) {
  const r = rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
  const p = `stage2_${VERBS[i % VERBS.length]}${i}`;
  const hook = `kvm_${VERBS[i % VERBS.length]}${i}_hva`;
  // Shapes, varied per unit.
  const rangeKind = r.pick(['guarded-resched', 'guarded-resched', 'plain', 'plain', 'guard-top', 'stale-resched']);
  const hookGuard = r.chance(0.6);
  const handlerKind = r.pick(['range', 'lookup', 'both', 'lookup']);
  const depth = r.pick([3, 3, 2]); // puds -> pmds -> ptes, or puds -> pmds (blocks only)
  const leaf = r.pick([
    ['kvm_flush_dcache_pte(*pte);', 'kvm_flush_dcache_pmd(*pmd);'],
    ['*pte = pte_mkold(*pte);', '*pmd = pmd_mkold(*pmd);'],
    ['kvm_set_s2pte_readonly(pte);', 'kvm_set_s2pmd_readonly(pmd);'],
    ['if (pte_young(*pte))\n\t\t\tyoung++;', 'if (pmd_young(*pmd))\n\t\t\tyoung++;'],
  ]);
  const extraLocals = r.int(3);
  const out = [];
  out.push(`/* ---- unit ${i}: ${p}_* (${rangeKind}, hook ${hookGuard ? 'guarded' : 'unguarded'}, handler: ${handlerKind}) ---- */\n`);

  out.push(`static inline bool ${p}_pte_wanted(pte_t pte, unsigned long flags)
{
	if (!pte_present(pte))
		return false;
	return (flags & ${1 + r.int(7)}) || pte_young(pte);
}
`);
  if (depth === 3) {
    out.push(`static int ${p}_ptes(struct kvm *kvm, pmd_t *pmd, phys_addr_t addr, phys_addr_t end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);
	int young = 0;

	do {
		if (pte_none(*pte))
			continue;
		if (!${p}_pte_wanted(*pte, ${r.int(4)}))
			continue;
		${leaf[0]}
	} while (pte++, addr += PAGE_SIZE, addr != end);
	return young;
}
`);
  }
  out.push(`static int ${p}_pmds(struct kvm *kvm, pud_t *pud, phys_addr_t addr, phys_addr_t end)
{
	pmd_t *pmd = stage2_pmd_offset(pud, addr);
	phys_addr_t next;
	int young = 0;

	do {
		next = stage2_pmd_addr_end(addr, end);
		if (pmd_none(*pmd))
			continue;
		if (pmd_thp_or_huge(*pmd)) {
			${leaf[1]}
		}${depth === 3 ? ` else {
			young += ${p}_ptes(kvm, pmd, addr, next);
		}` : ''}
	} while (pmd++, addr = next, addr != end);
	return young;
}

static int ${p}_puds(struct kvm *kvm, pgd_t *pgd, phys_addr_t addr, phys_addr_t end)
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
			young += ${p}_pmds(kvm, pud, addr, next);
	} while (pud++, addr = next, addr != end);
	return young;
}
`);
  const locals = ['unsigned long visited = 0;', 'int rounds = 0;', 'bool logged = false;'].slice(0, extraLocals).map((l) => `\t${l}\n`).join('');
  const topGuard = rangeKind === 'guard-top' ? '\tif (!kvm->arch.pgd)\n\t\treturn 0;\n' : '';
  const loopGuard = rangeKind === 'guarded-resched' ? '\t\tif (!READ_ONCE(kvm->arch.pgd))\n\t\t\tbreak;\n' : '';
  const resched = rangeKind === 'guarded-resched' || rangeKind === 'stale-resched' ? '\t\tif (next != end)\n\t\t\tcond_resched_lock(&kvm->mmu_lock);\n' : '';
  out.push(`/* Walk [start, end) of the guest IPA space (mmu_lock held by the caller). */
static int ${p}_range(struct kvm *kvm, phys_addr_t start, phys_addr_t end)
{
	pgd_t *pgd;
	phys_addr_t addr = start, next;
	int young = 0;
${locals}
${topGuard}	pgd = kvm->arch.pgd + stage2_pgd_index(addr);
	do {
${loopGuard}		next = stage2_pgd_addr_end(addr, end);
		if (!stage2_pgd_none(*pgd))
			young += ${p}_puds(kvm, pgd, addr, next);
${resched}	} while (pgd++, addr = next, addr != end);
	return young;
}

/* One IPA: find its pmd (no allocation) and look at what is mapped there. */
static int ${p}_lookup(struct kvm *kvm, gpa_t gpa)
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
	return ${p}_pte_wanted(*pte, 0);
}
`);
  const body = {
    range: `\treturn ${p}_range(kvm, gpa, gpa + size);`,
    lookup: `\tWARN_ON(size != PAGE_SIZE && size != PMD_SIZE);\n\treturn ${p}_lookup(kvm, gpa);`,
    both: `\tint young;\n\n\tyoung = ${p}_lookup(kvm, gpa);\n\tif (young && size > PAGE_SIZE)\n\t\tyoung += ${p}_range(kvm, gpa, gpa + size);\n\treturn young;`,
  }[handlerKind];
  out.push(`static int ${p}_handler(struct kvm *kvm, gpa_t gpa, u64 size, void *data)
{
${body}
}

/* Called by the notifier below with kvm->mmu_lock held. */
int ${hook}(struct kvm *kvm, unsigned long start, unsigned long end)
{
${hookGuard ? '\t/* ->release may already have freed the tables */\n\tif (!kvm->arch.pgd)\n\t\treturn 0;\n' : ''}	trace_kvm_age_hva(start, end);
	return handle_hva_to_gpa(kvm, start, end, ${p}_handler, NULL);
}

static int ${p}_notifier(struct mmu_notifier *mn, struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	int ret, idx;

	idx = srcu_read_lock(&kvm->srcu);
	spin_lock(&kvm->mmu_lock);
	ret = ${hook}(kvm, start, end);
	spin_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}
`);
  // Hyp-table walkers of the same shape over hyp_pgd: indexed, never a stage-2 chain (as in the example's mmu.c).
  const h = `hyp_${VERBS[i % VERBS.length]}${i}`;
  out.push(`static void ${h}_ptes(pmd_t *pmd, unsigned long addr, unsigned long end)
{
	pte_t *pte = pte_offset_kernel(pmd, addr);

	do {
		if (!pte_present(*pte))
			continue;
		kvm_set_pte(pte, __pte(0));
		put_page(virt_to_page(pte));
	} while (pte++, addr += PAGE_SIZE, addr != end);
}

static void ${h}_pmds(pud_t *pud, unsigned long addr, unsigned long end)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	unsigned long next;

	do {
		next = pmd_addr_end(addr, end);
		if (!pmd_none(*pmd))
			${h}_ptes(pmd, addr, next);
	} while (pmd++, addr = next, addr != end);
}

static void ${h}_range(pgd_t *pgdp, unsigned long start, unsigned long end)
{
	pgd_t *pgd = pgdp + pgd_index(start);
	unsigned long addr = start, next;

	do {
		next = pgd_addr_end(addr, end);
		if (!pgd_none(*pgd))
			${h}_pmds(pud_offset(pgd, addr), addr, next);
	} while (pgd++, addr = next, addr != end);
}

void ${h}_unmap(unsigned long start, unsigned long size)
{
	mutex_lock(&kvm_hyp_pgd_mutex);
	if (hyp_pgd)
		${h}_range(hyp_pgd, start, start + size);
	mutex_unlock(&kvm_hyp_pgd_mutex);
}
`);
  return { text: out.join('\n'), notifier: `${p}_notifier` };
}

/** `static const struct mmu_notifier_ops` tables over the given units (up to four callbacks per table). */
function tables(tag, units, withRelease) {
  const out = [];
  for (let t = 0; t * 4 < units.length; t++) {
    const group = units.slice(t * 4, t * 4 + 4);
    const fields = group.map((u, k) => `\t.${NOTIFIER_FIELDS[(t + k) % NOTIFIER_FIELDS.length]}\t= ${u.notifier},`);
    if (withRelease && t === 0) fields.push('\t.release\t= kvm_s2_notifier_release,');
    out.push(`static const struct mmu_notifier_ops ${tag}_ops_${t} = {\n${fields.join('\n')}\n};\n`);
  }
  return out.join('\n');
}

const countLines = (s) => s.split('\n').length;

/** The tree as [relative path, text] pairs. */
export function generateSynthetic({ scale = 1, seed = DEFAULT_SEED } = {}) {
  const files = [];
  let next = 0;
  const coreUnits = [];
  for (let k = 0; k < CORE_UNITS; k++) coreUnits.push(unit(next++, seed));
  const mmu = [core(), ...coreUnits.map((u) => u.text), tables('kvm_s2', coreUnits, true)].join('\n');
  files.push(['virt/kvm/arm/mmu.c', mmu]);
  const base = countLines(mmu);
  let total = base;
  const target = Math.round(base * scale);
  let part = 0;
  while (total < target - UNIT_FILE_TARGET / 4) {
    const units = [];
    const head = `/*\n * SYNTHETIC input for lockpath's benchmark (scripts/gen-synthetic.mjs), part ${part}. NOT kernel source.\n */\n\n#include <linux/kvm_host.h>\n#include <asm/kvm_mmu.h>\n\nextern int handle_hva_to_gpa(struct kvm *kvm, unsigned long start, unsigned long end,\n\t\t\t     int (*handler)(struct kvm *kvm, gpa_t gpa, u64 size, void *data), void *data);\nextern pmd_t *stage2_get_pmd(struct kvm *kvm, struct kvm_mmu_memory_cache *cache, phys_addr_t addr);\nextern pgd_t *hyp_pgd;\nextern struct mutex kvm_hyp_pgd_mutex;\n\nstatic inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)\n{\n\treturn container_of(mn, struct kvm, mmu_notifier);\n}\n`;
    let lines = countLines(head);
    const budget = Math.min(UNIT_FILE_TARGET, target - total);
    while (lines < budget) {
      const u = unit(next++, seed);
      units.push(u);
      lines += countLines(u.text) + 1;
    }
    const text = [head, ...units.map((u) => u.text), tables(`s2_part${part}`, units, false)].join('\n');
    files.push([`virt/kvm/arm/s2/walk-${String(part).padStart(3, '0')}.c`, text]);
    total += countLines(text);
    part++;
  }
  return files;
}

/** Writes the tree under `dir` (emptied first); returns its files and line count. */
export function writeSynthetic(dir, opts = {}) {
  rmSync(dir, { recursive: true, force: true });
  const files = generateSynthetic(opts);
  for (const [rel, text] of files) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return { dir, files: files.length, lines: files.reduce((n, [, t]) => n + countLines(t), 0) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const flag = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  if (!out) {
    console.error('usage: node scripts/gen-synthetic.mjs OUTDIR [--scale N] [--seed S]');
    process.exit(2);
  }
  const r = writeSynthetic(out, { scale: flag('scale', 1), seed: flag('seed', DEFAULT_SEED) });
  console.log(`${r.dir}: ${r.files} files, ${r.lines} lines`);
}
