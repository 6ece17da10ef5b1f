// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: the ioctl interface of include/uapi/linux/memphys.h.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "memphys.h"

static long memphys_get_info(struct memphys_file *mf, void __user *arg)
{
	struct memphys_settings set = memphys_file_settings(mf);
	struct memphys_region *r = mf->region;
	struct memphys_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.version = MEMPHYS_UAPI_VERSION;
	info.index = r->index;
	info.page_size = PAGE_SIZE;
	info.phys_base = r->base;
	info.region_size = r->size;
	info.methods = BIT(MEMPHYS_METHOD_REMAP) | BIT(MEMPHYS_METHOD_FAULT);
	if (r->pages)
		info.methods |= BIT(MEMPHYS_METHOD_PAGES);
	/* The region's type is the only one its mappings can have. */
	info.caching_modes = BIT(r->caching);
	info.fault_sizes = memphys_fault_sizes();
	info.method = set.method;
	info.caching = r->caching;
	info.max_fault_size = set.max_fault_size;
	info.fault_around = set.fault_around;
	info.pages_errno = r->pages_errno;
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long memphys_get_stats(struct memphys_region *r, void __user *arg)
{
	struct memphys_counters *c = &r->stats;
	struct memphys_stats stats;

	memset(&stats, 0, sizeof(stats));
	stats.size = sizeof(stats);
	stats.version = MEMPHYS_UAPI_VERSION;
	stats.mmap_calls = atomic64_read(&c->mmap_calls);
	stats.bytes_remapped = atomic64_read(&c->bytes_remapped);
	stats.pte_faults = atomic64_read(&c->pte_faults);
	stats.pmd_faults = atomic64_read(&c->pmd_faults);
	stats.pud_faults = atomic64_read(&c->pud_faults);
	stats.fallback_faults = atomic64_read(&c->fallback_faults);
	stats.refused = atomic64_read(&c->refused);
	stats.prefaulted = atomic64_read(&c->prefaulted);
	return copy_to_user(arg, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static void memphys_reset_stats(struct memphys_region *r)
{
	struct memphys_counters *c = &r->stats;

	atomic64_set(&c->mmap_calls, 0);
	atomic64_set(&c->bytes_remapped, 0);
	atomic64_set(&c->pte_faults, 0);
	atomic64_set(&c->pmd_faults, 0);
	atomic64_set(&c->pud_faults, 0);
	atomic64_set(&c->fallback_faults, 0);
	atomic64_set(&c->refused, 0);
	atomic64_set(&c->prefaulted, 0);
}

static int memphys_fault_size_bit(u64 size)
{
	switch (size) {
	case MEMPHYS_SIZE_4K:
		return MEMPHYS_FAULT_4K;
	case MEMPHYS_SIZE_2M:
		return MEMPHYS_FAULT_2M;
	case MEMPHYS_SIZE_1G:
		return MEMPHYS_FAULT_1G;
	default:
		return 0;
	}
}

/* Check a SET_* ioctl's value; store it in @next (a copy of the settings). */
static long memphys_check_setting(struct memphys_file *mf, unsigned int cmd,
				  u64 value, struct memphys_settings *next)
{
	int bit;

	switch (cmd) {
	case MEMPHYS_IOC_SET_METHOD:
		if (value >= MEMPHYS_METHOD_COUNT)
			return -EINVAL;
		/* A region without struct pages (pages_errno says why). */
		if (value == MEMPHYS_METHOD_PAGES && !mf->region->pages)
			return -EOPNOTSUPP;
		next->method = value;
		return 0;
	case MEMPHYS_IOC_SET_CACHING:
		if (value >= MEMPHYS_CACHE_COUNT)
			return -EINVAL;
		/* Another type would conflict with the one the region holds. */
		return value == mf->region->caching ? 0 : -EBUSY;
	case MEMPHYS_IOC_SET_FAULT_AROUND:
		if (!memphys_fault_around_valid(value))
			return -EINVAL;
		next->fault_around = value;
		return 0;
	default: /* MEMPHYS_IOC_SET_MAX_FAULT */
		bit = memphys_fault_size_bit(value);
		if (!bit)
			return -EINVAL;
		/* Sizes the fault method or this region's pages can take. */
		if (!((memphys_fault_sizes() |
		       (mf->region->pages ?
			memphys_pages_fault_sizes(mf->region) : 0)) & bit))
			return -EOPNOTSUPP;
		next->max_fault_size = value;
		return 0;
	}
}

/*
 * One SET_* ioctl: the check and the change happen under the file's lock,
 * so concurrent ones and mmap() each see whole generations of settings.
 */
static long memphys_set(struct memphys_file *mf, unsigned int cmd,
			void __user *arg)
{
	struct memphys_setting set;
	struct memphys_settings next;
	long ret;

	if (copy_from_user(&set, arg, sizeof(set)))
		return -EFAULT;
	if (set.reserved)
		return -EINVAL;

	spin_lock(&mf->lock);
	next = mf->set;
	ret = memphys_check_setting(mf, cmd, set.value, &next);
	if (!ret)
		mf->set = next;
	spin_unlock(&mf->lock);
	return ret;
}

static long memphys_ioc_query_page(struct memphys_file *mf, void __user *arg)
{
	struct memphys_page_query query;
	int ret;

	if (copy_from_user(&query, arg, sizeof(query)))
		return -EFAULT;
	if (query.reserved)
		return -EINVAL;
	ret = memphys_query_page(mf, &query);
	if (ret)
		return ret;
	return copy_to_user(arg, &query, sizeof(query)) ? -EFAULT : 0;
}

long memphys_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct memphys_file *mf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case MEMPHYS_IOC_GET_INFO:
		return memphys_get_info(mf, uarg);
	case MEMPHYS_IOC_SET_METHOD:
	case MEMPHYS_IOC_SET_CACHING:
	case MEMPHYS_IOC_SET_MAX_FAULT:
	case MEMPHYS_IOC_SET_FAULT_AROUND:
		return memphys_set(mf, cmd, uarg);
	case MEMPHYS_IOC_GET_STATS:
		return memphys_get_stats(mf->region, uarg);
	case MEMPHYS_IOC_RESET_STATS:
		/*
		 * The counters are the region's, shared by every opener:
		 * zeroing them is a write, refused (EBADF, as write() would
		 * be) on a descriptor opened read-only.
		 */
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		memphys_reset_stats(mf->region);
		return 0;
	case MEMPHYS_IOC_QUERY_PAGE:
		return memphys_ioc_query_page(mf, uarg);
	case MEMPHYS_IOC_SYNC:
		return memphys_ioc_sync(mf, uarg);
	case MEMPHYS_IOC_EXPORT_DMABUF:
		return memphys_dmabuf_export(file, uarg);
	default:
		return -ENOTTY;
	}
}
