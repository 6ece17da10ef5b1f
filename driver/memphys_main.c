// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: hand boot-reserved physical RAM to user space.
 *
 * Module setup: parse the regions= parameter, check (memphys_region.c) and
 * claim each region, and register one misc device (/dev/memphysN) with its
 * sysfs counters; memphys_of.c adds the regions of the device tree.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "memphys.h"

/* MEMPHYS_VERSION comes from the VERSION file, through Kbuild. */

static char *regions;
module_param(regions, charp, 0444);
MODULE_PARM_DESC(regions,
		 "Reserved physical ranges to expose, SIZE@BASE[:wb|wc|uc][:pages[:folio=4K|2M|1G]][,...] with K/M/G suffixes, e.g. 1G@0x100000000:wc (reserve them with memmap=SIZE$BASE); the memory type of every mapping of the region, default wb; pages gives a wb region struct pages for the pages method, in folios of the largest huge size its alignment allows or of the folio= size");

static char *default_method = "remap";
module_param(default_method, charp, 0444);
MODULE_PARM_DESC(default_method,
		 "Mapping method of newly opened files: remap (eager remap_pfn_range) or fault (lazy fault handler); default remap");

unsigned int memphys_default_method;

/* 16 pages per fault: the cheapest first touch measured (see README). */
unsigned int memphys_default_fault_around = 16;
module_param_named(fault_around, memphys_default_fault_around, uint, 0444);
MODULE_PARM_DESC(fault_around,
		 "Pages a 4 KiB fault of the fault method maps in newly opened files, the faulting one and its neighbours: a power of two from 1 (off) to 512; default 16");

/*
 * Regions are only added (by the module's init and by device-tree probes,
 * which may also run later), and all removed at unload.
 */
static DEFINE_MUTEX(memphys_regions_lock);
static struct memphys_region *memphys_regions[MEMPHYS_MAX_REGIONS];
static unsigned int memphys_nr_regions;

static void memphys_release_regions(void);

/* "4K", "2M" or "1G": the folio size asked for; -1 for anything else. */
static u64 memphys_parse_folio(const char *s)
{
	char *end;
	u64 size = memparse(s, &end);

	if (*end || (size != MEMPHYS_SIZE_4K && size != MEMPHYS_SIZE_2M &&
		     size != MEMPHYS_SIZE_1G))
		return -1ULL;
	return size;
}

/*
 * Parse "SIZE@BASE[:TYPE][:pages][:folio=4K|2M|1G]" into @size, @base,
 * @caching (default wb), @pages and @folio (0: the largest the region
 * allows); -EINVAL when malformed.
 */
static int memphys_parse_one(const char *spec, u64 *size, u64 *base,
			     u32 *caching, bool *pages, u64 *folio)
{
	char opt[12];
	char *end;
	size_t len;

	*size = memparse(spec, &end);
	if (end == spec || *end != '@')
		return -EINVAL;
	spec = end + 1;
	*base = memparse(spec, &end);
	if (end == spec)
		return -EINVAL;
	*caching = MEMPHYS_CACHE_WB;
	*pages = false;
	*folio = 0;
	while (*end == ':') {
		spec = end + 1;
		len = strchrnul(spec, ':') - spec;
		if (len >= sizeof(opt))
			return -EINVAL;
		strscpy(opt, spec, len + 1);
		end = (char *)spec + len;
		if (!strcmp(opt, "pages"))
			*pages = true;
		else if (str_has_prefix(opt, "folio="))
			*folio = memphys_parse_folio(opt + 6);
		else if (memphys_caching_parse(opt, caching))
			return -EINVAL;
	}
	if (*folio == -1ULL || (*folio && !*pages))
		return -EINVAL;
	return *end == '\0' ? 0 : -EINVAL;
}

static int memphys_add_region(const char *spec)
{
	struct memphys_region_desc d = { .what = spec };
	char source[64];

	if (memphys_parse_one(spec, &d.size, &d.base, &d.caching, &d.pages,
			      &d.folio)) {
		pr_err("region \"%s\" is not SIZE@BASE[:wb|wc|uc][:pages[:folio=4K|2M|1G]] (e.g. 1G@0x100000000, 1G@0x100000000:wc or 1G@0x100000000:pages:folio=4K)\n",
		       spec);
		return -EINVAL;
	}
	snprintf(source, sizeof(source), "regions=%s", spec);
	d.source = source;
	return memphys_region_create(&d);
}

static int memphys_parse_regions(void)
{
	char *list, *cur, *spec;
	int ret = 0;

	if (!regions || !*regions)
		return 0;	/* the device tree may describe them */
	list = kstrdup(regions, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cur = list;
	while ((spec = strsep(&cur, ",")) != NULL) {
		ret = memphys_add_region(strim(spec));
		if (ret)
			break;
	}
	kfree(list);
	if (ret)
		memphys_release_regions();
	return ret;
}

static struct memphys_region *memphys_dev_region(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct memphys_region, misc);
}

#define MEMPHYS_COUNTER_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct memphys_region *r = memphys_dev_region(dev);		\
									\
	return sysfs_emit(buf, "%lld\n", atomic64_read(&r->stats.name)); \
}									\
static DEVICE_ATTR_RO(name)

MEMPHYS_COUNTER_ATTR(mmap_calls);
MEMPHYS_COUNTER_ATTR(bytes_remapped);
MEMPHYS_COUNTER_ATTR(pte_faults);
MEMPHYS_COUNTER_ATTR(pmd_faults);
MEMPHYS_COUNTER_ATTR(pud_faults);
MEMPHYS_COUNTER_ATTR(fallback_faults);
MEMPHYS_COUNTER_ATTR(refused);
MEMPHYS_COUNTER_ATTR(prefaulted);

static ssize_t phys_base_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%#llx\n",
			  (unsigned long long)memphys_dev_region(dev)->base);
}
/* Physical addresses are for the administrator only, as in /proc/iomem. */
static DEVICE_ATTR_ADMIN_RO(phys_base);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", memphys_dev_region(dev)->size);
}
static DEVICE_ATTR_RO(size);

static ssize_t caching_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  memphys_caching_name(memphys_dev_region(dev)->caching));
}
static DEVICE_ATTR_RO(caching);

/* "regions=SIZE@BASE..." or "devicetree NODE memory-region=BUFFER". */
static ssize_t source_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", memphys_dev_region(dev)->source);
}
static DEVICE_ATTR_RO(source);

static ssize_t pages_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return memphys_pages_show(memphys_dev_region(dev), buf);
}
static DEVICE_ATTR_RO(pages);

static struct attribute *memphys_attrs[] = {
	&dev_attr_phys_base.attr,
	&dev_attr_size.attr,
	&dev_attr_caching.attr,
	&dev_attr_pages.attr,
	&dev_attr_source.attr,
	&dev_attr_mmap_calls.attr,
	&dev_attr_bytes_remapped.attr,
	&dev_attr_pte_faults.attr,
	&dev_attr_pmd_faults.attr,
	&dev_attr_pud_faults.attr,
	&dev_attr_fallback_faults.attr,
	&dev_attr_refused.attr,
	&dev_attr_prefaulted.attr,
	NULL,
};
ATTRIBUTE_GROUPS(memphys);

static void memphys_region_free(struct memphys_region *r)
{
	memphys_pages_teardown(r);
	memphys_memtype_release(r);
	release_mem_region(r->base, r->size);
	kfree(r->source);
	kfree(r);
}

/* Give region @r its /dev node, under the platform device if it has one. */
static int memphys_region_register(struct memphys_region *r)
{
	int ret;

	r->misc.minor = MISC_DYNAMIC_MINOR;
	r->misc.name = r->name;
	r->misc.fops = &memphys_fops;
	r->misc.mode = 0600;
	r->misc.groups = memphys_groups;
	r->misc.parent = r->dev;
	ret = misc_register(&r->misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", r->name, ret);
		return ret;
	}
	pr_info("%s: [mem %#llx-%#llx] %llu MiB %s, node %d\n", r->name,
		(unsigned long long)r->base,
		(unsigned long long)(r->base + r->size - 1), r->size >> 20,
		memphys_caching_name(r->caching),
		memory_add_physaddr_to_nid(r->base));
	return 0;
}

/*
 * A node's memphys,device-name must not be a region's name already: two
 * misc devices of one name would fail in sysfs with a stack dump.  Default
 * names (memphysN, N the region's index) cannot collide with each other,
 * and memphys_of.c refuses node names of that form.
 */
static int memphys_name_check(const struct memphys_region_desc *d)
{
	unsigned int i;

	if (!d->name)
		return 0;
	for (i = 0; i < memphys_nr_regions; i++) {
		const struct memphys_region *o = memphys_regions[i];

		if (strcmp(o->name, d->name))
			continue;
		pr_err("region %s: /dev/%s is taken by the region of %s; give each node its own memphys,device-name\n",
		       d->what, d->name, o->source);
		return -EEXIST;
	}
	return 0;
}

static int memphys_region_create_locked(const struct memphys_region_desc *d)
{
	struct memphys_region *r;
	int ret;

	if (memphys_nr_regions == MEMPHYS_MAX_REGIONS) {
		pr_err("more than %d regions\n", MEMPHYS_MAX_REGIONS);
		return -E2BIG;
	}
	if (d->pages && d->caching != MEMPHYS_CACHE_WB) {
		pr_err("region %s: the pages option needs the wb memory type (ZONE_DEVICE pages are mapped write-back)\n",
		       d->what);
		return -EINVAL;
	}
	ret = memphys_region_check(d->what, d->size, d->base, memphys_regions,
				   memphys_nr_regions);
	if (ret)
		return ret;
	/*
	 * Without e820 types, a regions= range on arm64 is only known to lie in
	 * /memory: refuse RAM the kernel maps or keeps in its memory map (the
	 * no-map carve-outs of the firmware and of other drivers, such as
	 * secure memory, whose first access is an external abort).  A buffer
	 * of our own comes through a memphys,region node (d->dev).
	 */
	if (IS_ENABLED(CONFIG_ARM64) && !d->dev &&
	    memphys_range_in_memmap(d->base, d->size)) {
		pr_err("region %s is RAM in the kernel's memory map (a /reserved-memory buffer of the firmware or another driver?); give memphys RAM trimmed off with mem=, or its own buffer through a memphys,region node\n",
		       d->what);
		return -EBUSY;
	}

	ret = memphys_name_check(d);
	if (ret)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->index = memphys_nr_regions;
	r->base = d->base;
	r->size = d->size;
	r->caching = d->caching;
	r->dev = d->dev;
	r->coherent = d->coherent;
	if (d->name)
		strscpy(r->name, d->name, sizeof(r->name));
	else
		snprintf(r->name, sizeof(r->name), "memphys%u", r->index);
	r->source = kstrdup(d->source, GFP_KERNEL);
	if (!r->source) {
		kfree(r);
		return -ENOMEM;
	}

	r->res = request_mem_region(r->base, r->size, KBUILD_MODNAME);
	if (!r->res) {
		pr_err("region %s: cannot claim [mem %#llx-%#llx], already in use\n",
		       d->what, d->base, d->base + d->size - 1);
		kfree(r->source);
		kfree(r);
		return -EBUSY;
	}
	ret = memphys_crypt_check(r);
	if (!ret)
		ret = memphys_memtype_hold(r);
	if (ret) {
		release_mem_region(r->base, r->size);
		kfree(r->source);
		kfree(r);
		return ret;
	}
	r->pages_folio = d->folio;
	memphys_pages_setup(r, d->pages && !memphys_crypt_refuses_pages(r));
	ret = memphys_region_register(r);
	if (ret) {
		memphys_region_free(r);
		return ret;
	}
	memphys_regions[memphys_nr_regions++] = r;
	return 0;
}

/* Check, claim and register one region: /dev/memphysN (or d->name). */
int memphys_region_create(const struct memphys_region_desc *d)
{
	int ret;

	mutex_lock(&memphys_regions_lock);
	ret = memphys_region_create_locked(d);
	mutex_unlock(&memphys_regions_lock);
	return ret;
}

/* Unregister and free every region, the last created first. */
static void memphys_release_regions(void)
{
	mutex_lock(&memphys_regions_lock);
	while (memphys_nr_regions) {
		struct memphys_region *r = memphys_regions[--memphys_nr_regions];

		misc_deregister(&r->misc);
		memphys_region_free(r);
		memphys_regions[memphys_nr_regions] = NULL;
	}
	mutex_unlock(&memphys_regions_lock);
}

static int memphys_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct memphys_file *mf;
	int ret;

	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	/* Like /dev/mem: lockdown may have been raised after the load. */
	ret = security_locked_down(LOCKDOWN_DEV_MEM);
	if (ret)
		return ret;
	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;
	mf->region = container_of(misc, struct memphys_region, misc);
	spin_lock_init(&mf->lock);
	mf->set.method = memphys_default_method;
	mf->set.max_fault_size = memphys_largest_fault_size();
	mf->set.fault_around = memphys_default_fault_around;
	file->private_data = mf;
	memphys_pages_open(mf->region);
	return 0;
}

static int memphys_release(struct inode *inode, struct file *file)
{
	struct memphys_file *mf = file->private_data;

	memphys_pages_release(mf->region);
	kfree(mf);
	return 0;
}

const struct file_operations memphys_fops = {
	.owner = THIS_MODULE,
	.open = memphys_open,
	.release = memphys_release,
	.llseek = memphys_llseek,
	.read = memphys_read,
	.write = memphys_write,
#if MEMPHYS_HAVE_MMAP_PREPARE
	.mmap_prepare = memphys_mmap_prepare,
#else
	.mmap = memphys_mmap,
#endif
#if MEMPHYS_HAVE_HUGE_FAULT || MEMPHYS_HAVE_PAGES_HUGE
	.get_unmapped_area = memphys_get_unmapped_area,
#endif
	.unlocked_ioctl = memphys_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int memphys_parse_method(void)
{
	if (sysfs_streq(default_method, "remap"))
		memphys_default_method = MEMPHYS_METHOD_REMAP;
	else if (sysfs_streq(default_method, "fault"))
		memphys_default_method = MEMPHYS_METHOD_FAULT;
	else {
		pr_err("default_method=%s: expected remap or fault\n",
		       default_method);
		return -EINVAL;
	}
	return 0;
}

static int __init memphys_init(void)
{
	int ret;

	ret = security_locked_down(LOCKDOWN_DEV_MEM);
	if (ret) {
		pr_err("kernel lockdown forbids handing physical memory to user space, as it does /dev/mem\n");
		return ret;
	}
	ret = memphys_parse_method();
	if (ret)
		return ret;
	if (!memphys_fault_around_valid(memphys_default_fault_around)) {
		pr_err("fault_around=%u: expected a power of two from 1 to %u\n",
		       memphys_default_fault_around, MEMPHYS_FAULT_AROUND_MAX);
		return -EINVAL;
	}
	ret = memphys_parse_regions();
	if (ret)
		return ret;
	ret = memphys_of_register();
	if (ret) {
		memphys_release_regions();
		return ret;
	}
	if (memphys_nr_regions)
		return 0;
	memphys_of_unregister();
	ret = memphys_of_probe_error();
	if (!ret) {
		pr_err("no regions given; load with regions=SIZE@BASE (e.g. regions=1G@0x100000000)%s\n",
		       IS_ENABLED(CONFIG_OF_RESERVED_MEM) ?
		       " or describe one in the device tree (compatible = \"memphys,region\")" : "");
		ret = -EINVAL;
	}
	return ret;
}

static void __exit memphys_exit(void)
{
	memphys_of_unregister();
	memphys_release_regions();
}

module_init(memphys_init);
module_exit(memphys_exit);

MODULE_DESCRIPTION("Map boot-reserved physical RAM (memmap=) into user space");
MODULE_AUTHOR("memphys developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MEMPHYS_VERSION);
