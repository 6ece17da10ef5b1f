// SPDX-License-Identifier: GPL-2.0
/*
 * memphys: the memory type of a region, chosen at load and held until
 * unload so that every mapping of the region gets exactly that type.
 *
 * x86 PAT keeps a record of the memory type of every physical range mapped
 * with a non-default type.  remap_pfn_range() makes such a record for its
 * mapping, but vmf_insert_pfn() and the huge insert functions only look one
 * up (lookup_memtype()), and for non-RAM without a record they use UC-.
 * A request that conflicts with a live record fails or is downgraded.  So
 * each region holds one record of its own type from load to unload:
 *
 *   wb  a persistent memremap(MEMREMAP_WB) of the whole region (on x86
 *       ioremap_cache() reserves WB); read()/write() copy through it.
 *   wc  arch_io_reserve_memtype_wc(), as TTM and amdgpu do: no kernel
 *       mapping; read()/write() map a bounded WC window per chunk.
 *   uc  a persistent ioremap() (UC-); read()/write() copy through it.
 *
 * The mapping methods never use the kernel mapping: it only holds the type
 * (and serves read()/write()).  A 32-bit kernel has no room for a kernel
 * mapping of a large region (and its memremap() of RAM above 4 GiB mapped
 * the wrong frame on 686-pae), so there only wc regions load; read() and
 * write() map one page at a time with kmap_local, with the region's type.
 * Every choice that depends on the architecture or configuration is one
 * helper here, so that a ZONE_DEVICE variant (memremap_pages() also
 * reserves WB) can change it in one place.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cc_platform.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "compat.h"
#include "memphys.h"

static const char * const memphys_caching_names[MEMPHYS_CACHE_COUNT] = {
	[MEMPHYS_CACHE_WB] = "wb",
	[MEMPHYS_CACHE_WC] = "wc",
	[MEMPHYS_CACHE_UC] = "uc",
};

int memphys_caching_parse(const char *name, u32 *caching)
{
	int i = sysfs_match_string(memphys_caching_names, name);

	if (i < 0)
		return -EINVAL;
	*caching = i;
	return 0;
}

const char *memphys_caching_name(u32 caching)
{
	return caching < MEMPHYS_CACHE_COUNT ? memphys_caching_names[caching] :
					       "?";
}

/* Hold WB or UC through a kernel mapping of the whole region. */
static int memphys_hold_by_mapping(struct memphys_region *r)
{
	if (!IS_ENABLED(CONFIG_64BIT)) {
		pr_err("%s: the %s memory type needs a kernel mapping of the whole region to hold it, which a 32-bit kernel cannot give; load the region as SIZE@BASE:wc\n",
		       r->name, memphys_caching_name(r->caching));
		return -EOPNOTSUPP;
	}
	if (r->caching == MEMPHYS_CACHE_WB)
		r->kaddr = memremap(r->base, r->size, MEMREMAP_WB);
	else
		/* x86 ioremap() returns an ordinary kernel address. */
		r->kaddr = (void __force *)ioremap(r->base, r->size);
	if (r->kaddr)
		return 0;
	pr_err("%s: cannot hold the %s memory type: it needs a kernel mapping of all %llu MiB, which failed (no room for it in this kernel's address space, or another user holds a conflicting type)\n",
	       r->name, memphys_caching_name(r->caching), r->size >> 20);
	return -ENOMEM;
}

#ifdef CONFIG_X86_PAT
static const char * const memphys_memtype_names[] = {
	[MEMPHYS_MEMTYPE_WB] = "WB",
	[MEMPHYS_MEMTYPE_WC] = "WC",
	[MEMPHYS_MEMTYPE_UC] = "UC",
	[MEMPHYS_MEMTYPE_UC_MINUS] = "UC-",
	[MEMPHYS_MEMTYPE_WT] = "WT",
	[MEMPHYS_MEMTYPE_WP] = "WP",
	[MEMPHYS_MEMTYPE_UNKNOWN] = "an unknown type",
};

/* The PAT cache mode each MEMPHYS_CACHE_* stands for (uc: what ioremap gives). */
static enum page_cache_mode memphys_cache_mode(u32 caching)
{
	switch (caching) {
	case MEMPHYS_CACHE_WC:
		return _PAGE_CACHE_MODE_WC;
	case MEMPHYS_CACHE_UC:
		return _PAGE_CACHE_MODE_UC_MINUS;
	default:
		return _PAGE_CACHE_MODE_WB;
	}
}

/*
 * Whether the kernel's own entries mapping [kaddr, kaddr + size) all have
 * the type of @r; otherwise log the type found and return false.  Read
 * with lookup_address(), one leaf entry (4 KiB to 1 GiB) at a time.
 */
static bool memphys_kernel_entries_match(struct memphys_region *r,
					 void *kaddr, u64 size)
{
	unsigned long want = cachemode2protval(memphys_cache_mode(r->caching));
	unsigned long addr = (unsigned long)kaddr;
	unsigned long end = addr + size;

	while (addr < end) {
		unsigned int level;
		pte_t *pte = lookup_address(addr, &level);
		unsigned long entry_size = page_level_size(level);
		pgprot_t prot;

		if (!pte || !pte_present(*pte)) {
			pr_err("%s: cannot read back the memory type of the kernel mapping holding it\n",
			       r->name);
			return false;
		}
		prot = pte_pgprot(*pte);
		if (entry_size > PAGE_SIZE)
			prot = pgprot_large_2_4k(prot);
		if ((pgprot_val(prot) & _PAGE_CACHE_MASK) != want) {
			u64 at = r->base + (addr - (unsigned long)kaddr);
			u32 asked = memphys_entry_memtype(__pgprot(want),
							  PAGE_SIZE);
			u32 found = memphys_entry_memtype(prot, PAGE_SIZE);

			pr_err("%s: asked for the %s memory type (%s), but the kernel gave [mem %#llx-%#llx] %s: another mapping of part of the range holds it (x86 PAT keeps one type per range); unmap that first\n",
			       r->name, memphys_caching_name(r->caching),
			       memphys_memtype_names[asked],
			       (unsigned long long)at,
			       (unsigned long long)(r->base + r->size - 1),
			       memphys_memtype_names[found]);
			return false;
		}
		addr = ALIGN_DOWN(addr, entry_size) + entry_size;
		cond_resched();
	}
	return true;
}

/*
 * Whether the type held is the one asked for.  ioremap(), memremap() and
 * arch_io_reserve_memtype_wc() accept the type of an existing PAT record
 * of part of the range (is_new_memtype_allowed(): WB may become UC- or
 * WC, UC- may become WC or UC, WC may become UC-) without failing, and the
 * region's user mappings would then silently get that type too.  Read back
 * the kernel's entries of the holding mapping (wb, uc), or of a transient
 * write-combining one (wc, which holds no mapping: ioremap_wc() gets the
 * type of the record just made).  Without PAT the entries show what the
 * CPU does (wc as uc-), which is what was asked.
 */
static bool memphys_memtype_granted(struct memphys_region *r)
{
	void __iomem *probe;
	bool ok;

	if (!pat_enabled())
		return true;
	if (r->kaddr)
		return memphys_kernel_entries_match(r, r->kaddr, r->size);
	/*
	 * 32-bit wc: not checked.  There is no room to map a large region at
	 * once, and a transient ioremap_wc() of part of a region above 4 GiB
	 * fails in memtype_reserve() (-EINVAL, seen on 6.1 686-pae), which
	 * would refuse every such load.
	 */
	if (!IS_ENABLED(CONFIG_64BIT))
		return true;
	probe = ioremap_wc(r->base, r->size);
	if (!probe) {
		pr_err("%s: cannot map it to read back its wc memory type\n",
		       r->name);
		return false;
	}
	ok = memphys_kernel_entries_match(r, (void __force *)probe, r->size);
	iounmap(probe);
	return ok;
}
#else
/* Without x86 PAT (arm64) a mapping's type is what its entries ask for. */
static bool memphys_memtype_granted(struct memphys_region *r)
{
	return true;
}
#endif

static int memphys_memtype_take(struct memphys_region *r)
{
	int ret;

	if (r->caching != MEMPHYS_CACHE_WC)
		return memphys_hold_by_mapping(r);
	ret = arch_io_reserve_memtype_wc(r->base, r->size);
	if (ret)
		pr_err("%s: cannot reserve the wc memory type (%d): part of the range already has another type\n",
		       r->name, ret);
	return ret;
}

/* Hold the region's type, and refuse the load when another was granted. */
int memphys_memtype_hold(struct memphys_region *r)
{
	int ret = memphys_memtype_take(r);

	if (ret)
		return ret;
	if (memphys_memtype_granted(r))
		return 0;
	memphys_memtype_release(r);
	return -EBUSY;
}

void memphys_memtype_release(struct memphys_region *r)
{
	switch (r->caching) {
	case MEMPHYS_CACHE_WB:
		memunmap(r->kaddr);
		break;
	case MEMPHYS_CACHE_UC:
		iounmap((void __iomem __force *)r->kaddr);
		break;
	default:
		arch_io_free_memtype_wc(r->base, r->size);
		break;
	}
	r->kaddr = NULL;
}

/*
 * Memory encryption, decided here for every path (docs/design.md).  The
 * region is RAM that no kernel mapping covers (memmap= keeps it out of the
 * direct map), so the mappings memphys makes are its only views, and they
 * must all agree:
 *
 *  - the kernel's: ioremap()/memremap() of a range that is not System RAM
 *    map it decrypted (__ioremap_caller(): only IORES_MAP_ENCRYPTED ranges,
 *    which a reserved or memphys resource is not, or ioremap_encrypted(),
 *    get pgprot_encrypted()), and so does kmap_local with our protection;
 *  - the users': memphys_crypt_pgprot(), decrypted too, as /dev/mem's are
 *    (drivers/char/mem.c: phys_mem_access_prot() with pgprot_decrypted()
 *    on x86 for non-RAM), which is also what a device that DMAs to the
 *    physical address sees on an SME host without an IOMMU.
 *
 * What cannot be made consistent is refused (memphys_crypt_check()):
 *
 *  - a confidential guest (SEV, SEV-SNP, TDX: CC_ATTR_GUEST_MEM_ENCRYPT):
 *    its RAM is private; a decrypted view of a private page reads
 *    ciphertext (SEV) or faults (TDX, a #VE on shared access to a private
 *    GPA) unless the page is converted to shared (set_memory_decrypted(),
 *    which needs a kernel mapping and changes what the host may read).
 *    memphys does not convert: it refuses to load;
 *  - the pages method on an SME host (CC_ATTR_HOST_MEM_ENCRYPT):
 *    memremap_pages() maps the pages into the direct map with PAGE_KERNEL,
 *    encrypted, and GUP users (O_DIRECT, RDMA, vmsplice) copy through that
 *    mapping, while the user mapping is decrypted: the two would see
 *    different bytes.  The region loads without pages there.
 *
 * None of it can be shown under TCG, which has no memory encryption.
 */
int memphys_crypt_check(struct memphys_region *r)
{
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_err("%s: this is a memory-encrypted guest (SEV/TDX): its RAM is private, and memphys maps the region decrypted (shared) like /dev/mem, which private memory cannot be without a conversion memphys does not make\n",
		       r->name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Whether the pages method's encrypted direct map would disagree. */
bool memphys_crypt_refuses_pages(const struct memphys_region *r)
{
	if (!cc_platform_has(CC_ATTR_HOST_MEM_ENCRYPT))
		return false;
	pr_warn("%s: no pages: memory encryption (SME) is active, and the pages' direct map (encrypted) would disagree with the region's decrypted user mappings\n",
		r->name);
	return true;
}

/* The encryption bits of every user and kernel mapping memphys makes. */
static pgprot_t memphys_crypt_pgprot(pgprot_t prot)
{
	return pgprot_decrypted(prot);
}

/* Page protection of a user mapping: the region's type, decrypted. */
pgprot_t memphys_region_pgprot(const struct memphys_region *r, pgprot_t prot)
{
	switch (r->caching) {
	case MEMPHYS_CACHE_WC:
		prot = pgprot_writecombine(prot);
		break;
	case MEMPHYS_CACHE_UC:
		/*
		 * What ioremap() gives: UC- on x86, Device-nGnRE on arm64
		 * (whose pgprot_noncached() is the stricter nGnRnE).
		 */
		prot = pgprot_device(prot);
		break;
	default:
		break;
	}
	return memphys_crypt_pgprot(prot);
}

/*
 * The memory type an entry's PAT/PCD/PWT bits select, for a 4 KiB entry or
 * a huge one (whose PAT bit sits elsewhere).  UC- comes before WC: without
 * PAT a WC request is encoded as UC-, and that is what the CPU then does.
 * On arm64 the entry's attribute index selects Normal (wb), Normal-NC (wc)
 * or a Device type (uc).
 */
u32 memphys_entry_memtype(pgprot_t prot, u64 entry_size)
{
#ifdef CONFIG_X86
	static const struct {
		enum page_cache_mode pcm;
		u32 memtype;
	} types[] = {
		{ _PAGE_CACHE_MODE_WB, MEMPHYS_MEMTYPE_WB },
		{ _PAGE_CACHE_MODE_UC_MINUS, MEMPHYS_MEMTYPE_UC_MINUS },
		{ _PAGE_CACHE_MODE_UC, MEMPHYS_MEMTYPE_UC },
		{ _PAGE_CACHE_MODE_WC, MEMPHYS_MEMTYPE_WC },
		{ _PAGE_CACHE_MODE_WT, MEMPHYS_MEMTYPE_WT },
		{ _PAGE_CACHE_MODE_WP, MEMPHYS_MEMTYPE_WP },
	};
	unsigned long bits;
	unsigned int i;

	if (entry_size > PAGE_SIZE)
		prot = pgprot_large_2_4k(prot);
	bits = pgprot_val(prot) & _PAGE_CACHE_MASK;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (cachemode2protval(types[i].pcm) == bits)
			return types[i].memtype;
#elif defined(CONFIG_ARM64)
	/* The MAIR attribute index, at the same place in blocks and pages. */
	switch (pgprot_val(prot) & PTE_ATTRINDX_MASK) {
	case PTE_ATTRINDX(MT_NORMAL):
	case PTE_ATTRINDX(MT_NORMAL_TAGGED):
		return MEMPHYS_MEMTYPE_WB;
	case PTE_ATTRINDX(MT_NORMAL_NC):
		return MEMPHYS_MEMTYPE_WC;
	case PTE_ATTRINDX(MT_DEVICE_nGnRE):
	case PTE_ATTRINDX(MT_DEVICE_nGnRnE):
		return MEMPHYS_MEMTYPE_UC;
	default:
		break;
	}
#endif
	return MEMPHYS_MEMTYPE_UNKNOWN;
}

/*
 * A kernel address for read()/write() of [pos, pos + len) of the region,
 * always of the region's own type: the persistent mapping where one holds
 * the type, else a window of the same type (a WB window would conflict).
 */
void *memphys_io_map(struct memphys_region *r, u64 pos, size_t len)
{
	phys_addr_t phys = r->base + pos;

	if (r->kaddr)
		return r->kaddr + pos;
#ifdef CONFIG_HIGHMEM
	/* One page (len fits in it): see the comment at the top. */
	return __kmap_local_pfn_prot(PHYS_PFN(phys),
				     memphys_region_pgprot(r, kmap_prot)) +
	       offset_in_page(phys);
#else
	return memremap(phys, len, r->caching == MEMPHYS_CACHE_WB ?
				   MEMREMAP_WB : MEMREMAP_WC);
#endif
}

void memphys_io_unmap(struct memphys_region *r, void *kaddr)
{
	if (r->kaddr)
		return;
#ifdef CONFIG_HIGHMEM
	kunmap_local(kaddr);
#else
	memunmap(kaddr);
#endif
}
