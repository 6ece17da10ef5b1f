/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memphys: the few kernel interfaces that differ between the supported
 * kernels (Debian 6.1, 6.12, 7.x), each behind one small helper.
 */
#ifndef _MEMPHYS_COMPAT_H
#define _MEMPHYS_COMPAT_H

#include <linux/highmem.h>	/* pte_unmap() under CONFIG_HIGHPTE */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#ifdef CONFIG_X86_PAT
#include <asm/memtype.h>
#endif
#ifdef CONFIG_X86
#include <asm/e820/api.h>
#include <linux/kvm_types.h>
#endif

/*
 * Physical address bits the kernel can map.  FLATMEM kernels (32-bit x86)
 * have no MAX_PHYSMEM_BITS: there the page tables' reach bounds it, 32
 * bits without PAE and 44 with it (a PFN must fit an unsigned long).
 */
#ifdef MAX_PHYSMEM_BITS
#define MEMPHYS_PHYS_BITS	MAX_PHYSMEM_BITS
#else
#define MEMPHYS_PHYS_BITS	__PHYSICAL_MASK_SHIFT
#endif

/* vm_flags became read-only behind accessors in 6.3. */
static inline void memphys_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void memphys_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * .mmap is deprecated in favour of .mmap_prepare (6.16), whose descriptor
 * took vma_flags_t accessors and remap actions (mmap_action) later on.
 * memphys registers .mmap_prepare from 7.2, the first kernel it has been
 * built and tested against with all of that; older kernels keep .mmap,
 * which they still accept.  Never both for one kernel.
 */
#define MEMPHYS_HAVE_MMAP_PREPARE \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(7, 2, 0))

/*
 * Before 6.16, x86 PAT tracked a remap_pfn_range() area as one memtype
 * reservation that a split VMA cannot free piecewise ("freeing invalid
 * memtype", and the rest leaks).  Such areas must then stay whole.
 */
static inline bool memphys_remap_split_leaks(void)
{
#if defined(CONFIG_X86_PAT) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
	return pat_enabled();
#else
	return false;
#endif
}

/*
 * Huge PFN mappings of VM_PFNMAP areas (no struct pages) arrived in 6.12
 * behind these architecture options; before that a huge fault here would
 * need ZONE_DEVICE pages, which memphys does not create.
 */
#if defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP) && \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define MEMPHYS_HAVE_PMD_FAULT	1
#else
#define MEMPHYS_HAVE_PMD_FAULT	0
#endif

#if defined(CONFIG_ARCH_SUPPORTS_PUD_PFNMAP) && \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define MEMPHYS_HAVE_PUD_FAULT	1
#else
#define MEMPHYS_HAVE_PUD_FAULT	0
#endif

#define MEMPHYS_HAVE_HUGE_FAULT	(MEMPHYS_HAVE_PMD_FAULT || MEMPHYS_HAVE_PUD_FAULT)

/* 1 GiB page table entries need the CPU's support, not just the kernel's. */
static inline bool memphys_cpu_has_gbpages(void)
{
#ifdef CONFIG_X86
	return boot_cpu_has(X86_FEATURE_GBPAGES);
#else
	return false;
#endif
}

#if MEMPHYS_HAVE_HUGE_FAULT
#include <linux/huge_mm.h>

/* pfn_t left the huge insert functions in 6.17. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define memphys_huge_pfn(pfn)	(pfn)
#else
#include <linux/pfn_t.h>
#define memphys_huge_pfn(pfn)	__pfn_to_pfn_t(pfn, PFN_DEV)
#endif

static inline vm_fault_t memphys_insert_pmd(struct vm_fault *vmf,
					    unsigned long pfn, bool write)
{
	return vmf_insert_pfn_pmd(vmf, memphys_huge_pfn(pfn), write);
}

static inline vm_fault_t memphys_insert_pud(struct vm_fault *vmf,
					    unsigned long pfn, bool write)
{
	return vmf_insert_pfn_pud(vmf, memphys_huge_pfn(pfn), write);
}

#endif /* MEMPHYS_HAVE_HUGE_FAULT */

#ifdef CONFIG_X86
/*
 * The firmware's own memory map, before memmap= edited it, is the table
 * that /sys/firmware/memmap shows (e820_table_firmware).  Its accessor
 * became KVM-only with EXPORT_SYMBOL_FOR_KVM (6.19): there only the
 * current table is left, in which a range the firmware reserved and one
 * that memmap=SIZE$BASE reserved look alike ("Reserved").
 */
#ifdef EXPORT_SYMBOL_FOR_KVM
#define MEMPHYS_HAVE_FIRMWARE_MAP	0
#define memphys_e820_mapped		e820__mapped_any
#else
#define MEMPHYS_HAVE_FIRMWARE_MAP	1
#define memphys_e820_mapped		e820__mapped_raw_any
#endif
#else
#define MEMPHYS_HAVE_FIRMWARE_MAP	0
#endif

/*
 * read() copies out of the region with the machine-check-safe copy where
 * the architecture has one (x86-64: CONFIG_ARCH_HAS_COPY_MC, on every
 * kernel here): a poisoned source ends the copy short instead of raising a
 * machine check in kernel mode (a panic).  Only copy_mc_to_kernel() is
 * exported to modules (copy_mc_to_user() is not, 6.1 to 7.2), so the copy
 * goes through a bounce buffer.  Elsewhere (arm64, 32-bit) the plain copy,
 * and poison is fatal as for any kernel read.
 */
#ifdef CONFIG_ARCH_HAS_COPY_MC
#define MEMPHYS_HAVE_COPY_MC	1
#else
#define MEMPHYS_HAVE_COPY_MC	0
#endif

/*
 * The struct page of @pfn with a reference, when @pfn lies outside the
 * @count frames from @first and has one: in a memphys area that is the
 * anonymous copy a write to a MAP_PRIVATE remap area made.  Called under
 * the page table lock, which keeps the mapped page alive until the get.
 */
static inline struct page *memphys_get_copy(unsigned long pfn,
					    unsigned long first,
					    unsigned long count)
{
	struct page *page;

	if (pfn - first < count || !pfn_valid(pfn))
		return NULL;
	page = pfn_to_page(pfn);
	get_page(page);
	return page;
}

/*
 * Read the page table entry that maps @address in @vma: its PFN, its
 * protection bits (in the format of its level) and whether it is writable.
 * With @copy, also the referenced page of a frame outside [@first, +@count)
 * (memphys_get_copy()), or NULL.  Returns -ENOENT when nothing maps it.
 * follow_pte() took an mm before 6.10 and gave way to follow_pfnmap_start()
 * in 6.12.
 */
static inline int memphys_follow_pfn_copy(struct vm_area_struct *vma,
					  unsigned long address,
					  unsigned long *pfn, pgprot_t *prot,
					  bool *writable, struct page **copy,
					  unsigned long first,
					  unsigned long count)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct follow_pfnmap_args args = { .vma = vma, .address = address };

	if (follow_pfnmap_start(&args))
		return -ENOENT;
	*pfn = args.pfn;
	*prot = args.pgprot;
	*writable = args.writable;
	if (copy)
		*copy = memphys_get_copy(args.pfn, first, count);
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t pte;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	if (follow_pte(vma, address, &ptep, &ptl))
#else
	if (follow_pte(vma->vm_mm, address, &ptep, &ptl))
#endif
		return -ENOENT;
	__acquire(ptl);	/* follow_pte() returned with the PTE lock held */
	pte = ptep_get(ptep);
	*pfn = pte_pfn(pte);
	*prot = pte_pgprot(pte);
	*writable = pte_write(pte);
	if (copy)
		*copy = memphys_get_copy(*pfn, first, count);
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

static inline int memphys_follow_pfn(struct vm_area_struct *vma,
				     unsigned long address, unsigned long *pfn,
				     pgprot_t *prot, bool *writable)
{
	return memphys_follow_pfn_copy(vma, address, pfn, prot, writable,
				       NULL, 0, 0);
}

/*
 * ---- The pages method (memphys_pages.c): ZONE_DEVICE pages inserted the
 * way drivers/dax/device.c does on each kernel. ----
 *
 * memremap_pages() needs CONFIG_ZONE_DEVICE, which needs SPARSEMEM_VMEMMAP
 * (64-bit only).
 */
#if defined(CONFIG_ZONE_DEVICE) && defined(CONFIG_64BIT)
#define MEMPHYS_HAVE_PAGES	1
#include <linux/memremap.h>
#else
#define MEMPHYS_HAVE_PAGES	0
#endif

/*
 * Clear PG_reserved on one page of a region's ZONE_DEVICE folio, head or
 * tail.  ClearPageReserved() is PF_NO_COMPOUND: with CONFIG_DEBUG_VM_PGFLAGS
 * it is a VM_BUG_ON for every page of a compound folio, which the region's
 * folios are from 2 MiB on (vmemmap_shift, 6.12+).  memremap_pages() sets
 * the flag on each page's own struct page, though, and VFIO's type1 tests
 * each page's own flag (PageReserved() does not enforce the policy), so each
 * page's own bit is cleared, as the accessor would without the check.
 * page->flags became memdesc_flags_t in 6.18.
 */
static inline void memphys_page_clear_reserved(struct page *page)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	clear_bit(PG_reserved, &page->flags.f);
#else
	clear_bit(PG_reserved, &page->flags);
#endif
}

/*
 * A MEMORY_DEVICE_GENERIC folio (its head page) keeps a reference count of
 * 1 while nobody uses it (every kernel from 6.1 to 7.x); each pin, pipe
 * buffer or, from 6.15, mapping of one of its pages adds one.  Its count
 * never reaches 0, and free_zone_device_folio() would only reset it to 1
 * for this type without calling pgmap->ops (7.2 mm/memremap.c), so no
 * kernel tells the driver that a pin went: memphys_pages.c rechecks
 * (docs/design.md, "The pages method").
 */
#define MEMPHYS_PAGE_IDLE_REFS	1

/*
 * Up to 6.14 device-dax inserts PFN_DEV|PFN_MAP pfn_t values: "devmap"
 * entries that hold no page reference but that GUP follows to the page
 * (get_dev_pagemap()).  From 6.15 (devmap and pfn_t removed in 6.17) it
 * inserts the pages themselves, referenced and rmapped like file pages,
 * and a huge entry must map a folio of exactly its order.
 *
 * Either way GUP takes the references for a whole huge entry on the folio
 * of its first page and drops them page by page, so a huge entry must lie
 * within one folio: the region's pages are made folios of the largest huge
 * size its alignment allows (vmemmap_shift, as device-dax does for its
 * align), and huge entries are inserted up to that size (6.12-6.14) or of
 * exactly that size (6.15+).  4 KiB devmap entries work with any folio size;
 * from 6.15 a 4 KiB entry is rmapped per page, so only in 4 KiB folios
 * (folio=4K; memphys_pages.c refuses the rest, as device-dax does).
 *
 * 6.1 only offers huge faults to DAX inodes (vma_is_dax()), and 6.15+
 * offers 1 GiB ones only to DAX inodes and "special" areas; a misc
 * device's inode is not one, so pages areas map a file of the region's own
 * S_DAX inode (memphys_pages.c) where the kernel has DAX inodes
 * (CONFIG_FS_DAX).  6.12 and later call any ->huge_fault handler of a
 * VM_HUGEPAGE area for 2 MiB.
 */
#if defined(CONFIG_ZONE_DEVICE) && defined(CONFIG_64BIT) && \
	defined(CONFIG_FS_DAX)
#define MEMPHYS_PAGES_DAX	1
#else
#define MEMPHYS_PAGES_DAX	0
#endif

#if MEMPHYS_HAVE_PAGES && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define MEMPHYS_PAGES_VM_FLAGS	0
#define MEMPHYS_PAGES_EXACT_FOLIO	1

static inline vm_fault_t memphys_pages_insert_pte(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
	return vmf_insert_page_mkwrite(vmf, pfn_to_page(pfn), write);
}

static inline vm_fault_t memphys_pages_insert_pmd(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
	return vmf_insert_folio_pmd(vmf, page_folio(pfn_to_page(pfn)), write);
}

static inline vm_fault_t memphys_pages_insert_pud(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD
	return vmf_insert_folio_pud(vmf, page_folio(pfn_to_page(pfn)), write);
#else
	return VM_FAULT_FALLBACK;	/* no 1 GiB entries here (arm64) */
#endif
}
#elif MEMPHYS_HAVE_PAGES
#include <linux/huge_mm.h>
#include <linux/pfn_t.h>

/*
 * Zapping or splitting a huge devmap entry treats it as a THP (rmap,
 * counters, a page reference it never took) unless vma_is_special_huge():
 * a DAX inode, as device-dax has, or VM_MIXEDMAP, which is also what the
 * area is (devmap entries GUP follows, no struct page use elsewhere).
 */
#define MEMPHYS_PAGES_VM_FLAGS	VM_MIXEDMAP
#define MEMPHYS_PAGES_EXACT_FOLIO	0

static inline pfn_t memphys_pages_pfn_t(unsigned long pfn)
{
	return __pfn_to_pfn_t(pfn, PFN_DEV | PFN_MAP);
}

static inline vm_fault_t memphys_pages_insert_pte(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
	return vmf_insert_mixed(vmf->vma, vmf->address,
				memphys_pages_pfn_t(pfn));
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
static inline vm_fault_t memphys_pages_insert_pmd(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
	return vmf_insert_pfn_pmd(vmf, memphys_pages_pfn_t(pfn), write);
}

static inline vm_fault_t memphys_pages_insert_pud(struct vm_fault *vmf,
						  unsigned long pfn,
						  bool write)
{
#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD
	return vmf_insert_pfn_pud(vmf, memphys_pages_pfn_t(pfn), write);
#else
	return VM_FAULT_FALLBACK;	/* no 1 GiB entries here (arm64) */
#endif
}
#endif
#else
#define MEMPHYS_PAGES_VM_FLAGS	0
#endif

/*
 * 1 GiB entries: the kernel offers PUD faults only to "special" huge areas
 * (vma_is_special_huge(): DAX inodes, VM_PFNMAP or VM_MIXEDMAP).  Up to
 * 6.14 the pages area is VM_MIXEDMAP (above); from 6.15 a VM_MIXEDMAP
 * area's huge entries are zapped without dropping the folio reference that
 * vmf_insert_folio_pud() took, while a DAX inode's are zapped and split as
 * device-dax's: there 1 GiB needs the DAX inode, as do all huge entries on
 * 6.1.
 */
#if MEMPHYS_HAVE_PAGES && defined(CONFIG_TRANSPARENT_HUGEPAGE) && \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) || MEMPHYS_PAGES_DAX)
#define MEMPHYS_HAVE_PAGES_PMD	1
#define MEMPHYS_HAVE_PAGES_PUD \
	(IS_ENABLED(CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD) && \
	 (!MEMPHYS_PAGES_EXACT_FOLIO || MEMPHYS_PAGES_DAX))
#else
#define MEMPHYS_HAVE_PAGES_PMD	0
#define MEMPHYS_HAVE_PAGES_PUD	0
#endif
#define MEMPHYS_HAVE_PAGES_HUGE	(MEMPHYS_HAVE_PAGES_PMD || MEMPHYS_HAVE_PAGES_PUD)

/*
 * ->huge_fault took the entry size as enum page_entry_size before 6.6 and
 * as an order since; define NAME calling FN(vmf, order).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define MEMPHYS_PAGES_HUGE_FAULT(name, fn)				\
static vm_fault_t name(struct vm_fault *vmf, unsigned int order)	\
{									\
	return fn(vmf, order);						\
}
#else
#define MEMPHYS_PAGES_HUGE_FAULT(name, fn)				\
static vm_fault_t name(struct vm_fault *vmf, enum page_entry_size pe)	\
{									\
	if (pe == PE_SIZE_PUD)						\
		return fn(vmf, PUD_SHIFT - PAGE_SHIFT);			\
	if (pe == PE_SIZE_PMD)						\
		return fn(vmf, PMD_SHIFT - PAGE_SHIFT);			\
	return fn(vmf, 0);						\
}
#endif

#if MEMPHYS_HAVE_HUGE_FAULT || MEMPHYS_HAVE_PAGES_HUGE
/*
 * mm->get_unmapped_area became mm_get_unmapped_area(mm, ...) in 6.10, which
 * lost its mm argument (always current->mm) in 6.19.  Needed where an area
 * can take huge faults: the fault method's (6.12+) or the pages method's.
 */
static inline unsigned long
memphys_mm_get_unmapped_area(struct file *file, unsigned long addr,
			     unsigned long len, unsigned long pgoff,
			     unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
	return mm_get_unmapped_area(file, addr, len, pgoff, flags);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#else
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#endif
}
#endif /* MEMPHYS_HAVE_HUGE_FAULT || MEMPHYS_HAVE_PAGES_HUGE */
/* ---- end of the pages method ---- */

/*
 * ---- dma-buf export (memphys_dmabuf.c) ----
 *
 * The DMA_BUF symbol namespace is named by a string literal from 6.13
 * (MODULE_IMPORT_NS("DMA_BUF")), by a bare token before.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define MEMPHYS_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#else
#define MEMPHYS_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#endif

/*
 * Who serialises .vmap/.vunmap: dma_buf_vmap() takes dmabuf->lock up to
 * 6.1; from 6.2 the dma-buf core has no such lock and its callers hold the
 * reservation lock (dma_buf_vmap_unlocked() takes it for them).  Both make
 * the core's vmap reference count safe; the exporter only asserts it.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define memphys_dmabuf_assert_vmap_locked(dmabuf) \
	dma_resv_assert_held((dmabuf)->resv)
#else
#define memphys_dmabuf_assert_vmap_locked(dmabuf) \
	lockdep_assert_held(&(dmabuf)->lock)
#endif
/* ---- end of dma-buf export ---- */

#endif /* _MEMPHYS_COMPAT_H */
