// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: which physical ranges may become regions.
 *
 * Only RAM that the administrator reserved at boot with memmap=SIZE$BASE
 * (or memmap=SIZE!BASE): never System RAM, never a range the firmware keeps
 * for itself (ACPI tables, EFI or BIOS data, MMIO holes), which also shows
 * as "Reserved" in /proc/iomem.  On x86 the firmware's own memory map, from
 * before memmap= edited it, tells them apart: the kernel's table where it
 * still exports it (compat.h), else its copy in /sys/firmware/memmap;
 * elsewhere /proc/iomem's view must do.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "compat.h"
#include "memphys.h"

/*
 * The name of a type other than RAM that the firmware gives to any part of
 * [base, base + size), or NULL.  Only x86 keeps a firmware map; elsewhere
 * the caller's /proc/iomem check must do.
 */
static const char *memphys_firmware_reserved(u64 base, u64 size)
{
#ifdef CONFIG_X86
	static const struct {
		enum e820_type type;
		const char *name;
		bool memmap_makes_it;	/* memmap=$ or ! creates it too */
	} types[] = {
		{ E820_TYPE_RESERVED, "Reserved", true },
		{ E820_TYPE_ACPI, "ACPI Tables", false },
		{ E820_TYPE_NVS, "ACPI Non-volatile Storage", false },
		{ E820_TYPE_UNUSABLE, "Unusable memory", false },
		{ E820_TYPE_PMEM, "Persistent Memory", false },
		{ E820_TYPE_PRAM, "Persistent Memory (legacy)", true },
		{ E820_TYPE_SOFT_RESERVED, "Soft Reserved", false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		if (!MEMPHYS_HAVE_FIRMWARE_MAP && types[i].memmap_makes_it)
			continue;
		if (memphys_e820_mapped(base, base + size, types[i].type))
			return types[i].name;
	}
#endif
	return NULL;
}

/*
 * The first page of [base, base + size) that the firmware map does not
 * call RAM (a hole, which memmap=SIZE$BASE turns into "Reserved" too), or
 * U64_MAX when it is all RAM or no firmware map is available.
 */
static u64 memphys_firmware_not_ram(u64 base, u64 size)
{
#if MEMPHYS_HAVE_FIRMWARE_MAP
	u64 page;

	for (page = base; page - base < size; page += PAGE_SIZE) {
		if (!memphys_e820_mapped(page, page + PAGE_SIZE, E820_TYPE_RAM))
			return page;
		if (!(page & (SZ_1G - 1)))
			cond_resched();
	}
#endif
	return U64_MAX;
}

#if defined(CONFIG_X86) && !MEMPHYS_HAVE_FIRMWARE_MAP
#include <linux/file.h>
#include <linux/fs.h>

/* Entries of /sys/firmware/memmap read at most: e820 tables are short. */
#define MEMPHYS_FIRMWARE_MAP_MAX	1024

/* Read the sysfs file /sys/firmware/memmap/@entry/@name into @buf. */
static int memphys_firmware_map_read(unsigned int entry, const char *name,
				     char *buf, size_t len)
{
	char path[48];
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/firmware/memmap/%u/%s", entry, name);
	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, len - 1, &pos);
	fput(f);
	if (n < 0)
		return n;
	buf[n] = '\0';
	strim(buf);
	return 0;
}

/* One entry of the firmware map: -ENOENT past the last one. */
static int memphys_firmware_map_entry(unsigned int entry, u64 *start,
				      u64 *end, char *type, size_t len)
{
	char num[32];
	int ret;

	ret = memphys_firmware_map_read(entry, "start", num, sizeof(num));
	if (ret)
		return ret;
	ret = kstrtoull(num, 0, start);
	if (ret)
		return ret;
	ret = memphys_firmware_map_read(entry, "end", num, sizeof(num));
	if (ret)
		return ret;
	ret = kstrtoull(num, 0, end);
	if (ret)
		return ret;
	return memphys_firmware_map_read(entry, "type", type, len);
}

/*
 * From 6.19 the firmware's own e820 table is KVM's (compat.h), but
 * drivers/firmware/memmap.c still shows every process that table, as it
 * was before memmap= edited it, in /sys/firmware/memmap (one directory
 * per entry: start, end, type).  Read it there: [base, base + size) must
 * lie wholly in "System RAM" entries, as e820__mapped_raw_any() checks on
 * older kernels.  Without that directory (sysfs not mounted in the loading
 * process's namespace) the range is taken with a warning.
 */
static int memphys_firmware_map_check(const char *spec, u64 base, u64 size)
{
	u64 last = base + size - 1, ram = 0, start, end;
	unsigned int i;
	char type[40];
	int ret = 0;

	for (i = 0; i < MEMPHYS_FIRMWARE_MAP_MAX; i++) {
		ret = memphys_firmware_map_entry(i, &start, &end, type,
						 sizeof(type));
		if (ret)
			break;
		if (end < base || start > last)
			continue;
		if (strcmp(type, "System RAM")) {
			pr_err("region %s: the firmware keeps part of it for itself (\"%s\" in /sys/firmware/memmap: ACPI, EFI or BIOS data); memphys only takes RAM that the administrator reserved with memmap=SIZE$BASE\n",
			       spec, type);
			return -EPERM;
		}
		ram += min(end, last) - max(start, base) + 1;
	}
	if (!i) {
		pr_warn("region %s: cannot read /sys/firmware/memmap (%d): this kernel cannot tell a range the firmware reserved from one memmap= reserved; check it with 'memphys memmap'\n",
			spec, ret);
		return 0;
	}
	if (ram < size) {
		pr_err("region %s: the firmware map (/sys/firmware/memmap) has no RAM under part of it; memphys only takes RAM that the administrator reserved with memmap=SIZE$BASE\n",
		       spec);
		return -EPERM;
	}
	return 0;
}
#else
/* The firmware's e820 table (or no e820 at all) decided it above. */
static int memphys_firmware_map_check(const char *spec, u64 base, u64 size)
{
	return 0;
}
#endif

/*
 * The memmap= option that reserves [base, base + size), for messages; an
 * x86 option: elsewhere the device tree reserves RAM (or mem= leaves it out).
 */
static void memphys_memmap_hint(char *buf, size_t len, u64 size, u64 base)
{
	const char *unit = "K";
	unsigned int shift = 10;

	if (!IS_ENABLED(CONFIG_X86)) {
		strscpy(buf, "a no-map /reserved-memory node or mem=", len);
		return;
	}

	if (IS_ALIGNED(size, SZ_1G)) {
		unit = "G";
		shift = 30;
	} else if (IS_ALIGNED(size, SZ_1M)) {
		unit = "M";
		shift = 20;
	}
	snprintf(buf, len, "memmap=%llu%s$%#llx", size >> shift, unit, base);
}

static int memphys_sum_covered(struct resource *res, void *arg)
{
	*(u64 *)arg += resource_size(res);
	return 0;
}

/*
 * Bytes of [base, base + size) that /proc/iomem marks as reserved RAM:
 * memmap=SIZE$BASE makes "Reserved" and memmap=SIZE!BASE "Persistent Memory
 * (legacy)".  Anything else there (holes, MMIO) is not RAM we may hand out.
 */
static u64 memphys_reserved_bytes(u64 base, u64 size)
{
	u64 covered = 0;

	walk_iomem_res_desc(IORES_DESC_RESERVED, IORESOURCE_MEM, base,
			    base + size - 1, &covered, memphys_sum_covered);
	walk_iomem_res_desc(IORES_DESC_PERSISTENT_MEMORY_LEGACY, IORESOURCE_MEM,
			    base, base + size - 1, &covered,
			    memphys_sum_covered);
	return covered;
}

/*
 * Whether part of [base, base + size) already has struct pages in the
 * kernel's memory map: memblock memory, as a no-map /reserved-memory buffer
 * on arm64 stays.  memremap_pages() cannot add pages there (-EEXIST from the
 * subsection map), and arm64's arch_add_memory() has by then cleared the
 * range's NOMAP flag for good, leaving a linear-map hole that pfn_valid()
 * and /dev/mem take for mapped RAM.  RAM that memmap= (x86) or mem= (arm64)
 * kept out of the kernel has no such pages.
 */
bool memphys_range_in_memmap(u64 base, u64 size)
{
#ifdef CONFIG_SPARSEMEM_VMEMMAP
	unsigned long pfn = PHYS_PFN(base);
	unsigned long end = PHYS_PFN(base + size);

	for (pfn = ALIGN_DOWN(pfn, PAGES_PER_SUBSECTION); pfn < end;
	     pfn += PAGES_PER_SUBSECTION) {
		struct mem_section *ms;

		if (pfn_to_section_nr(pfn) >= NR_MEM_SECTIONS)
			return false;
		ms = __pfn_to_section(pfn);
		if (valid_section(ms) && pfn_section_valid(ms, pfn))
			return true;
	}
#endif
	return false;
}

/*
 * Whether the range @spec names, [base, base + size), may become a region:
 * page aligned, addressable, clear of the @nr_others regions already taken,
 * and wholly RAM that the administrator reserved at boot.  Logs why not.
 */
int memphys_region_check(const char *spec, u64 size, u64 base,
			 struct memphys_region *const *others,
			 unsigned int nr_others)
{
	const char *firmware_type;
	char hint[48];
	unsigned int i;
	u64 last, not_ram;

	if (!size || !PAGE_ALIGNED(size) || !PAGE_ALIGNED(base)) {
		pr_err("region %s: base and size must be non-zero multiples of %lu\n",
		       spec, PAGE_SIZE);
		return -EINVAL;
	}
	if (check_add_overflow(base, size - 1, &last) ||
	    last > (u64)(phys_addr_t)-1 || (last >> MEMPHYS_PHYS_BITS)) {
		pr_err("region %s: ends beyond the %d-bit physical address space\n",
		       spec, MEMPHYS_PHYS_BITS);
		return -EINVAL;
	}
	for (i = 0; i < nr_others; i++) {
		const struct memphys_region *r = others[i];

		if (base <= r->base + r->size - 1 && r->base <= last) {
			pr_err("region %s overlaps region %u\n", spec, r->index);
			return -EINVAL;
		}
	}
	memphys_memmap_hint(hint, sizeof(hint), size, base);
	if (region_intersects(base, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("region %s overlaps System RAM; reserve it with %s on the kernel command line\n",
		       spec, hint);
		return -EBUSY;
	}
	firmware_type = memphys_firmware_reserved(base, size);
	if (firmware_type) {
		pr_err("region %s: the firmware keeps part of it for itself (\"%s\" in /sys/firmware/memmap: ACPI, EFI or BIOS data); memphys only takes RAM that the administrator reserved with memmap=SIZE$BASE\n",
		       spec, firmware_type);
		return -EPERM;
	}
	/* arm64 RAM trimmed off with mem= is in no resource, only in /memory. */
	if (memphys_reserved_bytes(base, size) != size &&
	    !memphys_of_memory_covers(base, size)) {
		pr_err("region %s is not wholly reserved RAM in /proc/iomem (outside physical memory, or not reserved with %s)\n",
		       spec, hint);
		return -ENXIO;
	}
	not_ram = memphys_firmware_not_ram(base, size);
	if (not_ram != U64_MAX) {
		pr_err("region %s: the firmware map (/sys/firmware/memmap) has no RAM at %#llx; memphys only takes RAM that the administrator reserved with memmap=SIZE$BASE\n",
		       spec, not_ram);
		return -EPERM;
	}
	return memphys_firmware_map_check(spec, base, size);
}
