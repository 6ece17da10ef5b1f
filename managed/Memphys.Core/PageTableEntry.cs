namespace Memphys;

/// <summary>
/// The page table entry behind one virtual address of a memphys mapping, read back by the driver
/// (MEMPHYS_IOC_QUERY_PAGE). Unlike <c>/proc/self/pagemap</c> and mincore(2), which skip VM_PFNMAP
/// mappings, this sees what the MMU sees.
/// </summary>
/// <param name="Present">An entry maps the address.</param>
/// <param name="Writable">The entry allows writes.</param>
/// <param name="Pfn">Page frame number mapped there (0 when not present).</param>
/// <param name="MemoryType">Memory type the entry selects (meaningful when present).</param>
/// <param name="EntrySize">Bytes the entry maps: 4 KiB (PTE), 2 MiB (PMD) or 1 GiB (PUD); 0 when not present.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct PageTableEntry(bool Present, bool Writable, ulong Pfn,
    MemoryType MemoryType = MemoryType.WriteBack, long EntrySize = 0);
