// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: the two mapping methods.
 *
 * remap: .mmap maps the whole range at once with remap_pfn_range(), like
 *        /dev/mem.
 * fault: .mmap only prepares a VM_PFNMAP area; .fault inserts the PFN of
 *        the touched page and, with fault-around, of its neighbours; where
 *        the kernel supports huge PFN mappings, .huge_fault inserts 2 MiB /
 *        1 GiB entries.
 *
 * pages: .mmap checks the request here, as for the others, and hands the
 *        area to memphys_pages.c (ZONE_DEVICE pages, pinnable).
 *
 * Neither needs a kernel virtual mapping of the region.  Both map with the
 * region's memory type, which memphys_memtype.c holds for the module's life,
 * and both serve ptrace(), /proc/PID/mem and gdb through
 * memphys_vma_access() (memphys_io.c), copied pages of a private remap
 * area included.
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/log2.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/overflow.h>

#include "compat.h"
#include "memphys.h"

u32 memphys_fault_sizes(void)
{
	u32 sizes = MEMPHYS_FAULT_4K;

	if (MEMPHYS_HAVE_PMD_FAULT && has_transparent_hugepage())
		sizes |= MEMPHYS_FAULT_2M;
	if (MEMPHYS_HAVE_PUD_FAULT && has_transparent_hugepage() &&
	    memphys_cpu_has_gbpages())
		sizes |= MEMPHYS_FAULT_1G;
	return sizes;
}

u64 memphys_largest_fault_size(void)
{
	u32 sizes = memphys_fault_sizes();

	if (sizes & MEMPHYS_FAULT_1G)
		return MEMPHYS_SIZE_1G;
	if (sizes & MEMPHYS_FAULT_2M)
		return MEMPHYS_SIZE_2M;
	return MEMPHYS_SIZE_4K;
}

bool memphys_fault_around_valid(u64 pages)
{
	return pages && pages <= MEMPHYS_FAULT_AROUND_MAX &&
	       is_power_of_2(pages);
}

/* A window of PFNs being mapped around a fault. */
struct memphys_prefault {
	struct vm_area_struct *vma;
	unsigned long start;	/* virtual address of the window */
	unsigned long pfn;	/* PFN mapped at start */
	unsigned long fault;	/* virtual address of the faulting page */
	unsigned long fault_pfn;	/* and the PFN it maps */
	bool have_prot;
	pgprot_t prot;		/* the faulting entry's protection */
	unsigned long count;	/* entries filled */
};

/*
 * apply_to_page_range() callback, called with the page table lock held:
 * fill a free entry with the faulting entry's protection bits (memory type,
 * write permission, special/devmap), leave a present one (the faulting
 * page, or one another thread mapped) alone.  The whole window lies in the
 * faulting page's PTE table, so its entry is at a known distance from
 * @pte; the first call reads it, and stops the walk if it is gone.
 */
static int memphys_prefault_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct memphys_prefault *p = data;
	struct vm_area_struct *vma = p->vma;
	unsigned long pfn = p->pfn + ((addr - p->start) >> PAGE_SHIFT);

	if (!p->have_prot) {
		pte_t f = ptep_get(pte + ((long)(p->fault - addr) >> PAGE_SHIFT));

		if (!pte_present(f) || pte_pfn(f) != p->fault_pfn)
			return -EAGAIN;
		/* A neighbour nobody wrote yet is not dirty. */
		p->prot = pte_pgprot(pte_mkclean(f));
		p->have_prot = true;
	}
	if (!pte_none(ptep_get(pte)))
		return 0;
	/*
	 * The faulting entry is special already (a PFN entry, or a devmap one,
	 * which is special on x86 and arm64).  Saying so lets arm64's
	 * set_pte_at() drop its MTE tag sync of struct pages, a call to
	 * mte_sync_tags() that modules cannot link.
	 */
	set_pte_at(vma->vm_mm, addr, pte, pte_mkspecial(pfn_pte(pfn, p->prot)));
	update_mmu_cache(vma, addr, pte);
	p->count++;
	return 0;
}

/*
 * The fault-around window of a 4 KiB fault: [@start, @end), the naturally
 * aligned window of the area's fault-around pages that holds the faulting
 * page, clipped to the area and the region.  False without one.
 */
bool memphys_fault_around_window(struct vm_fault *vmf,
				 struct memphys_region *r,
				 unsigned long *start, unsigned long *end)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long span = memphys_vma_fault_around(vma) << PAGE_SHIFT;
	unsigned long addr = vmf->address & PAGE_MASK;
	u64 left = r->size - ((u64)vmf->pgoff << PAGE_SHIFT);

	if (span <= PAGE_SIZE)
		return false;
	*start = max(ALIGN_DOWN(addr, span), vma->vm_start);
	*end = min(ALIGN_DOWN(addr, span) + span, vma->vm_end);
	if (left < *end - addr)
		*end = addr + left;
	return true;
}

/*
 * Fault-around, as do_fault_around() does for the page cache: after the
 * faulting page (@pfn, just mapped), map the free entries of the naturally
 * aligned window of the area's fault-around pages that holds it, clipped
 * to the area and the region, each with the faulting entry's protection
 * (vmf_insert_pfn() may have adjusted vm_page_prot's memory type to the
 * one the PFN is tracked with).  The window (at most 512 aligned pages)
 * lies in the page table that the faulting page's insertion has just
 * populated.  A memphys area is never a COW one (memphys_mmap_check()),
 * so no entry needs copying.  Used by the fault method and, up to 6.14,
 * by the pages method, whose 4 KiB entries are devmap ones (compat.h).
 */
void memphys_fault_around(struct vm_fault *vmf, struct memphys_region *r,
			  unsigned long pfn)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long addr = vmf->address & PAGE_MASK;
	struct memphys_prefault p = {
		.vma = vma, .fault = addr, .fault_pfn = pfn,
	};
	unsigned long end;

	if (!memphys_fault_around_window(vmf, r, &p.start, &end))
		return;
	p.pfn = pfn - ((addr - p.start) >> PAGE_SHIFT);
	/* Best effort: on failure the remaining pages fault one by one. */
	apply_to_page_range(vma->vm_mm, p.start, end - p.start,
			    memphys_prefault_pte, &p);
	atomic64_add(p.count, &r->stats.prefaulted);
}

static vm_fault_t memphys_fault(struct vm_fault *vmf)
{
	struct memphys_region *r = memphys_file_region(vmf->vma->vm_file);
	unsigned long pfn = memphys_fault_pfn(r, vmf);
	vm_fault_t ret;

	if (pfn == -1UL)
		return VM_FAULT_SIGBUS;
	ret = vmf_insert_pfn(vmf->vma, vmf->address, pfn);
	if (ret == VM_FAULT_NOPAGE) {
		atomic64_inc(&r->stats.pte_faults);
		memphys_fault_around(vmf, r, pfn);
	}
	return ret;
}

#if MEMPHYS_HAVE_HUGE_FAULT
/*
 * Insert one entry of @size bytes when the virtual address, the PFN and the
 * area's bounds are all aligned to it; otherwise let the kernel fall back to
 * the next smaller size.
 */
static vm_fault_t memphys_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct memphys_region *r = memphys_file_region(vma->vm_file);
	unsigned long size = PAGE_SIZE << order;
	unsigned long addr = ALIGN_DOWN(vmf->address, size);
	unsigned long pfn = memphys_region_pfn(r, linear_page_index(vma, addr),
					       size);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	bool upgrade;

	if (size > memphys_vma_max_fault(vma) || addr < vma->vm_start ||
	    addr + size > vma->vm_end || pfn == -1UL ||
	    !IS_ALIGNED(pfn, size >> PAGE_SHIFT))
		goto fallback;

	/*
	 * A write to a read-only huge entry comes back here to make it
	 * writable: that is the same mapping, not a new fault to count.
	 */
	switch (order) {
#if MEMPHYS_HAVE_PMD_FAULT
	case PMD_ORDER:
		upgrade = !pmd_none(READ_ONCE(*vmf->pmd));
		ret = memphys_insert_pmd(vmf, pfn, write);
		if (ret == VM_FAULT_NOPAGE && !upgrade)
			atomic64_inc(&r->stats.pmd_faults);
		return ret;
#endif
#if MEMPHYS_HAVE_PUD_FAULT
	case PUD_ORDER:
		upgrade = !pud_none(READ_ONCE(*vmf->pud));
		ret = memphys_insert_pud(vmf, pfn, write);
		if (ret == VM_FAULT_NOPAGE && !upgrade)
			atomic64_inc(&r->stats.pud_faults);
		return ret;
#endif
	default:
		break;
	}
fallback:
	atomic64_inc(&r->stats.fallback_faults);
	return ret;
}
#endif

/* Moving a mapping would carry PFN tracking state we do not own: refuse. */
static int memphys_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/*
 * Partial munmap()/mprotect() split an area; refuse it where the kernel
 * cannot split the PAT reservation of a remapped one (see compat.h).
 */
static int memphys_remap_may_split(struct vm_area_struct *vma,
				   unsigned long addr)
{
	return memphys_remap_split_leaks() ? -EINVAL : 0;
}

#if MEMPHYS_HAVE_MMAP_PREPARE
/*
 * .mmap_prepare runs before the area exists and the core may still fail
 * after it (the remap action, the area's allocation): count a remap or
 * fault mapping once it is in place.  Such an area (VM_PFNMAP) is never
 * merged into a neighbour, so .mapped is called for every one.
 */
static int memphys_remap_mapped(unsigned long start, unsigned long end,
				pgoff_t pgoff, const struct file *file,
				void **vm_private_data)
{
	struct memphys_region *r = memphys_file_region((struct file *)file);

	atomic64_inc(&r->stats.mmap_calls);
	atomic64_add(end - start, &r->stats.bytes_remapped);
	return 0;
}

/* The .mapped of fault and pages areas: count the mapping, now in place. */
int memphys_count_mapped(unsigned long start, unsigned long end,
			 pgoff_t pgoff, const struct file *file,
			 void **vm_private_data)
{
	struct memphys_region *r = memphys_file_region((struct file *)file);

	atomic64_inc(&r->stats.mmap_calls);
	return 0;
}
#endif

static const struct vm_operations_struct memphys_remap_vm_ops = {
#if MEMPHYS_HAVE_MMAP_PREPARE
	.mapped = memphys_remap_mapped,
#endif
	.may_split = memphys_remap_may_split,
	.mremap = memphys_vm_mremap,
	.access = memphys_vma_access,
};

static const struct vm_operations_struct memphys_fault_vm_ops = {
#if MEMPHYS_HAVE_MMAP_PREPARE
	.mapped = memphys_count_mapped,
#endif
	.fault = memphys_fault,
#if MEMPHYS_HAVE_HUGE_FAULT
	.huge_fault = memphys_huge_fault,
#endif
	.mremap = memphys_vm_mremap,
	.access = memphys_vma_access,
};

static int memphys_refuse(struct memphys_region *r, int err)
{
	atomic64_inc(&r->stats.refused);
	return err;
}

/*
 * Checks of a new mapping common to .mmap and .mmap_prepare: [pgoff, +len)
 * inside the region, never executable, no COW area for the fault method.
 * Stores the mapping's byte offset in the region in @offset.
 */
static int memphys_mmap_check(struct memphys_region *r, u32 method,
			      unsigned long start, pgoff_t pgoff, u64 len,
			      u64 max_fault, bool exec, bool cow, u64 *offset)
{
	if (check_shl_overflow((u64)pgoff, PAGE_SHIFT, offset) ||
	    *offset >= r->size || len > r->size - *offset)
		return memphys_refuse(r, -EINVAL);
	if (method == MEMPHYS_METHOD_PAGES &&
	    memphys_pages_check(r, start, *offset, len, max_fault))
		return memphys_refuse(r, -EINVAL);
	/* A data buffer is never code: refuse PROT_EXEC now and later. */
	if (exec)
		return memphys_refuse(r, -EPERM);
	/* vmf_insert_pfn() BUGs on a COW PFNMAP area, as device-dax knows. */
	if (method != MEMPHYS_METHOD_REMAP && cow)
		return memphys_refuse(r, -EINVAL);
	return 0;
}

/* Whether a fault-method area may take huge faults (VM_HUGEPAGE). */
static bool memphys_wants_huge(u64 max_fault, bool cow)
{
	return MEMPHYS_HAVE_HUGE_FAULT && !cow && max_fault > PAGE_SIZE;
}

#if MEMPHYS_HAVE_MMAP_PREPARE
/*
 * .mmap_prepare describes the area before it exists; for the remap method
 * the core then remaps the whole range (mmap_action) and unmaps the area
 * again if that fails, as drivers/char/mem.c relies on.
 */
int memphys_mmap_prepare(struct vm_area_desc *desc)
{
	struct memphys_file *mf = desc->file->private_data;
	struct memphys_settings set = memphys_file_settings(mf);
	struct memphys_region *r = mf->region;
	u32 method = set.method;
	u64 max_fault = set.max_fault_size;
	u32 fault_around = set.fault_around;
	bool cow = vma_desc_is_cow_mapping(desc);
	u64 offset;
	int ret;

	ret = memphys_mmap_check(r, method, desc->start, desc->pgoff,
				 vma_desc_size(desc), max_fault,
				 vma_desc_test(desc, VMA_EXEC_BIT), cow,
				 &offset);
	if (ret)
		return ret;

	vma_desc_clear_flags(desc, VMA_MAYEXEC_BIT);
	desc->page_prot = memphys_region_pgprot(r, desc->page_prot);
	if (method == MEMPHYS_METHOD_REMAP) {
		desc->vm_ops = &memphys_remap_vm_ops;
		mmap_action_remap_full(desc, PHYS_PFN(r->base + offset));
	} else if (method == MEMPHYS_METHOD_PAGES) {
		/* Counted by its .mapped, memphys_count_mapped(). */
		memphys_pages_mmap_prepare(desc, max_fault, fault_around);
	} else {
		desc->vm_ops = &memphys_fault_vm_ops;
		desc->private_data = memphys_vma_data(max_fault, fault_around);
		vma_desc_set_flags(desc, VMA_PFNMAP_BIT, VMA_IO_BIT,
				   VMA_DONTEXPAND_BIT, VMA_DONTDUMP_BIT);
		if (memphys_wants_huge(max_fault, cow))
			vma_desc_set_flags(desc, VMA_HUGEPAGE_BIT);
	}
	return 0;
}
#else
int memphys_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct memphys_file *mf = file->private_data;
	struct memphys_settings set = memphys_file_settings(mf);
	struct memphys_region *r = mf->region;
	u32 method = set.method;
	u64 max_fault = set.max_fault_size;
	u32 fault_around = set.fault_around;
	u64 len = vma->vm_end - vma->vm_start;
	bool cow = is_cow_mapping(vma->vm_flags);
	u64 offset;
	int ret;

	ret = memphys_mmap_check(r, method, vma->vm_start, vma->vm_pgoff, len,
				 max_fault, vma->vm_flags & VM_EXEC, cow,
				 &offset);
	if (ret)
		return ret;

	memphys_vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_page_prot = memphys_region_pgprot(r, vma->vm_page_prot);
	if (method == MEMPHYS_METHOD_REMAP) {
		vma->vm_ops = &memphys_remap_vm_ops;
		ret = remap_pfn_range(vma, vma->vm_start,
				      PHYS_PFN(r->base + offset), len,
				      vma->vm_page_prot);
		if (ret)
			return memphys_refuse(r, ret);
		atomic64_add(len, &r->stats.bytes_remapped);
	} else if (method == MEMPHYS_METHOD_PAGES) {
		memphys_pages_mmap(vma, max_fault, fault_around);
	} else {
		vma->vm_ops = &memphys_fault_vm_ops;
		vma->vm_private_data = memphys_vma_data(max_fault, fault_around);
		memphys_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND |
					  VM_DONTDUMP);
		if (memphys_wants_huge(max_fault, cow))
			memphys_vm_flags_set(vma, VM_HUGEPAGE);
	}
	atomic64_inc(&r->stats.mmap_calls);
	return 0;
}
#endif

#if MEMPHYS_HAVE_HUGE_FAULT || MEMPHYS_HAVE_PAGES_HUGE
/*
 * Huge faults need the virtual address aligned like the physical one:
 * choose an address whose offset inside the largest fault size allowed
 * equals the physical address's (base + offset), so that regions whose
 * base is not aligned to it still get huge faults where the frames allow.
 * Fixed and small requests go the usual way.
 */
unsigned long memphys_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags)
{
	struct memphys_file *mf = file->private_data;
	struct memphys_settings set = memphys_file_settings(mf);
	unsigned long align = set.max_fault_size;
	phys_addr_t phys = mf->region->base + ((phys_addr_t)pgoff << PAGE_SHIFT);
	unsigned long off, padded, area;

	if (align <= PAGE_SIZE || set.method == MEMPHYS_METHOD_REMAP ||
	    (flags & MAP_FIXED) || len < MEMPHYS_SIZE_2M)
		return memphys_mm_get_unmapped_area(file, addr, len, pgoff,
						    flags);
	if (align > len)
		align = MEMPHYS_SIZE_2M;
	if (check_add_overflow(len, align, &padded))
		return -ENOMEM;
	area = memphys_mm_get_unmapped_area(file, 0, padded, pgoff, flags);
	if (IS_ERR_VALUE(area))
		return area;
	off = phys & (align - 1);
	return area + ((off - area) & (align - 1));
}
#endif
