// SPDX-License-Identifier: GPL-2.0
/*
 * Test module of MemoryTypeTests: maps one page at phys= with the memory
 * type type= (uc, wc or wb) through ioremap_uc()/ioremap_wc()/
 * ioremap_cache() and keeps it mapped until unloaded, so that x86 PAT holds
 * a record of that type for the page.  A later memphys load of a region
 * holding the page with another type must then be refused, naming the
 * type the kernel gave it.
 */
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>

static unsigned long long phys;
module_param(phys, ullong, 0444);
MODULE_PARM_DESC(phys, "Physical address of the page to map (page aligned)");

static char *type = "uc";
module_param(type, charp, 0444);
MODULE_PARM_DESC(type, "Memory type of the mapping: uc, wc or wb");

static void __iomem *holder;

static int __init memphys_memtype_holder_init(void)
{
	if (!phys || !PAGE_ALIGNED(phys))
		return -EINVAL;
	if (!strcmp(type, "uc"))
		holder = ioremap_uc(phys, PAGE_SIZE);
	else if (!strcmp(type, "wc"))
		holder = ioremap_wc(phys, PAGE_SIZE);
	else if (!strcmp(type, "wb"))
		holder = ioremap_cache(phys, PAGE_SIZE);
	else
		return -EINVAL;
	return holder ? 0 : -EBUSY;
}

static void __exit memphys_memtype_holder_exit(void)
{
	iounmap(holder);
}

module_init(memphys_memtype_holder_init);
module_exit(memphys_memtype_holder_exit);

MODULE_DESCRIPTION("memphys test: hold one page with a given memory type");
MODULE_LICENSE("GPL");
