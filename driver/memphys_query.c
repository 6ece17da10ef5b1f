// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: MEMPHYS_IOC_QUERY_PAGE, the page table entry behind an address
 * of a mapping of the caller's region: its frame, whether it is writable,
 * its size (4 KiB, 2 MiB or 1 GiB) and the memory type its bits select.
 *
 * The remap and fault methods' VM_PFNMAP entries are read the way the
 * kernel offers for them (compat.h); a pages mapping's entries, which that
 * refuses, by memphys_pages.c; the memory type by memphys_memtype.c.
 */
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pgtable.h>

#include "compat.h"
#include "memphys.h"

/*
 * Bytes mapped by the present leaf entry behind @address.  Called with the
 * mmap lock held, which keeps the page tables of the area in place.
 */
static u64 memphys_entry_size(struct mm_struct *mm, unsigned long address)
{
	pgd_t *pgd = pgd_offset(mm, address);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;

	if (pgd_none(READ_ONCE(*pgd)))
		return 0;
	p4d = p4d_offset(pgd, address);
	if (p4d_none(READ_ONCE(*p4d)))
		return 0;
	pud = pud_offset(p4d, address);
	if (pud_leaf(READ_ONCE(*pud)))
		return PUD_SIZE;
	if (pud_none(READ_ONCE(*pud)))
		return 0;
	pmd = pmd_offset(pud, address);
	if (pmd_leaf(READ_ONCE(*pmd)))
		return PMD_SIZE;
	return PAGE_SIZE;
}

/* Fill @query (its address given) for a mapping of @mf's region. */
int memphys_query_page(struct memphys_file *mf,
		       struct memphys_page_query *query)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long pfn;
	bool writable;
	pgprot_t prot;
	int ret = 0;

	if (query->address > ULONG_MAX)
		return -EINVAL;
	mmap_read_lock(mm);
	vma = vma_lookup(mm, query->address);
	/* A pages area maps the region's own file (memphys_pages.c). */
	if (!vma || !vma->vm_file ||
	    (vma->vm_file->f_op != &memphys_fops && !memphys_pages_vma(vma)) ||
	    memphys_file_region(vma->vm_file) != mf->region) {
		ret = -EINVAL;
		goto out;
	}
	query->pfn = 0;
	query->flags = 0;
	query->memtype = 0;
	query->entry_size = 0;
	if (memphys_pages_vma(vma))
		ret = memphys_pages_follow(vma, query->address, &pfn, &prot,
					   &writable);
	else
		ret = memphys_follow_pfn(vma, query->address, &pfn, &prot,
					 &writable);
	if (!ret) {
		query->pfn = pfn;
		query->flags = MEMPHYS_PAGE_PRESENT |
			       (writable ? MEMPHYS_PAGE_WRITE : 0);
		query->entry_size = memphys_entry_size(mm, query->address);
		query->memtype = memphys_entry_memtype(prot,
						       query->entry_size);
	}
	ret = 0;
out:
	mmap_read_unlock(mm);
	return ret;
}
