// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: dma-buf export of a range of a region (MEMPHYS_IOC_EXPORT_DMABUF).
 *
 * A dma-buf is how Linux hands one buffer to several drivers: a V4L2
 * capture device, a GPU, an RDMA card import the file descriptor and reach
 * the same reserved RAM that user space maps through /dev/memphysN.
 *
 * What an importer gets, for every memory type of the region:
 *
 *   map_dma_buf  an sg table of one contiguous range (entries of at most
 *                1 GiB, consecutive DMA addresses), mapped for the importing
 *                device: page-based (dma_map_sgtable()) where the region has
 *                ZONE_DEVICE pages, dma_map_resource() where it has none.
 *                A device that cannot address the range without an IOMMU
 *                is refused (EIO) rather than given a mapping the DMA
 *                layer would warn about or bounce through swiotlb.
 *   vmap         a kernel mapping of the region's type: the persistent one
 *                that holds a wb (memremap WB) or uc (ioremap, UC-) region's
 *                type, a WC memremap() per vmap for a wc region (whose type
 *                is held without a mapping).  uc vmaps only on x86, where
 *                ioremap() memory takes ordinary loads and stores (arm64's
 *                Device type does not: EOPNOTSUPP, see the vmap op).
 *   mmap         the dma-buf's own mmap(): a remap-method mapping with the
 *                region's type (memphys_region_pgprot()), never executable.
 *   cpu access   DMA_BUF_IOCTL_SYNC / dma_buf_begin,end_cpu_access: for a wb
 *                region, a dma_sync of every device mapping (cache
 *                maintenance where the device is not coherent, arm64
 *                without dma-coherent; nothing on x86); for wc and uc
 *                nothing: the CPU does not cache them.
 *
 * The method of the exporting file does not matter: the export is of the
 * region, and importers never fault on it.  Each dma-buf holds the module
 * (dma_buf_export() takes a reference to exp_info.owner, dropped after
 * .release), so rmmod fails with EAGAIN while one lives; the region it
 * points into is only freed at unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/io.h>
#include <linux/iosys-map.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "memphys.h"

MEMPHYS_IMPORT_NS_DMA_BUF();

/* Largest sg entry: its length is an unsigned int. */
#define MEMPHYS_DMABUF_SEG	SZ_1G

/* One exported range. */
struct memphys_dmabuf {
	struct memphys_region *region;
	u64 offset;			/* in the region */
	u64 length;
	struct mutex lock;		/* attachments */
	struct list_head attachments;
};

/* One importing device, and its mapping while it has one. */
struct memphys_dmabuf_attachment {
	struct list_head node;
	struct device *dev;
	struct sg_table *sgt;		/* NULL while unmapped */
	enum dma_data_direction dir;
	dma_addr_t dma_addr;		/* of a dma_map_resource() mapping */
};

static phys_addr_t memphys_dmabuf_phys(const struct memphys_dmabuf *mb)
{
	return mb->region->base + mb->offset;
}

/*
 * Whether @dev can reach [phys, phys + len) through its DMA mask: always
 * behind an IOMMU (the addresses are IOVAs), else the physical range must
 * lie under the mask and the bus limit.  Without this check a 32-bit device
 * and a region above 4 GiB would meet a WARN in dma_map_resource() or a
 * swiotlb bounce (not the region any more) in dma_map_sgtable().
 */
static bool memphys_dmabuf_reaches(struct device *dev, phys_addr_t phys,
				   u64 len)
{
	u64 limit;

	if (device_iommu_mapped(dev))
		return true;
	if (!dev->dma_mask)
		return false;
	limit = min_not_zero(*dev->dma_mask, dev->bus_dma_limit);
	return phys + len - 1 <= limit;
}

static int memphys_dmabuf_attach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct memphys_dmabuf *mb = dmabuf->priv;
	struct memphys_dmabuf_attachment *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->dev = attach->dev;
	attach->priv = a;
	mutex_lock(&mb->lock);
	list_add(&a->node, &mb->attachments);
	mutex_unlock(&mb->lock);
	return 0;
}

static void memphys_dmabuf_detach(struct dma_buf *dmabuf,
				  struct dma_buf_attachment *attach)
{
	struct memphys_dmabuf *mb = dmabuf->priv;
	struct memphys_dmabuf_attachment *a = attach->priv;

	mutex_lock(&mb->lock);
	list_del(&a->node);
	mutex_unlock(&mb->lock);
	kfree(a);
}

/*
 * Fill @sgt with the range in entries of at most MEMPHYS_DMABUF_SEG: pages
 * where the region has them, else only DMA addresses from @dma (0: leave
 * them for dma_map_sgtable()).
 */
static void memphys_dmabuf_fill(struct memphys_dmabuf *mb,
				struct sg_table *sgt, dma_addr_t dma)
{
	phys_addr_t phys = memphys_dmabuf_phys(mb);
	struct scatterlist *sg;
	u64 done = 0;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		unsigned int len = min_t(u64, mb->length - done,
					 MEMPHYS_DMABUF_SEG);

		if (mb->region->pages) {
			sg_set_page(sg, pfn_to_page(PHYS_PFN(phys + done)), len,
				    0);
		} else {
			sg_dma_address(sg) = dma + done;
			sg_dma_len(sg) = len;
		}
		done += len;
	}
}

static struct sg_table *memphys_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	struct memphys_dmabuf *mb = attach->dmabuf->priv;
	struct memphys_dmabuf_attachment *a = attach->priv;
	struct device *dev = attach->dev;
	unsigned int nents = DIV_ROUND_UP_ULL(mb->length, MEMPHYS_DMABUF_SEG);
	struct sg_table *sgt;
	dma_addr_t dma = 0;
	int ret;

	/*
	 * Refused here rather than at attach: videobuf2 from 6.8 or so keeps
	 * the dma-buf reference of a buffer whose attach failed (its cleanup
	 * skips planes without mem_priv), so the dma-buf, and the module with
	 * it, would never be released.  A failed map is cleaned up.
	 */
	if (!memphys_dmabuf_reaches(dev, memphys_dmabuf_phys(mb), mb->length))
		return ERR_PTR(-EIO);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		goto free;
	if (mb->region->pages) {
		/* ZONE_DEVICE pages: the DMA API does the cache work. */
		memphys_dmabuf_fill(mb, sgt, 0);
		ret = dma_map_sgtable(dev, sgt, dir, 0);
		if (ret)
			goto table;
	} else {
		dma = dma_map_resource(dev, memphys_dmabuf_phys(mb), mb->length,
				       dir, 0);
		if (dma_mapping_error(dev, dma)) {
			ret = -EIO;
			goto table;
		}
		memphys_dmabuf_fill(mb, sgt, dma);
		/* RAM behind it: clean what the CPU wrote, where needed. */
		if (mb->region->caching == MEMPHYS_CACHE_WB)
			dma_sync_single_for_device(dev, dma, mb->length, dir);
	}
	mutex_lock(&mb->lock);
	a->sgt = sgt;
	a->dir = dir;
	a->dma_addr = dma;
	mutex_unlock(&mb->lock);
	return sgt;
table:
	sg_free_table(sgt);
free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void memphys_dmabuf_unmap(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct memphys_dmabuf *mb = attach->dmabuf->priv;
	struct memphys_dmabuf_attachment *a = attach->priv;

	mutex_lock(&mb->lock);
	a->sgt = NULL;
	mutex_unlock(&mb->lock);
	if (mb->region->pages) {
		dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	} else {
		if (mb->region->caching == MEMPHYS_CACHE_WB)
			dma_sync_single_for_cpu(attach->dev, a->dma_addr,
						mb->length, dir);
		dma_unmap_resource(attach->dev, a->dma_addr, mb->length, dir,
				   0);
	}
	sg_free_table(sgt);
	kfree(sgt);
}

static void memphys_dmabuf_release(struct dma_buf *dmabuf)
{
	struct memphys_dmabuf *mb = dmabuf->priv;

	mutex_destroy(&mb->lock);
	kfree(mb);
}

/*
 * Cache maintenance for the CPU (@for_cpu) or the devices: only a wb
 * region is cached by the CPU, and only a device that is not coherent
 * needs it (the dma_sync calls are no-ops on x86).
 */
static int memphys_dmabuf_sync(struct dma_buf *dmabuf,
			       enum dma_data_direction dir, bool for_cpu)
{
	struct memphys_dmabuf *mb = dmabuf->priv;
	struct memphys_dmabuf_attachment *a;

	if (mb->region->caching != MEMPHYS_CACHE_WB)
		return 0;
	mutex_lock(&mb->lock);
	list_for_each_entry(a, &mb->attachments, node) {
		if (!a->sgt)
			continue;
		if (mb->region->pages && for_cpu)
			dma_sync_sgtable_for_cpu(a->dev, a->sgt, dir);
		else if (mb->region->pages)
			dma_sync_sgtable_for_device(a->dev, a->sgt, dir);
		else if (for_cpu)
			dma_sync_single_for_cpu(a->dev, a->dma_addr, mb->length,
						dir);
		else
			dma_sync_single_for_device(a->dev, a->dma_addr,
						   mb->length, dir);
	}
	mutex_unlock(&mb->lock);
	return 0;
}

static int memphys_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				    enum dma_data_direction dir)
{
	return memphys_dmabuf_sync(dmabuf, dir, true);
}

static int memphys_dmabuf_end_cpu(struct dma_buf *dmabuf,
				  enum dma_data_direction dir)
{
	return memphys_dmabuf_sync(dmabuf, dir, false);
}

/* Moving a mapping would carry PFN tracking state we do not own: refuse. */
static int memphys_dmabuf_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* As the remap method's areas (memphys_mmap.c): whole, unless PAT allows. */
static int memphys_dmabuf_may_split(struct vm_area_struct *vma,
				    unsigned long addr)
{
	return memphys_remap_split_leaks() ? -EINVAL : 0;
}

static const struct vm_operations_struct memphys_dmabuf_vm_ops = {
	.may_split = memphys_dmabuf_may_split,
	.mremap = memphys_dmabuf_vm_mremap,
#if defined(CONFIG_HAVE_IOREMAP_PROT) && !defined(CONFIG_ARM64)
	/* arm64 needs the region's own mapping: see memphys_vma_access(). */
	.access = generic_access_phys,
#endif
};

/*
 * mmap() of the dma-buf: the remap method with the region's type.  The
 * dma-buf core has checked that the area lies inside the buffer and that a
 * writable shared mapping has a writable (O_RDWR) dma-buf.
 */
static int memphys_dmabuf_mmap(struct dma_buf *dmabuf,
			       struct vm_area_struct *vma)
{
	struct memphys_dmabuf *mb = dmabuf->priv;
	struct memphys_region *r = mb->region;
	unsigned long len = vma->vm_end - vma->vm_start;
	phys_addr_t phys = memphys_dmabuf_phys(mb) +
			   ((phys_addr_t)vma->vm_pgoff << PAGE_SHIFT);
	int ret;

	/* A data buffer is never code, as for /dev/memphysN. */
	if (vma->vm_flags & VM_EXEC) {
		atomic64_inc(&r->stats.refused);
		return -EPERM;
	}
	memphys_vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_page_prot = memphys_region_pgprot(r, vma->vm_page_prot);
	vma->vm_ops = &memphys_dmabuf_vm_ops;
	ret = remap_pfn_range(vma, vma->vm_start, PHYS_PFN(phys), len,
			      vma->vm_page_prot);
	if (ret) {
		atomic64_inc(&r->stats.refused);
		return ret;
	}
	atomic64_inc(&r->stats.mmap_calls);
	atomic64_add(len, &r->stats.bytes_remapped);
	return 0;
}

static int memphys_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct memphys_dmabuf *mb = dmabuf->priv;
	struct memphys_region *r = mb->region;
	void *vaddr;

	memphys_dmabuf_assert_vmap_locked(dmabuf);
	switch (r->caching) {
	case MEMPHYS_CACHE_WB:
		if (!r->kaddr)
			return -ENOMEM;
		iosys_map_set_vaddr(map, r->kaddr + mb->offset);
		return 0;
	case MEMPHYS_CACHE_UC:
		/*
		 * An ioremap(), UC-.  Importers write it with plain stores and
		 * memcpy() and give vunmap a map they rebuild as system memory
		 * (vb2: is_iomem must match or dma_buf_vunmap() BUGs), so it is
		 * handed out as one.  That is sound where ioremap() returns an
		 * ordinary address (x86); elsewhere uc is Device memory, which
		 * faults on the unaligned accesses of memcpy(): no vmap.
		 */
		if (!IS_ENABLED(CONFIG_X86))
			return -EOPNOTSUPP;
		if (!r->kaddr)
			return -ENOMEM;
		iosys_map_set_vaddr(map, r->kaddr + mb->offset);
		return 0;
	default:
		/* WC, the type the region holds (memphys_memtype.c). */
		vaddr = memremap(memphys_dmabuf_phys(mb), mb->length,
				 MEMREMAP_WC);
		if (!vaddr)
			return -ENOMEM;
		iosys_map_set_vaddr(map, vaddr);
		return 0;
	}
}

static void memphys_dmabuf_vunmap(struct dma_buf *dmabuf,
				  struct iosys_map *map)
{
	struct memphys_dmabuf *mb = dmabuf->priv;

	memphys_dmabuf_assert_vmap_locked(dmabuf);
	if (mb->region->caching == MEMPHYS_CACHE_WC)
		memunmap(map->vaddr);
}

static const struct dma_buf_ops memphys_dmabuf_ops = {
	.attach = memphys_dmabuf_attach,
	.detach = memphys_dmabuf_detach,
	.map_dma_buf = memphys_dmabuf_map,
	.unmap_dma_buf = memphys_dmabuf_unmap,
	.release = memphys_dmabuf_release,
	.begin_cpu_access = memphys_dmabuf_begin_cpu,
	.end_cpu_access = memphys_dmabuf_end_cpu,
	.mmap = memphys_dmabuf_mmap,
	.vmap = memphys_dmabuf_vmap,
	.vunmap = memphys_dmabuf_vunmap,
};

/* The checks of a request, in the order the UAPI header lists the errnos. */
static int memphys_dmabuf_check(struct file *file, struct memphys_region *r,
				const struct memphys_dmabuf_export *req)
{
	if (req->reserved || req->flags & ~(O_CLOEXEC | O_ACCMODE))
		return -EINVAL;
	if ((req->flags & O_ACCMODE) != O_RDONLY &&
	    (req->flags & O_ACCMODE) != O_RDWR)
		return -EINVAL;
	if (!req->length || !PAGE_ALIGNED(req->offset) ||
	    !PAGE_ALIGNED(req->length))
		return -EINVAL;
	if (req->offset >= r->size || req->length > r->size - req->offset)
		return -ERANGE;
	if ((req->flags & O_ACCMODE) == O_RDWR && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	return 0;
}

/* A new dma-buf of @req's range, and a descriptor of it in *@fd. */
static struct dma_buf *memphys_dmabuf_create(struct memphys_region *r,
					     const struct memphys_dmabuf_export *req)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct memphys_dmabuf *mb;
	struct dma_buf *dmabuf;

	mb = kzalloc(sizeof(*mb), GFP_KERNEL);
	if (!mb)
		return ERR_PTR(-ENOMEM);
	mb->region = r;
	mb->offset = req->offset;
	mb->length = req->length;
	mutex_init(&mb->lock);
	INIT_LIST_HEAD(&mb->attachments);

	info.ops = &memphys_dmabuf_ops;
	info.size = req->length;
	info.flags = req->flags & O_ACCMODE;
	info.priv = mb;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		mutex_destroy(&mb->lock);
		kfree(mb);
	}
	return dmabuf;
}

long memphys_dmabuf_export(struct file *file, void __user *arg)
{
	struct memphys_region *r = memphys_file_region(file);
	struct memphys_dmabuf_export req;
	struct dma_buf *dmabuf;
	int fd, ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	ret = memphys_dmabuf_check(file, r, &req);
	if (ret)
		return ret;
	dmabuf = memphys_dmabuf_create(r, &req);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	fd = get_unused_fd_flags(req.flags & O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	/* Install only what the caller learnt of: no descriptor leaks. */
	req.fd = fd;
	if (copy_to_user(arg, &req, sizeof(req))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}
