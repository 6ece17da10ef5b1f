// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: the pages method.
 *
 * A region loaded with the pages option (regions=SIZE@BASE:pages) gets
 * ZONE_DEVICE struct pages at load, memremap_pages(MEMORY_DEVICE_GENERIC)
 * as drivers/dax does, and mappings with this method insert those pages
 * from the fault handler the way drivers/dax/device.c does on each kernel
 * (compat.h).  Unlike the remap and fault methods' VM_PFNMAP areas, such a
 * mapping can be pinned: get_user_pages()/pin_user_pages() (O_DIRECT,
 * vmsplice(), process_vm_readv(), /proc/PID/mem, RDMA, io_uring) work on it.
 * The struct pages cost 64 bytes per 4 KiB page (16 MiB per GiB) of RAM.
 *
 * A pages mapping is not a mapping of the /dev file: .mmap points the area
 * at a file of the region's own inode, which has S_DAX (so the kernel
 * offers the area the 2 MiB and 1 GiB faults it offers device-dax, on 6.1
 * and 7.x too, and zaps them as it zaps device-dax's) and S_IFCHR (so
 * long-term pins are not refused as for fs-dax), an inode of a private
 * pseudo-filesystem as drivers/dax/super.c has.  Only pages mappings get
 * it: a remap or fault area of a DAX inode would be zapped as refcounted
 * folios on 7.x.
 *
 * A pinned page may outlive every mapping and open file (a pipe keeps the
 * pages vmsplice() gave it), and memunmap_pages() must not run while one
 * does.  So from the first mapping on, the region holds a reference to the
 * module; once no file of the region is open and no area maps it any more
 * (so nothing can pin more), a work item checks every page's reference
 * count and drops the module reference when all are back to their idle
 * value.  Until then rmmod fails with EAGAIN ("in use").  The work item
 * polls: no kernel calls a MEMORY_DEVICE_GENERIC pgmap back when a page's
 * last pin goes (compat.h, MEMPHYS_PAGE_IDLE_REFS).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "memphys.h"

/* How often a region whose files are all closed rechecks its pages. */
#define MEMPHYS_PAGES_RECHECK	(HZ / 10)

struct memphys_pages {
	struct memphys_region *region;
	struct dev_pagemap pgmap;
	unsigned int folio_order;	/* of every folio of the region */
	spinlock_t lock;		/* users, opens, lent */
	unsigned int users;		/* open files of the region */
	unsigned long opens;		/* open() calls since load */
	bool lent;			/* holds a module reference */
	struct delayed_work reclaim;
	unsigned long scan_pfn;		/* where the next reclaim scan resumes */
	unsigned long scan_opens;	/* opens when scan_pfn was valid */
	struct vfsmount *mnt;		/* of the pseudo-filesystem below */
	struct file *file;		/* every pages area's vm_file */
	struct memphys_file mf;		/* its private_data: the region */
	struct work_struct put;		/* drops file from a kernel thread */
};

#if MEMPHYS_HAVE_PAGES
/* Whether the kernel and CPU can insert entries of @order (PMD or PUD). */
static bool memphys_pages_can_insert(unsigned int order)
{
	if (!has_transparent_hugepage())
		return false;
	if (order == PMD_SHIFT - PAGE_SHIFT)
		return MEMPHYS_HAVE_PAGES_PMD;
	return order == PUD_SHIFT - PAGE_SHIFT && MEMPHYS_HAVE_PAGES_PUD &&
	       memphys_cpu_has_gbpages();
}

/* Whether a pages mapping of @r takes entries of @order (compat.h). */
static bool memphys_pages_order_ok(struct memphys_region *r,
				   unsigned int order)
{
	unsigned int folio = r->pages->folio_order;

	/*
	 * From 6.15 an entry maps a whole folio: a 4 KiB entry inside a large
	 * folio would get per-page mapcounts the kernel does not keep there
	 * (x86-64 shares tail struct pages, vmemmap dedup).  As device-dax.
	 */
	if (MEMPHYS_PAGES_EXACT_FOLIO)
		return order == folio;
	if (!order)
		return true;
	return order <= folio && memphys_pages_can_insert(order);
}

/* MEMPHYS_FAULT_* a pages mapping of @r can take. */
u32 memphys_pages_fault_sizes(struct memphys_region *r)
{
	u32 sizes = 0;

	if (memphys_pages_order_ok(r, 0))
		sizes |= MEMPHYS_FAULT_4K;

	if (memphys_pages_order_ok(r, PMD_SHIFT - PAGE_SHIFT))
		sizes |= MEMPHYS_FAULT_2M;
	if (memphys_pages_order_ok(r, PUD_SHIFT - PAGE_SHIFT))
		sizes |= MEMPHYS_FAULT_1G;
	return sizes;
}

/*
 * Whether no area maps the region any more: each holds a reference to
 * p->file, which the region holds one of too.
 */
static bool memphys_pages_unmapped(struct memphys_pages *p)
{
	return !p->file || file_count(p->file) == 1;
}

/*
 * Whether no folio of the region is referenced beyond its idle count, with
 * no file open and no area mapping the region since @opens.  Then a folio
 * found idle stays idle (nothing is left that could reference it again),
 * so a rescan resumes at the folio that was still busy last time, unless a
 * file was opened in between: while a pipe or an O_DIRECT holds one folio,
 * each recheck reads one reference count, not the whole region's.
 */
static bool memphys_pages_idle(struct memphys_pages *p, unsigned long opens)
{
	struct memphys_region *r = p->region;
	unsigned long first = PHYS_PFN(r->base);
	unsigned long end = first + (r->size >> PAGE_SHIFT);
	unsigned long step = 1UL << p->folio_order;
	unsigned long pfn;

	if (p->scan_opens != opens) {
		p->scan_opens = opens;
		p->scan_pfn = first;
	}
	for (pfn = p->scan_pfn; pfn < end; pfn += step) {
		if (folio_ref_count(page_folio(pfn_to_page(pfn))) !=
		    MEMPHYS_PAGE_IDLE_REFS) {
			p->scan_pfn = pfn;
			return false;
		}
		if (!(pfn & (PAGES_PER_SECTION - 1)))
			cond_resched();
	}
	p->scan_pfn = end;
	return true;
}

/*
 * memremap_pages() marks every ZONE_DEVICE page PG_reserved.  VFIO's type1
 * IOMMU takes a reserved page for memory without a reference count of its
 * own: it pins it through GUP, neither charges nor ever unpins it, so each
 * VFIO_IOMMU_MAP_DMA of a pages mapping would leak its pins and keep the
 * module loaded until reboot.  The region's pages are refcounted like any
 * pinnable page: clear the flag (only where set: tail pages of a folio may
 * share their struct page memory).  Not with ClearPageReserved(), whose
 * compound-page check would BUG under DEBUG_VM_PGFLAGS (compat.h).
 */
static void memphys_pages_clear_reserved(struct memphys_region *r)
{
	unsigned long pfn = PHYS_PFN(r->base);
	unsigned long end = pfn + (r->size >> PAGE_SHIFT);

	for (; pfn < end; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (PageReserved(page))
			memphys_page_clear_reserved(page);
		if (!(pfn & (PAGES_PER_SECTION - 1)))
			cond_resched();
	}
}

static void memphys_pages_reclaim(struct work_struct *work)
{
	struct memphys_pages *p = container_of(to_delayed_work(work),
					       struct memphys_pages, reclaim);
	unsigned long opens;
	bool put = false;
	bool idle;

	/*
	 * The scan runs unlocked.  Only a mapping can reference an idle page
	 * and only an open file can map, so its verdict holds if no file was
	 * open and no area mapped the region when it started and no file was
	 * opened before it ended; the last close of an open file and every
	 * area's close queue this work again.
	 */
	spin_lock(&p->lock);
	if (!p->lent || p->users) {
		spin_unlock(&p->lock);
		return;
	}
	opens = p->opens;
	spin_unlock(&p->lock);
	idle = memphys_pages_unmapped(p) && memphys_pages_idle(p, opens);

	spin_lock(&p->lock);
	if (p->lent && !p->users) {
		if (idle && p->opens == opens) {
			p->lent = false;
			put = true;
		} else {
			schedule_delayed_work(&p->reclaim,
					      MEMPHYS_PAGES_RECHECK);
		}
	}
	spin_unlock(&p->lock);
	/* module_exit() cancels this work (synchronously) before it returns. */
	if (put) {
		/*
		 * A forced unload may wait for it.  wake_up_var() wakes only
		 * if it sees the waiter queued (waitqueue_active(), no
		 * barrier) and spin_unlock() only orders what precedes it:
		 * order the store to lent before that check, or the waiter
		 * may test lent before it and sleep unwoken (include/linux/
		 * wait.h).
		 */
		smp_mb();
		wake_up_var(&p->lent);
		module_put(THIS_MODULE);
	}
}

void memphys_pages_open(struct memphys_region *r)
{
	struct memphys_pages *p = r->pages;

	if (!p)
		return;
	spin_lock(&p->lock);
	p->users++;
	p->opens++;
	spin_unlock(&p->lock);
}

void memphys_pages_release(struct memphys_region *r)
{
	struct memphys_pages *p = r->pages;

	if (!p)
		return;
	spin_lock(&p->lock);
	if (!--p->users && p->lent)
		schedule_delayed_work(&p->reclaim, 0);
	spin_unlock(&p->lock);
}

/* A pages mapping is being created: hold the module until all is idle. */
static void memphys_pages_lend(struct memphys_region *r)
{
	struct memphys_pages *p = r->pages;

	spin_lock(&p->lock);
	if (!p->lent) {
		/* The caller's open file already holds the module. */
		__module_get(THIS_MODULE);
		p->lent = true;
	}
	spin_unlock(&p->lock);
}

#if MEMPHYS_PAGES_EXACT_FOLIO
/* Pages per vm_insert_pages() call of fault-around (on the stack). */
#define MEMPHYS_PAGES_AROUND_BATCH	32

/*
 * Insert the pages of [@addr, @end), @pfn first, as referenced, rmapped
 * entries of the area's protection (vm_page_prot: write-back, the only
 * type of a pages region, as vmf_insert_page_mkwrite() gives the faulting
 * page), leaving present entries alone.  Return how many were inserted,
 * whether @fault was among them in @faulted, and where it stopped (@end
 * unless an error other than a present entry cut it short) in @stop.
 */
static unsigned long memphys_pages_insert_range(struct vm_area_struct *vma,
						unsigned long addr,
						unsigned long end,
						unsigned long pfn,
						unsigned long fault,
						bool *faulted,
						unsigned long *stop)
{
	struct page *pages[MEMPHYS_PAGES_AROUND_BATCH];
	unsigned long count = 0;

	*faulted = false;
	while (addr < end) {
		unsigned long n = min_t(unsigned long, (end - addr) >> PAGE_SHIFT,
					MEMPHYS_PAGES_AROUND_BATCH);
		unsigned long i, left = n, done;
		int ret;

		for (i = 0; i < n; i++)
			pages[i] = pfn_to_page(pfn + i);
		ret = vm_insert_pages(vma, addr, pages, &left);
		done = n - left;
		count += done;
		if (fault >= addr && fault < addr + (done << PAGE_SHIFT))
			*faulted = true;
		if (ret && ret != -EBUSY)
			break;
		/* -EBUSY: the first page left is mapped already: skip it. */
		i = done + (ret ? 1 : 0);
		addr += i << PAGE_SHIFT;
		pfn += i;
	}
	*stop = min(addr, end);
	return count;
}

/*
 * A 4 KiB fault with fault-around in a region of 4 KiB folios (6.15+):
 * the whole window, the faulting page included, in one batch under one
 * page table lock.  The faulting entry gets the area's protection as the
 * others (writable in a writable shared area; the CPU sets its dirty bit
 * on the write that faulted).  False if there is no window or the batch
 * stopped before the faulting page: then it is inserted on its own.
 */
static bool memphys_pages_around(struct vm_fault *vmf,
				 struct memphys_region *r, unsigned long pfn)
{
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long start, end, stop, count;
	bool faulted;

	if (r->pages->folio_order ||
	    !memphys_fault_around_window(vmf, r, &start, &end))
		return false;
	count = memphys_pages_insert_range(vmf->vma, start, end,
					   pfn - ((addr - start) >> PAGE_SHIFT),
					   addr, &faulted, &stop);
	atomic64_add(count - faulted, &r->stats.prefaulted);
	if (stop <= addr)
		return false;
	atomic64_inc(&r->stats.pte_faults);
	return true;
}
#else
/*
 * Up to 6.14 a pages mapping's 4 KiB entries are devmap entries, which
 * take no reference or rmap: the fault method's fault-around copies the
 * faulting one, after it.
 */
static bool memphys_pages_around(struct vm_fault *vmf,
				 struct memphys_region *r, unsigned long pfn)
{
	return false;
}
#endif

/*
 * From 6.15, a pages mapping of a region of large folios takes entries of
 * the folio size only (memphys_pages_order_ok()): refuse one that could
 * not, as device-dax's check_vma() does: an address, offset or length off
 * the folio size, or a largest fault size below it.  EINVAL.
 */
int memphys_pages_check(struct memphys_region *r, unsigned long start,
			u64 offset, u64 len, u64 max_fault)
{
	u64 size;

	if (!MEMPHYS_PAGES_EXACT_FOLIO || !r->pages || !r->pages->folio_order)
		return 0;
	size = PAGE_SIZE << r->pages->folio_order;
	if (!IS_ALIGNED((u64)start | offset | len, size) || max_fault < size)
		return -EINVAL;
	return 0;
}

/* The VM flags of a new pages area of @r beyond VM_DONTEXPAND. */
static vm_flags_t memphys_pages_vm_flags(struct memphys_region *r)
{
	if (MEMPHYS_PAGES_EXACT_FOLIO && !r->pages->folio_order)
		return VM_MIXEDMAP;	/* fault-around: vm_insert_pages() */
	return MEMPHYS_PAGES_VM_FLAGS;
}

/*
 * A partial munmap() or mprotect() inside a folio (6.15+) would leave the
 * rest of it to 4 KiB faults: EINVAL, as device-dax's may_split.
 */
static int memphys_pages_may_split(struct vm_area_struct *vma,
				   unsigned long addr)
{
	struct memphys_pages *p = memphys_file_region(vma->vm_file)->pages;

	if (MEMPHYS_PAGES_EXACT_FOLIO &&
	    !IS_ALIGNED(addr, PAGE_SIZE << p->folio_order))
		return -EINVAL;
	return 0;
}

static vm_fault_t memphys_pages_fault(struct vm_fault *vmf)
{
	struct memphys_region *r = memphys_file_region(vmf->vma->vm_file);
	unsigned long pfn = memphys_fault_pfn(r, vmf);
	vm_fault_t ret;

	/*
	 * A 4 KiB fault in a large folio (6.15+): the huge fault fell back
	 * (MADV_NOHUGEPAGE, THP disabled for the process), as device-dax.
	 */
	if (pfn == -1UL || !memphys_pages_order_ok(r, 0))
		return VM_FAULT_SIGBUS;
	/* 6.15+, 4 KiB folios: the faulting page is one of the window's. */
	if (memphys_pages_around(vmf, r, pfn))
		return VM_FAULT_NOPAGE;
	ret = memphys_pages_insert_pte(vmf, pfn,
				       vmf->flags & FAULT_FLAG_WRITE);
	if (ret == VM_FAULT_NOPAGE) {
		atomic64_inc(&r->stats.pte_faults);
		if (!MEMPHYS_PAGES_EXACT_FOLIO)
			memphys_fault_around(vmf, r, pfn);
	}
	return ret;
}

/* An area is gone: once nothing maps the region, it may become idle. */
static void memphys_pages_vm_close(struct vm_area_struct *vma)
{
	struct memphys_pages *p = memphys_file_region(vma->vm_file)->pages;

	spin_lock(&p->lock);
	if (p->lent && !p->users)
		schedule_delayed_work(&p->reclaim, MEMPHYS_PAGES_RECHECK);
	spin_unlock(&p->lock);
}

#if MEMPHYS_HAVE_PAGES_HUGE
/*
 * One 2 MiB or 1 GiB entry when the address, the frame and the area all
 * allow it and the area's largest fault size (vm_private_data, as for the
 * fault method) is not smaller; else the kernel falls back to a smaller
 * size.  A write that only makes a present entry writable is not counted.
 */
static vm_fault_t memphys_pages_huge(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct memphys_region *r = memphys_file_region(vma->vm_file);
	unsigned long size = PAGE_SIZE << order;
	unsigned long addr = ALIGN_DOWN(vmf->address, size);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	unsigned long pfn;
	bool upgrade, pud;
	vm_fault_t ret;

	pfn = memphys_region_pfn(r, linear_page_index(vma, addr), size);
	if (!memphys_pages_order_ok(r, order) ||
	    size > memphys_vma_max_fault(vma) ||
	    addr < vma->vm_start || addr + size > vma->vm_end ||
	    pfn == -1UL || !IS_ALIGNED(pfn, 1UL << order))
		goto fallback;
	pud = order == PUD_SHIFT - PAGE_SHIFT;
	upgrade = pud ? !pud_none(READ_ONCE(*vmf->pud)) :
			!pmd_none(READ_ONCE(*vmf->pmd));
	ret = pud ? memphys_pages_insert_pud(vmf, pfn, write) :
		    memphys_pages_insert_pmd(vmf, pfn, write);
	if (ret == VM_FAULT_NOPAGE && !upgrade)
		atomic64_inc(pud ? &r->stats.pud_faults : &r->stats.pmd_faults);
	return ret;
fallback:
	atomic64_inc(&r->stats.fallback_faults);
	return VM_FAULT_FALLBACK;
}

MEMPHYS_PAGES_HUGE_FAULT(memphys_pages_huge_fault, memphys_pages_huge)
#endif

/* Moving or growing the area is not supported, as for the other methods. */
static int memphys_pages_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct memphys_pages_vm_ops = {
#if MEMPHYS_HAVE_MMAP_PREPARE
	.mapped = memphys_count_mapped,	/* VM_DONTEXPAND: never merged */
#endif
	.close = memphys_pages_vm_close,
	.may_split = memphys_pages_may_split,
	.fault = memphys_pages_fault,
#if MEMPHYS_HAVE_PAGES_HUGE
	.huge_fault = memphys_pages_huge_fault,
#endif
	.mremap = memphys_pages_mremap,
};

/*
 * A new pages mapping of @r, whose largest entry size is @max_fault: hold
 * the module for its pages, and return whether the area may take huge
 * faults.
 */
static bool memphys_pages_prepare(struct memphys_region *r, u64 max_fault)
{
	memphys_pages_lend(r);
	return memphys_pages_fault_sizes(r) != MEMPHYS_FAULT_4K &&
	       max_fault > PAGE_SIZE;
}

/*
 * Set up a pages mapping that memphys_mmap.c has checked.  vm_private_data
 * holds its largest entry size and fault-around, so later ioctls on the
 * file leave it alone.  The area maps the region's own file (above).
 */
#if MEMPHYS_HAVE_MMAP_PREPARE
void memphys_pages_mmap_prepare(struct vm_area_desc *desc, u64 max_fault,
				u32 fault_around)
{
	struct memphys_region *r = memphys_file_region(desc->file);

	desc->vm_ops = &memphys_pages_vm_ops;
	desc->private_data = memphys_vma_data(max_fault, fault_around);
	vma_desc_set_flags(desc, VMA_DONTEXPAND_BIT);
	if (memphys_pages_vm_flags(r) & VM_MIXEDMAP)
		vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT);
	if (memphys_pages_prepare(r, max_fault))
		vma_desc_set_flags(desc, VMA_HUGEPAGE_BIT);
	/* A vm_file set here is a reference the core takes over. */
	if (r->pages->file)
		desc->vm_file = get_file(r->pages->file);
}
#else
void memphys_pages_mmap(struct vm_area_struct *vma, u64 max_fault,
			u32 fault_around)
{
	struct memphys_region *r = memphys_file_region(vma->vm_file);

	vma->vm_ops = &memphys_pages_vm_ops;
	vma->vm_private_data = memphys_vma_data(max_fault, fault_around);
	memphys_vm_flags_set(vma, VM_DONTEXPAND | memphys_pages_vm_flags(r));
	if (memphys_pages_prepare(r, max_fault))
		memphys_vm_flags_set(vma, VM_HUGEPAGE);
	if (r->pages->file)
		vma_set_file(vma, r->pages->file);
}
#endif

/* Whether @vma is a pages mapping (of some region). */
bool memphys_pages_vma(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &memphys_pages_vm_ops;
}

/*
 * QUERY_PAGE for a pages mapping, which follow_pfnmap_start() refuses (it
 * is not VM_PFNMAP): read the leaf entry behind @address.  The caller's
 * mmap lock keeps the upper levels in place; a PTE table may be freed
 * under it only after an RCU grace period (6.15's empty page table
 * reclaim), so it is read from a snapshot of its PMD under rcu_read_lock(),
 * as __pte_offset_map() (not exported) does.  64-bit only: no highmem PTEs.
 */
int memphys_pages_follow(struct vm_area_struct *vma, unsigned long address,
			 unsigned long *pfn, pgprot_t *prot, bool *writable)
{
	pgd_t *pgd = pgd_offset(vma->vm_mm, address);
	p4d_t *p4d;
	pud_t *pudp, pud;
	pmd_t pmd;
	pte_t pte;

	if (pgd_none(READ_ONCE(*pgd)))
		return -ENOENT;
	p4d = p4d_offset(pgd, address);
	if (p4d_none(READ_ONCE(*p4d)))
		return -ENOENT;
	pudp = pud_offset(p4d, address);
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || !pud_present(pud))
		return -ENOENT;
	if (pud_leaf(pud)) {
		*pfn = pud_pfn(pud) + ((address & ~PUD_MASK) >> PAGE_SHIFT);
		*prot = pud_pgprot(pud);
		*writable = pud_write(pud);
		return 0;
	}
	rcu_read_lock();
	pmd = READ_ONCE(*pmd_offset(pudp, address));
	if (pmd_none(pmd) || !pmd_present(pmd)) {
		rcu_read_unlock();
		return -ENOENT;
	}
	if (pmd_leaf(pmd)) {
		rcu_read_unlock();
		*pfn = pmd_pfn(pmd) + ((address & ~PMD_MASK) >> PAGE_SHIFT);
		*prot = pmd_pgprot(pmd);
		*writable = pmd_write(pmd);
		return 0;
	}
	pte = ptep_get(pte_offset_kernel(&pmd, address));
	rcu_read_unlock();
	if (!pte_present(pte))
		return -ENOENT;
	*pfn = pte_pfn(pte);
	*prot = pte_pgprot(pte);
	*writable = pte_write(pte);
	return 0;
}

/* memremap_pages() adds memory in subsections (2 MiB on x86-64). */
static int memphys_pages_aligned(struct memphys_region *r)
{
	u64 align = PAGES_PER_SUBSECTION << PAGE_SHIFT;

	if (IS_ALIGNED(r->base, align) && IS_ALIGNED(r->size, align))
		return 0;
	pr_warn("%s: no pages method: base and size must be multiples of %llu MiB for memremap_pages()\n",
		r->name, align >> 20);
	return -EINVAL;
}

/*
 * The order of the region's folios: the folio= size if given (4 KiB, or a
 * huge entry the kernel can insert that divides the region's base and
 * size: else -EINVAL), otherwise the largest such huge entry, else 0.
 */
static int memphys_pages_folio_order(struct memphys_region *r)
{
	static const unsigned int orders[] = {
		PUD_SHIFT - PAGE_SHIFT, PMD_SHIFT - PAGE_SHIFT,
	};
	unsigned int i;

	if (r->pages_folio == PAGE_SIZE)
		return 0;
	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		u64 size = PAGE_SIZE << orders[i];

		if (r->pages_folio && r->pages_folio != size)
			continue;
		if (memphys_pages_can_insert(orders[i]) &&
		    IS_ALIGNED(r->base, size) && IS_ALIGNED(r->size, size))
			return orders[i];
	}
	if (!r->pages_folio)
		return 0;
	pr_warn("%s: no pages method: folio=%lluK needs base and size multiples of it and a kernel and CPU that insert entries of that size\n",
		r->name, r->pages_folio >> 10);
	return -EINVAL;
}

#if MEMPHYS_PAGES_DAX
#define MEMPHYS_PAGES_FS_MAGIC	0x6d706870	/* "mphp" */

static int memphys_pages_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, MEMPHYS_PAGES_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * Not registered (nothing can mount it) and without an owner: each mount
 * would hold the module, and the region's mount ends at unload.
 */
static struct file_system_type memphys_pages_fs_type = {
	.name = "memphys_pages",
	.init_fs_context = memphys_pages_init_fs_context,
	.kill_sb = kill_anon_super,
};

/*
 * The file that every pages area of the region maps: no open, read or
 * ioctl reaches it (its inode has no i_fop to open it again through
 * /proc/PID/map_files), it only names the inode and the region.
 */
static const struct file_operations memphys_pages_fops = {
	.llseek = noop_llseek,
};

/*
 * The last reference to the file (no area maps the region): dropped now,
 * not when rmmod returns to user space (where fput() would leave it, after
 * the module and its filesystem type are gone), from a kernel thread as
 * 6.1's __fput_sync() requires.
 */
static void memphys_pages_put(struct work_struct *work)
{
	struct memphys_pages *p = container_of(work, struct memphys_pages,
					       put);

	__fput_sync(p->file);
}

/*
 * The region's file on a DAX inode of its own pseudo-filesystem mount, as
 * drivers/dax/super.c has for device-dax: S_DAX makes vma_is_dax() true
 * for its areas, S_IFCHR keeps vma_is_fsdax() false.  A region without it
 * (the mount failed) keeps its areas on the /dev file: 4 KiB entries on
 * 6.1, no 1 GiB ones on 7.x.
 */
static int memphys_pages_inode(struct memphys_pages *p)
{
	struct inode *inode;
	struct file *file;

	INIT_WORK(&p->put, memphys_pages_put);
	p->mnt = kern_mount(&memphys_pages_fs_type);
	if (IS_ERR(p->mnt)) {
		int ret = PTR_ERR(p->mnt);

		p->mnt = NULL;
		return ret;
	}
	inode = alloc_anon_inode(p->mnt->mnt_sb);
	if (IS_ERR(inode))
		goto unmount;
	inode->i_mode = S_IFCHR | 0600;
	inode->i_flags |= S_DAX;
	file = alloc_file_pseudo(inode, p->mnt, p->region->name, O_RDWR,
				 &memphys_pages_fops);
	if (IS_ERR(file)) {
		iput(inode);
		goto unmount;
	}
	p->mf.region = p->region;
	spin_lock_init(&p->mf.lock);
	p->mf.set.method = MEMPHYS_METHOD_PAGES;
	file->private_data = &p->mf;
	p->file = file;
	return 0;
unmount:
	kern_unmount(p->mnt);
	p->mnt = NULL;
	return -ENOMEM;
}

static void memphys_pages_inode_release(struct memphys_pages *p)
{
	if (!p->mnt)
		return;
	if (p->file) {
		schedule_work(&p->put);
		flush_work(&p->put);
		p->file = NULL;
	}
	kern_unmount(p->mnt);
	p->mnt = NULL;
}
#else
static int memphys_pages_inode(struct memphys_pages *p)
{
	return -EOPNOTSUPP;
}

static void memphys_pages_inode_release(struct memphys_pages *p)
{
}
#endif

/*
 * A memory failure (a machine check, MADV_HWPOISON) on a page of the
 * region.  The kernel's generic path for ZONE_DEVICE pages
 * (memory_failure_dev_pagemap(), mf_generic_kill_procs()) finds the
 * processes to signal through folio->mapping and folio->index, as for
 * device-dax, and refuses (EBUSY) a folio without a DAX mapping: point the
 * failed folio at the region's inode, whose areas are in its i_mmap, with
 * its offset in the region as index (the areas' vm_pgoff is one too), then
 * let that path run (-EOPNOTSUPP).  Only the failed folio gets it, and
 * only now: a folio with a mapping would take a file folio's paths
 * elsewhere (fast-GUP long-term pins fall back to the slow path).  It
 * stays set until unload (the region's folios are never freed while it is
 * loaded); teardown ends this callback (memunmap_pages() waits for the
 * pgmap reference the caller holds) before the inode goes.
 *
 * That path works from the folio's head page: it looks the areas up at
 * folio->index, takes the address there and the size of the entry mapping
 * it (dev_pagemap_mapping_shift()) and unmaps that entry.  From 6.15 every
 * entry maps a whole folio and the folio is rmapped at its own offset, so
 * index stays the folio's.  Up to 6.14 (MEMPHYS_PAGES_EXACT_FOLIO 0) 4 KiB
 * and 2 MiB entries map pages anywhere inside a larger folio, and the head
 * page may not be mapped at all: index is the failed page's offset, set on
 * each call (calls are serialised by memory_failure()'s mf_mutex), so that
 * the areas, address, entry and unmapped range are those of the failed
 * page.  Nothing else reads the index of these devmap pages (no rmap).
 */
static int memphys_pages_memory_failure(struct dev_pagemap *pgmap,
					unsigned long pfn,
					unsigned long nr_pages, int mf_flags)
{
	struct memphys_pages *p = container_of(pgmap, struct memphys_pages,
					       pgmap);
	struct folio *folio = page_folio(pfn_to_page(pfn));

	if (!p->file)
		return -EOPNOTSUPP;
	if (!MEMPHYS_PAGES_EXACT_FOLIO)
		folio->index = pfn - PHYS_PFN(p->region->base);
	if (!READ_ONCE(folio->mapping)) {
		if (MEMPHYS_PAGES_EXACT_FOLIO)
			folio->index = folio_pfn(folio) -
				       PHYS_PFN(p->region->base);
		WRITE_ONCE(folio->mapping, p->file->f_mapping);
	}
	return -EOPNOTSUPP;
}

static const struct dev_pagemap_ops memphys_pages_pgmap_ops = {
	.memory_failure = memphys_pages_memory_failure,
};

static int memphys_pages_create(struct memphys_region *r)
{
	struct memphys_pages *p;
	void *addr;
	int ret;

	ret = memphys_pages_aligned(r);
	if (ret)
		return ret;
	if (memphys_range_in_memmap(r->base, r->size)) {
		pr_warn("%s: no pages method: the range already has struct pages (it is in the kernel's memory map, as a no-map /reserved-memory buffer is); reserve it with mem= instead\n",
			r->name);
		return -EEXIST;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->region = r;
	spin_lock_init(&p->lock);
	INIT_DELAYED_WORK(&p->reclaim, memphys_pages_reclaim);
	p->scan_opens = ULONG_MAX;	/* no scan yet */
	p->pgmap.type = MEMORY_DEVICE_GENERIC;
	p->pgmap.ops = &memphys_pages_pgmap_ops;
	p->pgmap.range.start = r->base;
	p->pgmap.range.end = r->base + r->size - 1;
	p->pgmap.nr_range = 1;
	ret = memphys_pages_folio_order(r);
	if (ret < 0) {
		kfree(p);
		return ret;
	}
	p->folio_order = ret;
	p->pgmap.vmemmap_shift = p->folio_order;
	addr = memremap_pages(&p->pgmap, memory_add_physaddr_to_nid(r->base));
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		pr_warn("%s: no pages method: memremap_pages() failed (%d)\n",
			r->name, ret);
		kfree(p);
		return ret;
	}
	if (MEMPHYS_PAGES_DAX) {
		ret = memphys_pages_inode(p);
		if (ret) {
			pr_warn("%s: no pages method: no inode for its mappings (%d)\n",
				r->name, ret);
			memunmap_pages(&p->pgmap);
			kfree(p);
			return ret;
		}
	}
	memphys_pages_clear_reserved(r);
	r->pages = p;
	pr_info("%s: pages method: %llu MiB of struct pages, folios of %lu KiB\n",
		r->name, ((r->size >> PAGE_SHIFT) * sizeof(struct page)) >> 20,
		(PAGE_SIZE << p->folio_order) >> 10);
	return 0;
}

/* Whether an area maps the region or a file of it is open. */
static bool memphys_pages_in_use(struct memphys_pages *p)
{
	unsigned int users;

	spin_lock(&p->lock);
	users = p->users;
	spin_unlock(&p->lock);
	return users || !memphys_pages_unmapped(p);
}

/*
 * A forced unload's wait was killed while the pages are lent.  Pins alone
 * may outlive the module: dropping one never calls into it (the folio's
 * count stays at least 1; a MEMORY_DEVICE_GENERIC folio reaching 0 calls
 * no pgmap->ops either, 7.2).  But an area's close and faults and an open
 * file's release run the module's text and use the region: keep waiting
 * while there is one.  Uninterruptibly, since the kill is already
 * pending, but waking every second: the hung-task detector reports only a
 * D-state task that has not been switched out since its last check.
 */
static void memphys_pages_wait_unused(struct memphys_pages *p)
{
	const char *name = p->region->name;

	if (!memphys_pages_in_use(p)) {
		pr_warn("%s: forced unload interrupted\n", name);
		return;
	}
	pr_warn("%s: forced unload killed while its pages are mapped or open: waiting on until every mapping and open file of them is gone\n",
		name);
	while (READ_ONCE(p->lent) && memphys_pages_in_use(p))
		wait_var_event_timeout(&p->lent, !READ_ONCE(p->lent), HZ);
	/*
	 * The last close queued a recheck: run it now, so that pages the
	 * gone areas left idle are freed rather than left behind.
	 */
	schedule_delayed_work(&p->reclaim, 0);
	flush_delayed_work(&p->reclaim);
}

void memphys_pages_teardown(struct memphys_region *r)
{
	struct memphys_pages *p = r->pages;

	if (!p)
		return;
	/*
	 * No file is open and nothing is lent, or the module would be held,
	 * unless rmmod -f (MODULE_FORCE_UNLOAD) ignored that hold: then a
	 * pinned page or an area may still use the pages and the inode, and
	 * memunmap_pages() would wait for them forever (or free what is in
	 * use).  Wait until they are all released: the module's text stays
	 * until this returns, so the areas' callbacks and the recheck (which
	 * the last close queues, and which requeues itself while a page is
	 * referenced) still run.  rmmod -f returns when the pins are gone;
	 * killed, only once no area and no open file is left.
	 */
	if (READ_ONCE(p->lent)) {
		pr_warn("%s: forced unload while its pages may be in use: waiting until every mapping and pin of them is released\n",
			r->name);
		schedule_delayed_work(&p->reclaim, 0);
		if (wait_var_event_killable(&p->lent, !READ_ONCE(p->lent)))
			memphys_pages_wait_unused(p);
	}
	cancel_delayed_work_sync(&p->reclaim);
	/*
	 * A killed wait with only pins left: leave the pages, the inode and
	 * the mount in place until reboot rather than free what is in use.
	 */
	if (p->lent) {
		pr_warn("%s: forced unload while its pages may be in use: leaving its %llu MiB of struct pages in place until reboot\n",
			r->name,
			((r->size >> PAGE_SHIFT) * sizeof(struct page)) >> 20);
		/*
		 * The pgmap outlives the module: no later callback into its
		 * text (a memory failure then takes the generic path alone,
		 * with any folio->mapping set before still valid: the inode
		 * stays too).
		 */
		WRITE_ONCE(p->pgmap.ops, NULL);
		r->pages = NULL;
		return;
	}
	/* First the pages: a memory failure may still use the inode. */
	memunmap_pages(&p->pgmap);
	memphys_pages_inode_release(p);
	kfree(p);
	r->pages = NULL;
}
#else /* !MEMPHYS_HAVE_PAGES: the other stubs are in memphys.h */
static int memphys_pages_create(struct memphys_region *r)
{
	pr_warn("%s: no pages method: this kernel has no ZONE_DEVICE memory (CONFIG_ZONE_DEVICE, 64-bit only)\n",
		r->name);
	return -EOPNOTSUPP;
}
#endif /* MEMPHYS_HAVE_PAGES */

/*
 * sysfs "pages": the entry sizes a pages mapping of @r takes, e.g.
 * "4K 2M 1G", or "none" and why (pages_errno).
 */
ssize_t memphys_pages_show(struct memphys_region *r, char *buf)
{
	static const char * const sizes[] = { "4K", "2M", "1G" };
	u32 bits;
	int len = 0;
	unsigned int i;

	if (!r->pages) {
		switch (r->pages_errno) {
		case ENODATA:
			return sysfs_emit(buf, "none (ENODATA: loaded without :pages)\n");
		case EOPNOTSUPP:
			return sysfs_emit(buf, "none (EOPNOTSUPP: no ZONE_DEVICE in this kernel)\n");
		case EINVAL:
			return sysfs_emit(buf, "none (EINVAL: base or size not a multiple of 2 MiB or of folio=)\n");
		case EEXIST:
			return sysfs_emit(buf, "none (EEXIST: the range already has struct pages in the kernel's memory map)\n");
		default:
			return sysfs_emit(buf, "none (memremap_pages() failed: -%u)\n",
					  r->pages_errno);
		}
	}
	bits = memphys_pages_fault_sizes(r);
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (bits & BIT(i))
			len += sysfs_emit_at(buf, len, "%s%s", len ? " " : "",
					     sizes[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}

/*
 * At load: give the region struct pages if its option asked for them.
 * A region whose pages cannot be had still loads, for the other methods;
 * pages_errno tells why (GET_INFO).
 */
void memphys_pages_setup(struct memphys_region *r, bool wanted)
{
	r->pages_errno = wanted ? -memphys_pages_create(r) : ENODATA;
}
