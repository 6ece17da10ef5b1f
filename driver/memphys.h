/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memphys: internal definitions shared by the driver's source files.
 */
#ifndef _MEMPHYS_H
#define _MEMPHYS_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/pgtable.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <uapi/linux/memphys.h>

#include "compat.h"

#define MEMPHYS_MAX_REGIONS	16

struct memphys_counters {
	atomic64_t mmap_calls;
	atomic64_t bytes_remapped;
	atomic64_t pte_faults;
	atomic64_t pmd_faults;
	atomic64_t pud_faults;
	atomic64_t fallback_faults;
	atomic64_t refused;
	atomic64_t prefaulted;
};

/* One boot-reserved physical range, exposed as /dev/memphysN. */
struct memphys_region {
	unsigned int index;
	phys_addr_t base;
	u64 size;
	u32 caching;		/* MEMPHYS_CACHE_*, held from load to unload */
	void *kaddr;		/* kernel mapping holding it, or NULL (see memtype.c) */
	struct resource *res;
	struct miscdevice misc;
	char name[32];
	char *source;		/* what described it, for sysfs: see main.c */
	struct device *dev;	/* platform device of a device-tree region */
	bool coherent;		/* its node is dma-coherent: no MEMPHYS_IOC_SYNC */
	struct memphys_counters stats;
	struct memphys_pages *pages;	/* ZONE_DEVICE pages, or NULL */
	u32 pages_errno;	/* 0, or why the region has no pages (E*) */
	u64 pages_folio;	/* folio size asked for (folio=), or 0 */
};

/* What a region is made of: a regions= entry or a device-tree node. */
struct memphys_region_desc {
	const char *what;	/* names it in messages */
	u64 base;
	u64 size;
	u32 caching;		/* MEMPHYS_CACHE_* */
	bool pages;		/* ZONE_DEVICE pages wanted */
	u64 folio;		/* their folio size (folio=), 0: the largest */
	const char *name;	/* device name, or NULL for memphysN */
	const char *source;	/* sysfs source: "regions=..." or "devicetree ..." */
	struct device *dev;	/* platform device of a device-tree region */
	bool coherent;		/* the node is dma-coherent (false for regions=) */
};

/* How later mmap() calls on a file are served: one generation of them. */
struct memphys_settings {
	u32 method;		/* MEMPHYS_METHOD_* */
	u32 fault_around;	/* pages per 4 KiB fault, a power of two */
	u64 max_fault_size;	/* MEMPHYS_SIZE_* */
};

/*
 * Per open file.  The SET_* ioctls change @set under @lock, and mmap()
 * (and get_unmapped_area(), GET_INFO) copy it whole under @lock: a mapping
 * never combines a setting from before an ioctl with one from after it.
 */
struct memphys_file {
	struct memphys_region *region;
	spinlock_t lock;
	struct memphys_settings set;
};

extern const struct file_operations memphys_fops;
extern unsigned int memphys_default_method;
extern unsigned int memphys_default_fault_around;

/* memphys_mmap.c: the remap and fault methods */
#if MEMPHYS_HAVE_MMAP_PREPARE
int memphys_mmap_prepare(struct vm_area_desc *desc);
int memphys_count_mapped(unsigned long start, unsigned long end,
			 pgoff_t pgoff, const struct file *file,
			 void **vm_private_data);
#else
int memphys_mmap(struct file *file, struct vm_area_struct *vma);
#endif
unsigned long memphys_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags);
u32 memphys_fault_sizes(void);
u64 memphys_largest_fault_size(void);
bool memphys_fault_around_valid(u64 pages);
bool memphys_fault_around_window(struct vm_fault *vmf,
				 struct memphys_region *r,
				 unsigned long *start, unsigned long *end);
void memphys_fault_around(struct vm_fault *vmf, struct memphys_region *r,
			  unsigned long pfn);

/* memphys_query.c */
int memphys_query_page(struct memphys_file *mf,
		       struct memphys_page_query *query);

/* memphys_region.c */
int memphys_region_check(const char *spec, u64 size, u64 base,
			 struct memphys_region *const *others,
			 unsigned int nr_others);
bool memphys_range_in_memmap(u64 base, u64 size);

/* memphys_memtype.c */
int memphys_caching_parse(const char *name, u32 *caching);
const char *memphys_caching_name(u32 caching);
int memphys_memtype_hold(struct memphys_region *r);
void memphys_memtype_release(struct memphys_region *r);
pgprot_t memphys_region_pgprot(const struct memphys_region *r, pgprot_t prot);
int memphys_crypt_check(struct memphys_region *r);
bool memphys_crypt_refuses_pages(const struct memphys_region *r);
u32 memphys_entry_memtype(pgprot_t prot, u64 entry_size);
void *memphys_io_map(struct memphys_region *r, u64 pos, size_t len);
void memphys_io_unmap(struct memphys_region *r, void *kaddr);

/* memphys_io.c */
ssize_t memphys_read(struct file *file, char __user *buf, size_t count,
		     loff_t *ppos);
ssize_t memphys_write(struct file *file, const char __user *buf,
		      size_t count, loff_t *ppos);
loff_t memphys_llseek(struct file *file, loff_t offset, int whence);
int memphys_vma_access(struct vm_area_struct *vma, unsigned long addr,
		       void *buf, int len, int write);

/* memphys_pages.c: the pages method */
struct memphys_pages;
void memphys_pages_setup(struct memphys_region *r, bool wanted);
ssize_t memphys_pages_show(struct memphys_region *r, char *buf);
#if MEMPHYS_HAVE_PAGES
void memphys_pages_teardown(struct memphys_region *r);
void memphys_pages_open(struct memphys_region *r);
void memphys_pages_release(struct memphys_region *r);
#if MEMPHYS_HAVE_MMAP_PREPARE
void memphys_pages_mmap_prepare(struct vm_area_desc *desc, u64 max_fault,
				u32 fault_around);
#else
void memphys_pages_mmap(struct vm_area_struct *vma, u64 max_fault,
			u32 fault_around);
#endif
u32 memphys_pages_fault_sizes(struct memphys_region *r);
int memphys_pages_check(struct memphys_region *r, unsigned long start,
			u64 offset, u64 len, u64 max_fault);
bool memphys_pages_vma(const struct vm_area_struct *vma);
int memphys_pages_follow(struct vm_area_struct *vma, unsigned long address,
			 unsigned long *pfn, pgprot_t *prot, bool *writable);
#else
/*
 * Without ZONE_DEVICE no region has pages (r->pages stays NULL), so
 * SET_METHOD never selects the pages method and no mapping is one.
 */
static inline void memphys_pages_teardown(struct memphys_region *r)
{
}

static inline void memphys_pages_open(struct memphys_region *r)
{
}

static inline void memphys_pages_release(struct memphys_region *r)
{
}

#if MEMPHYS_HAVE_MMAP_PREPARE
static inline void memphys_pages_mmap_prepare(struct vm_area_desc *desc,
					      u64 max_fault, u32 fault_around)
{
}
#else
static inline void memphys_pages_mmap(struct vm_area_struct *vma,
				      u64 max_fault, u32 fault_around)
{
}
#endif

static inline u32 memphys_pages_fault_sizes(struct memphys_region *r)
{
	return MEMPHYS_FAULT_4K;
}

static inline int memphys_pages_check(struct memphys_region *r,
				      unsigned long start, u64 offset,
				      u64 len, u64 max_fault)
{
	return 0;
}

static inline bool memphys_pages_vma(const struct vm_area_struct *vma)
{
	return false;
}

static inline int memphys_pages_follow(struct vm_area_struct *vma,
				       unsigned long address,
				       unsigned long *pfn, pgprot_t *prot,
				       bool *writable)
{
	return -ENOENT;
}
#endif /* MEMPHYS_HAVE_PAGES */

/* memphys_main.c */
int memphys_region_create(const struct memphys_region_desc *d);

/* memphys_of.c: regions described by the device tree */
#if IS_ENABLED(CONFIG_OF_RESERVED_MEM)
int memphys_of_register(void);
void memphys_of_unregister(void);
int memphys_of_probe_error(void);
bool memphys_of_memory_covers(u64 base, u64 size);
#else
static inline int memphys_of_register(void) { return 0; }
static inline void memphys_of_unregister(void) { }
static inline int memphys_of_probe_error(void) { return 0; }
static inline bool memphys_of_memory_covers(u64 base, u64 size)
{
	return false;
}
#endif

/* memphys_sync.c */
long memphys_ioc_sync(struct memphys_file *mf, void __user *arg);
/* memphys_dmabuf.c: MEMPHYS_IOC_EXPORT_DMABUF */
#if IS_ENABLED(CONFIG_DMA_SHARED_BUFFER)
long memphys_dmabuf_export(struct file *file, void __user *arg);
#else
static inline long memphys_dmabuf_export(struct file *file, void __user *arg)
{
	return -EOPNOTSUPP;	/* a kernel without dma-buf */
}
#endif

/* memphys_ioctl.c */
long memphys_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/*
 * vm_private_data of a fault- or pages-method area holds the largest fault
 * size and the fault-around that were set when it was mapped, so later
 * ioctls on the file do not change existing mappings.  The fault size is a
 * multiple of PAGE_SIZE: the fault-around, smaller than PAGE_SIZE, fits in
 * its low bits.
 */
static_assert(MEMPHYS_FAULT_AROUND_MAX < PAGE_SIZE);

static inline void *memphys_vma_data(u64 max_fault, u32 fault_around)
{
	return (void *)(unsigned long)(max_fault | fault_around);
}

static inline u64 memphys_vma_max_fault(const struct vm_area_struct *vma)
{
	return (unsigned long)vma->vm_private_data & PAGE_MASK;
}

static inline unsigned long
memphys_vma_fault_around(const struct vm_area_struct *vma)
{
	return (unsigned long)vma->vm_private_data & ~PAGE_MASK;
}

/* A consistent copy of @mf's settings (see struct memphys_file). */
static inline struct memphys_settings
memphys_file_settings(struct memphys_file *mf)
{
	struct memphys_settings set;

	spin_lock(&mf->lock);
	set = mf->set;
	spin_unlock(&mf->lock);
	return set;
}

static inline struct memphys_region *memphys_file_region(struct file *file)
{
	return ((struct memphys_file *)file->private_data)->region;
}

/*
 * The PFN of the @size bytes at page @pgoff of @r, or -1UL unless they lie
 * wholly inside the region.  @size is at least PAGE_SIZE.
 */
static inline unsigned long memphys_region_pfn(const struct memphys_region *r,
					       pgoff_t pgoff, u64 size)
{
	if (pgoff >= r->size >> PAGE_SHIFT ||
	    size > r->size - ((u64)pgoff << PAGE_SHIFT))
		return -1UL;
	return PHYS_PFN(r->base) + pgoff;
}

/*
 * The frame a 4 KiB fault at @vmf maps, or -1UL, counted as refused, when
 * it lies past the region's end.
 */
static inline unsigned long memphys_fault_pfn(struct memphys_region *r,
					      const struct vm_fault *vmf)
{
	unsigned long pfn = memphys_region_pfn(r, vmf->pgoff, PAGE_SIZE);

	if (pfn == -1UL)
		atomic64_inc(&r->stats.refused);
	return pfn;
}

#endif /* _MEMPHYS_H */
