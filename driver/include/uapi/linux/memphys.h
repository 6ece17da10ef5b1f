/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * memphys: user-space interface of the memphys driver.
 *
 * Every /dev/memphysN node is one physical RAM region reserved at boot
 * (memmap=SIZE$BASE).  mmap() offsets and pread()/pwrite() positions are
 * byte offsets inside that region.  The ioctls below report the region,
 * select how later mmap() calls on the same open file are served, return
 * the region's counters, and keep the CPU caches coherent with a device's
 * DMA where the hardware does not (MEMPHYS_IOC_SYNC).
 *
 * Structures use fixed-width types and explicit padding so that their
 * layout is identical for every ABI; they start with a size and a version
 * field that the driver fills in.  Reserved fields are written as zero by
 * the driver and must be zero when passed in.
 */
#ifndef _UAPI_LINUX_MEMPHYS_H
#define _UAPI_LINUX_MEMPHYS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MEMPHYS_UAPI_VERSION	4

/* Mapping methods (struct memphys_info.method, MEMPHYS_IOC_SET_METHOD). */
#define MEMPHYS_METHOD_REMAP	0	/* remap_pfn_range() in mmap */
#define MEMPHYS_METHOD_FAULT	1	/* PFNs inserted by the fault handler */
#define MEMPHYS_METHOD_PAGES	2	/* ZONE_DEVICE pages inserted by the fault
					 * handler (regions=...:pages); pinnable */
#define MEMPHYS_METHOD_COUNT	3

/*
 * Caching of a region (struct memphys_info.caching).  Each region has one
 * memory type, chosen at load (regions=SIZE@BASE:wb|wc|uc, default wb) and
 * reserved for the module's life, so that every mapping of it by either
 * method gets exactly that type.  MEMPHYS_IOC_SET_CACHING accepts only the
 * region's own type (EBUSY for another).
 */
#define MEMPHYS_CACHE_WB	0	/* write-back (default) */
#define MEMPHYS_CACHE_WC	1	/* write-combining */
#define MEMPHYS_CACHE_UC	2	/* uncached (UC- on x86) */
#define MEMPHYS_CACHE_COUNT	3

/* Memory type of a page table entry (struct memphys_page_query.memtype). */
#define MEMPHYS_MEMTYPE_WB		0	/* write-back */
#define MEMPHYS_MEMTYPE_WC		1	/* write-combining */
#define MEMPHYS_MEMTYPE_UC		2	/* uncached */
#define MEMPHYS_MEMTYPE_UC_MINUS	3	/* uncached, MTRRs may make it WC */
#define MEMPHYS_MEMTYPE_WT		4	/* write-through */
#define MEMPHYS_MEMTYPE_WP		5	/* write-protected */
#define MEMPHYS_MEMTYPE_UNKNOWN		6	/* not decoded on this architecture */

/* Fault sizes, as bits in struct memphys_info.fault_sizes. */
#define MEMPHYS_FAULT_4K	(1U << 0)	/* PTE */
#define MEMPHYS_FAULT_2M	(1U << 1)	/* PMD */
#define MEMPHYS_FAULT_1G	(1U << 2)	/* PUD */

#define MEMPHYS_SIZE_4K		0x1000ULL
#define MEMPHYS_SIZE_2M		0x200000ULL
#define MEMPHYS_SIZE_1G		0x40000000ULL

/*
 * Fault-around (struct memphys_info.fault_around, MEMPHYS_IOC_SET_FAULT_AROUND):
 * how many 4 KiB pages one 4 KiB fault of a fault-method mapping maps in
 * total, a power of two from 1 (off) to MEMPHYS_FAULT_AROUND_MAX.  The
 * faulting page and the free entries of the naturally aligned window of that
 * many pages around it, clipped to the mapping and the region, are mapped;
 * struct memphys_stats.prefaulted counts the neighbours.  Huge faults are
 * not affected.  Like the method, the value of the file at mmap() time holds
 * for the mapping's life.
 */
#define MEMPHYS_FAULT_AROUND_MAX	512

struct memphys_info {
	__u32 size;		/* out: sizeof(struct memphys_info) */
	__u32 version;		/* out: MEMPHYS_UAPI_VERSION */
	__u32 index;		/* out: N of /dev/memphysN */
	__u32 page_size;	/* out: PAGE_SIZE */
	__u64 phys_base;	/* out: physical address of the region */
	__u64 region_size;	/* out: bytes */
	__u32 methods;		/* out: bit (1 << MEMPHYS_METHOD_*) supported */
	__u32 caching_modes;	/* out: bit (1 << MEMPHYS_CACHE_*) selectable: the region's */
	__u32 fault_sizes;	/* out: MEMPHYS_FAULT_* this kernel can install */
	__u32 method;		/* out: this file's MEMPHYS_METHOD_* */
	__u32 caching;		/* out: the region's MEMPHYS_CACHE_* */
	__u32 reserved0;	/* out: 0 */
	__u64 max_fault_size;	/* out: this file's largest fault, bytes */
	__u32 fault_around;	/* out: this file's fault-around, pages per 4 KiB fault */
	__u32 pages_errno;	/* out: 0, or why the pages method is unavailable:
				 * ENODATA   region loaded without :pages
				 * EOPNOTSUPP no ZONE_DEVICE (32-bit, config)
				 * EINVAL    base/size not 2 MiB multiples
				 * EEXIST    already in the memory map
				 * other     memremap_pages()'s error */
	__u64 reserved[3];	/* out: 0 */
};

/* Argument of the MEMPHYS_IOC_SET_* ioctls. */
struct memphys_setting {
	__u64 value;		/* in: the new value */
	__u64 reserved;		/* in: must be 0 */
};

/* Counters of one region, since load or the last MEMPHYS_IOC_RESET_STATS. */
struct memphys_stats {
	__u32 size;		/* out: sizeof(struct memphys_stats) */
	__u32 version;		/* out: MEMPHYS_UAPI_VERSION */
	__u64 mmap_calls;	/* mmap() calls accepted */
	__u64 bytes_remapped;	/* bytes mapped eagerly by the remap method */
	__u64 pte_faults;	/* 4 KiB PFNs inserted by the fault handler */
	__u64 pmd_faults;	/* 2 MiB mappings inserted */
	__u64 pud_faults;	/* 1 GiB mappings inserted */
	__u64 fallback_faults;	/* huge faults answered VM_FAULT_FALLBACK */
	__u64 refused;		/* mmap() and fault requests refused */
	__u64 prefaulted;	/* 4 KiB PFNs inserted around a fault (fault-around) */
	__u64 reserved[3];	/* out: 0 */
};

/*
 * Argument of MEMPHYS_IOC_QUERY_PAGE: the page table entry behind one
 * virtual address of the caller inside a memphys mapping.  The kernel's own
 * /proc/PID/pagemap and mincore() skip VM_PFNMAP mappings (they have no
 * struct pages), so this is how user space checks which frame a page of a
 * mapping really points at, with which memory type and entry size.
 */
struct memphys_page_query {
	__u64 address;		/* in: virtual address in a memphys mapping */
	__u64 pfn;		/* out: page frame number mapped there */
	__u32 flags;		/* out: MEMPHYS_PAGE_* */
	__u32 memtype;		/* out: MEMPHYS_MEMTYPE_* (when present) */
	__u64 entry_size;	/* out: bytes the entry maps, MEMPHYS_SIZE_* (0: none) */
	__u64 reserved;		/* in: must be 0 */
};

#define MEMPHYS_PAGE_PRESENT	(1U << 0)	/* an entry maps the address */
#define MEMPHYS_PAGE_WRITE	(1U << 1)	/* the entry allows writes */

/*
 * Argument of MEMPHYS_IOC_SYNC: cache maintenance around a device's DMA into
 * or out of [offset, offset + length) of the region, for machines whose DMA
 * does not snoop the CPU caches (arm64 boards without dma-coherent).  The
 * range need not be aligned: every cache line it touches is maintained.
 * Call it with MEMPHYS_SYNC_TO_DEVICE after the CPU wrote and before the
 * device reads, and with MEMPHYS_SYNC_FROM_DEVICE before the device writes
 * (so that no dirty line is evicted over its data) and again after it wrote,
 * before the CPU reads.  From-device and bidirectional clean and invalidate
 * (never a plain invalidate), so CPU data sharing a line with the range's
 * ends is never lost.
 *
 * Errors: EINVAL for flags or reserved not 0, an unknown direction or a zero
 * length; ERANGE for a range not wholly inside the region; EINTR when a
 * fatal signal ended a long sync early.  Any open file may sync (read-only
 * too): maintenance never changes what a coherent reader sees.
 */
struct memphys_sync {
	__u64 offset;		/* in: byte offset in the region */
	__u64 length;		/* in: bytes, > 0 */
	__u32 direction;	/* in: MEMPHYS_SYNC_* (enum dma_data_direction's values) */
	__u32 flags;		/* in: must be 0 */
	__u32 result;		/* out: MEMPHYS_SYNC_RESULT_* */
	__u32 reserved;		/* in: must be 0 */
};

#define MEMPHYS_SYNC_BIDIRECTIONAL	0	/* clean and invalidate */
#define MEMPHYS_SYNC_TO_DEVICE		1	/* clean: CPU writes reach RAM */
#define MEMPHYS_SYNC_FROM_DEVICE	2	/* clean and invalidate: the CPU
						 * then reads what the device wrote */

/* What MEMPHYS_IOC_SYNC did (struct memphys_sync.result). */
#define MEMPHYS_SYNC_RESULT_DONE	1	/* the data cache lines were maintained */
#define MEMPHYS_SYNC_RESULT_UNCACHED	2	/* not needed: a wc or uc region is
						 * never cached */
#define MEMPHYS_SYNC_RESULT_COHERENT	3	/* not needed: the device-tree node
						 * is dma-coherent */
#define MEMPHYS_SYNC_RESULT_COHERENT_ARCH 4	/* not needed: DMA snoops the CPU
						 * caches on this architecture (x86) */

/*
 * Argument of MEMPHYS_IOC_EXPORT_DMABUF: export [offset, offset + length) of
 * the region as a dma-buf, a file descriptor that other drivers import
 * (V4L2 V4L2_MEMORY_DMABUF, DRM PRIME, RDMA...) and that user space can
 * mmap() and bracket with DMA_BUF_IOCTL_SYNC.  Offset and length are
 * multiples of the page size, inside the region, length not 0.  flags:
 * O_RDWR or O_RDONLY (the dma-buf's access mode; O_RDWR needs a file
 * opened for writing), optionally | O_CLOEXEC for the new descriptor.
 * Every memory type exports; importers and mappings of the dma-buf get the
 * region's type.  Each live dma-buf holds the module (rmmod: EAGAIN).
 * Errors: EINVAL (reserved set, unknown flags, length 0, unaligned),
 * ERANGE (not inside the region), EACCES (O_RDWR on a read-only file),
 * EOPNOTSUPP (a kernel without dma-buf), EMFILE/ENFILE/ENOMEM.
 */
struct memphys_dmabuf_export {
	__u64 offset;		/* in: byte offset in the region */
	__u64 length;		/* in: bytes */
	__u32 flags;		/* in: O_RDWR or O_RDONLY, | O_CLOEXEC */
	__s32 fd;		/* out: the dma-buf's file descriptor */
	__u64 reserved;		/* in: must be 0 */
};

/* 0xDE: unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define MEMPHYS_IOC_MAGIC	0xDE

#define MEMPHYS_IOC_GET_INFO		_IOR(MEMPHYS_IOC_MAGIC, 0x00, struct memphys_info)
#define MEMPHYS_IOC_SET_METHOD		_IOW(MEMPHYS_IOC_MAGIC, 0x01, struct memphys_setting)
#define MEMPHYS_IOC_SET_CACHING		_IOW(MEMPHYS_IOC_MAGIC, 0x02, struct memphys_setting)
#define MEMPHYS_IOC_SET_MAX_FAULT	_IOW(MEMPHYS_IOC_MAGIC, 0x03, struct memphys_setting)
#define MEMPHYS_IOC_GET_STATS		_IOR(MEMPHYS_IOC_MAGIC, 0x04, struct memphys_stats)
/* Zeroes the region's counters; EBADF unless the file is open for writing. */
#define MEMPHYS_IOC_RESET_STATS		_IO(MEMPHYS_IOC_MAGIC, 0x05)
#define MEMPHYS_IOC_QUERY_PAGE		_IOWR(MEMPHYS_IOC_MAGIC, 0x06, struct memphys_page_query)
#define MEMPHYS_IOC_SET_FAULT_AROUND	_IOW(MEMPHYS_IOC_MAGIC, 0x07, struct memphys_setting)
#define MEMPHYS_IOC_SYNC		_IOWR(MEMPHYS_IOC_MAGIC, 0x08, struct memphys_sync)
#define MEMPHYS_IOC_EXPORT_DMABUF	_IOWR(MEMPHYS_IOC_MAGIC, 0x09, struct memphys_dmabuf_export)

#endif /* _UAPI_LINUX_MEMPHYS_H */
