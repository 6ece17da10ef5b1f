// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: read()/write()/lseek() at region offsets, like /dev/mem.
 *
 * Transfers copy through a kernel mapping of the region's own memory type
 * (memphys_memtype.c): the persistent one that holds a wb or uc region's
 * type, or a bounded window per chunk for a wc region.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "memphys.h"

/*
 * Largest chunk copied at once: bounds windows and the time between
 * reschedules.  32-bit kernels (CONFIG_HIGHMEM) map windows a page at a
 * time with kmap_local (memphys_io_map()).
 */
#ifdef CONFIG_HIGHMEM
#define MEMPHYS_IO_WINDOW	PAGE_SIZE
#else
#define MEMPHYS_IO_WINDOW	(1UL << 20)
#endif

/*
 * Clamp a transfer of @count bytes at *@ppos to the region; 0 bytes at or
 * past its end.
 */
static ssize_t memphys_io_span(struct memphys_region *r, loff_t pos,
			       size_t count)
{
	if (pos < 0)
		return -EINVAL;
	if ((u64)pos >= r->size)
		return 0;
	return min_t(u64, count, r->size - pos);
}

/*
 * Copy @len bytes of the region at @from to user space without consuming
 * poison (see compat.h), through @bounce (PAGE_SIZE bytes, or NULL for the
 * plain copy): returns the bytes not copied, and sets @poisoned when the
 * copy stopped at poisoned memory rather than at the user buffer.
 * write() has no such copy: a store does not consume poison the way a
 * load does, and the kernel offers no machine-check-safe copy from user
 * space (pmem's write path uses the plain one too).
 */
static unsigned long memphys_copy_out(char __user *to, const void *from,
				      size_t len, char *bounce,
				      bool *poisoned)
{
	size_t off = 0;

	if (!bounce)
		return copy_to_user(to, from, len);
	while (off < len) {
		size_t n = min_t(size_t, len - off, PAGE_SIZE);
		unsigned long bad = copy_mc_to_kernel(bounce, from + off, n);
		unsigned long left = copy_to_user(to + off, bounce, n - bad);

		off += n - bad - left;
		if (left || bad) {
			*poisoned = !left;
			break;
		}
	}
	return len - off;
}

static ssize_t memphys_rw(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos, bool write)
{
	struct memphys_region *r = memphys_file_region(file);
	ssize_t span = memphys_io_span(r, *ppos, count);
	bool poisoned = false;
	char *bounce = NULL;
	ssize_t done = 0;

	if (span <= 0)
		return span;
	if (MEMPHYS_HAVE_COPY_MC && !write) {
		bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	}

	while (done < span) {
		u64 pos = *ppos + done;
		/* Stay inside one window-aligned chunk of the region. */
		size_t chunk = min_t(u64, span - done,
				     MEMPHYS_IO_WINDOW -
				     (pos & (MEMPHYS_IO_WINDOW - 1)));
		unsigned long left;
		void *kaddr;

		kaddr = memphys_io_map(r, pos, chunk);
		if (!kaddr) {
			if (!done)
				done = -ENOMEM;
			break;
		}
		if (write)
			left = copy_from_user(kaddr, ubuf + done, chunk);
		else
			left = memphys_copy_out(ubuf + done, kaddr, chunk,
						bounce, &poisoned);
		memphys_io_unmap(r, kaddr);
		done += chunk - left;
		if (left) {
			if (!done)
				done = poisoned ? -EIO : -EFAULT;
			break;
		}
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kfree(bounce);
	if (done > 0)
		*ppos += done;
	return done;
}

ssize_t memphys_read(struct file *file, char __user *buf, size_t count,
		     loff_t *ppos)
{
	return memphys_rw(file, buf, count, ppos, false);
}

ssize_t memphys_write(struct file *file, const char __user *buf,
		      size_t count, loff_t *ppos)
{
	return memphys_rw(file, (char __user *)buf, count, ppos, true);
}

loff_t memphys_llseek(struct file *file, loff_t offset, int whence)
{
	struct memphys_region *r = memphys_file_region(file);

	return fixed_size_llseek(file, offset, whence, r->size);
}

/*
 * Debugger access to a copied page of a MAP_PRIVATE remap area: an
 * ordinary anonymous page, read and written through its kernel mapping as
 * access_remote_vm() does for pages it can pin.
 */
static int memphys_access_copy(struct page *page, unsigned long addr,
			       void *buf, int len, int write)
{
	void *kaddr = kmap_local_page(page);

	if (write) {
		memcpy(kaddr + offset_in_page(addr), buf, len);
		set_page_dirty_lock(page);
	} else {
		memcpy(buf, kaddr + offset_in_page(addr), len);
	}
	kunmap_local(kaddr);
	return len;
}

/*
 * .access of the remap and fault mappings: ptrace(), gdb and /proc/PID/mem
 * (get_user_pages() refuses VM_PFNMAP areas, so they come here).  Region
 * frames are copied through the region's own kernel mapping or window of
 * its type (memphys_io_map()), found from the entry that maps @addr; the
 * copy a write made in a MAP_PRIVATE area is RAM with a struct page.
 *
 * The kernel's generic_access_phys() would ioremap() whatever frame the
 * entry holds: for a copied page that is System RAM, which x86 refuses
 * with a WARNING ("ioremap on RAM"), and arm64's ioremap_prot() before its
 * fix (Debian's 6.1) keeps the user entry's protection, whose kernel read
 * then faults under PAN (an Oops).  One page at most, as the caller asks.
 */
int memphys_vma_access(struct vm_area_struct *vma, unsigned long addr,
		       void *buf, int len, int write)
{
	struct memphys_region *r = memphys_file_region(vma->vm_file);
	struct page *copy;
	unsigned long pfn;
	pgprot_t prot;
	bool writable;
	void *kaddr;
	u64 pos;

	len = min_t(int, len, PAGE_SIZE - offset_in_page(addr));
	if (memphys_follow_pfn_copy(vma, addr, &pfn, &prot, &writable, &copy,
				    PHYS_PFN(r->base), r->size >> PAGE_SHIFT))
		return -EINVAL;
	if (copy) {
		int ret = write && !writable ? -EINVAL :
			  memphys_access_copy(copy, addr, buf, len, write);

		put_page(copy);
		return ret;
	}
	if ((write && !writable) || PFN_PHYS(pfn) < r->base)
		return -EINVAL;
	pos = PFN_PHYS(pfn) - r->base + offset_in_page(addr);
	if (pos + len > r->size)
		return -EINVAL;
	kaddr = memphys_io_map(r, pos, len);
	if (!kaddr)
		return -ENOMEM;
	/* The io accessors: no unaligned access to a uc (Device) mapping. */
	if (write)
		memcpy_toio((void __iomem __force *)kaddr, buf, len);
	else
		memcpy_fromio(buf, (void __iomem __force *)kaddr, len);
	memphys_io_unmap(r, kaddr);
	return len;
}
