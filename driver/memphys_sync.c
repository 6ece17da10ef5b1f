// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: MEMPHYS_IOC_SYNC, cache maintenance around a device's DMA.
 *
 * Only a write-back region of a machine whose DMA does not snoop the CPU
 * caches needs it: on arm64 a region of a device-tree node without
 * dma-coherent, or a regions= range (nothing says a device reaching it is
 * coherent).  A wc or uc region is never cached, x86 DMA is coherent and a
 * dma-coherent node says its device snoops: the ioctl then checks its
 * argument and reports why nothing was needed.
 */
#include <linux/dma-direction.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#ifdef CONFIG_ARM64
#include <asm/alternative.h>
#include <asm/barrier.h>
#include <asm/cache.h>
#include <asm/cpufeature.h>
#include <asm/sysreg.h>
#endif

#include "memphys.h"

/* Bytes maintained between two chances to reschedule or die. */
#define MEMPHYS_SYNC_CHUNK	(1UL << 20)

/* The user's directions are the DMA API's, which the documentation cites. */
static_assert(MEMPHYS_SYNC_BIDIRECTIONAL == DMA_BIDIRECTIONAL);
static_assert(MEMPHYS_SYNC_TO_DEVICE == DMA_TO_DEVICE);
static_assert(MEMPHYS_SYNC_FROM_DEVICE == DMA_FROM_DEVICE);

#ifdef CONFIG_ARM64
/*
 * Why not the DMA API (dma_sync_single_for_device/_for_cpu() against the
 * platform device): on a non-coherent arm64 device it ends in
 * arch_sync_dma_for_device/_for_cpu(), which maintain the lines through
 * phys_to_virt(), the linear map.  A no-map buffer, and RAM above mem=, is
 * not in the linear map, so that address is unmapped and the first "dc"
 * faults (an Oops).  The kernel's by-VA helpers (dcache_clean_poc(),
 * dcache_clean_inval_poc(), ...) are not exported to modules.  So the lines
 * are maintained by VA on the region's own write-back kernel mapping
 * (r->kaddr, memphys_memtype.c), as arch/arm64/mm/cache.S's
 * dcache_by_line_op does: the data caches behave as PIPT for maintenance to
 * the point of coherency, so an operation on that alias reaches the lines
 * that the user's mappings of the same frames filled.
 *
 * The step is the smallest data cache line of any CPU (CTR_EL0.DminLine of
 * the sanitised register: CPUs may differ); a smaller step than a CPU's
 * line only repeats work, a larger one would skip lines.
 */
static unsigned long memphys_dcache_line(void)
{
	u64 ctr = read_sanitised_ftr_reg(SYS_CTR_EL0);

	return 4UL << ((ctr >> CTR_EL0_DminLine_SHIFT) & 0xf);
}

/*
 * Clean (to device) or clean and invalidate (from device, bidirectional)
 * every line of [kaddr, kaddr + len) to the point of coherency.  Never a
 * plain invalidate ("dc ivac"): a line the range shares at either end may
 * hold CPU data outside it, and civac of a clean line is an invalidate.
 * The CPUs whose clean is buggy (ARM64_WORKAROUND_CLEAN_CACHE) get civac
 * for it too, as the kernel's own loop does.
 */
static void memphys_dcache_maintain(void *kaddr, size_t len, u32 direction)
{
	unsigned long line = memphys_dcache_line();
	unsigned long addr = ALIGN_DOWN((unsigned long)kaddr, line);
	unsigned long end = (unsigned long)kaddr + len;

	if (direction == MEMPHYS_SYNC_TO_DEVICE) {
		for (; addr < end; addr += line)
			asm volatile(ALTERNATIVE("dc cvac, %0", "dc civac, %0",
						 ARM64_WORKAROUND_CLEAN_CACHE)
				     : : "r" (addr) : "memory");
	} else {
		for (; addr < end; addr += line)
			asm volatile("dc civac, %0" : : "r" (addr) : "memory");
	}
	dsb(sy);
}

static u32 memphys_sync_needed(const struct memphys_region *r)
{
	if (r->caching != MEMPHYS_CACHE_WB)
		return MEMPHYS_SYNC_RESULT_UNCACHED;
	if (r->coherent)
		return MEMPHYS_SYNC_RESULT_COHERENT;
	return MEMPHYS_SYNC_RESULT_DONE;
}
#else
/* x86: DMA snoops the CPU caches, and only x86 and arm64 are built. */
static void memphys_dcache_maintain(void *kaddr, size_t len, u32 direction)
{
}

static u32 memphys_sync_needed(const struct memphys_region *r)
{
	if (r->caching != MEMPHYS_CACHE_WB)
		return MEMPHYS_SYNC_RESULT_UNCACHED;
	return MEMPHYS_SYNC_RESULT_COHERENT_ARCH;
}
#endif

/*
 * Maintain [offset, offset + length) of @r chunk by chunk through its
 * kernel mapping (a wb region always has one on 64-bit kernels, the only
 * ones where maintenance is done).
 */
static int memphys_sync_range(struct memphys_region *r, u64 offset,
			      u64 length, u32 direction)
{
	u64 done = 0;

	while (done < length) {
		u64 pos = offset + done;
		/* Chunks aligned to MEMPHYS_SYNC_CHUNK in the region. */
		size_t chunk = min_t(u64, length - done,
				     MEMPHYS_SYNC_CHUNK -
				     (pos & (MEMPHYS_SYNC_CHUNK - 1)));
		void *kaddr = memphys_io_map(r, pos, chunk);

		if (!kaddr)
			return -ENOMEM;
		memphys_dcache_maintain(kaddr, chunk, direction);
		memphys_io_unmap(r, kaddr);
		done += chunk;
		if (done < length) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

long memphys_ioc_sync(struct memphys_file *mf, void __user *arg)
{
	struct memphys_region *r = mf->region;
	struct memphys_sync sync;
	int ret;

	if (copy_from_user(&sync, arg, sizeof(sync)))
		return -EFAULT;
	if (sync.flags || sync.reserved || !sync.length ||
	    sync.direction > MEMPHYS_SYNC_FROM_DEVICE)
		return -EINVAL;
	if (sync.offset >= r->size || sync.length > r->size - sync.offset)
		return -ERANGE;
	sync.result = memphys_sync_needed(r);
	if (sync.result == MEMPHYS_SYNC_RESULT_DONE) {
		ret = memphys_sync_range(r, sync.offset, sync.length,
					 sync.direction);
		if (ret)
			return ret;
	}
	return copy_to_user(arg, &sync, sizeof(sync)) ? -EFAULT : 0;
}
