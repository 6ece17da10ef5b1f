namespace Memphys;

/// <summary>How the driver serves an mmap of the device (<c>MEMPHYS_METHOD_*</c>).</summary>
public enum MappingMethod : uint
{
    /// <summary>Eager <c>remap_pfn_range</c> in mmap: fully resident after mmap, no faults.</summary>
    Remap = 0,

    /// <summary>Lazy: the fault handler inserts PFNs for touched pages; shared mappings only.</summary>
    Fault = 1,
}

/// <summary>
/// Caching of a region (<c>MEMPHYS_CACHE_*</c>): chosen when the module is loaded
/// (<c>regions=SIZE@BASE:wb|wc|uc</c>) and the same for every mapping of the region.
/// </summary>
public enum CachingMode : uint
{
    /// <summary>Write-back (the default).</summary>
    WriteBack = 0,

    /// <summary>Write-combining.</summary>
    WriteCombining = 1,

    /// <summary>Uncached.</summary>
    Uncached = 2,
}

/// <summary>
/// Memory type of one page table entry, decoded from its PAT/PCD/PWT bits (<c>MEMPHYS_MEMTYPE_*</c>).
/// A write-back region reads back <see cref="WriteBack"/>, a write-combining one
/// <see cref="WriteCombining"/>, an uncached one <see cref="UncachedMinus"/> (x86 <c>ioremap</c> and
/// <c>pgprot_noncached</c> use UC-).
/// </summary>
public enum MemoryType : uint
{
    /// <summary>WB: write-back.</summary>
    WriteBack = 0,

    /// <summary>WC: write-combining.</summary>
    WriteCombining = 1,

    /// <summary>UC: strongly uncached.</summary>
    Uncached = 2,

    /// <summary>UC-: uncached, an MTRR may turn it into WC.</summary>
    UncachedMinus = 3,

    /// <summary>WT: write-through.</summary>
    WriteThrough = 4,

    /// <summary>WP: write-protected.</summary>
    WriteProtected = 5,

    /// <summary>The driver does not decode memory types on this architecture.</summary>
    Unknown = 6,
}

/// <summary>Short names of the memory and caching types, as the kernel and the CLI print them.</summary>
public static class MemoryTypeNames
{
    /// <summary>WB, WC, UC, UC-, WT, WP or ?.</summary>
    public static string Short(this MemoryType type) => type switch
    {
        MemoryType.WriteBack => "WB",
        MemoryType.WriteCombining => "WC",
        MemoryType.Uncached => "UC",
        MemoryType.UncachedMinus => "UC-",
        MemoryType.WriteThrough => "WT",
        MemoryType.WriteProtected => "WP",
        _ => "?",
    };

    /// <summary>
    /// Whether an entry of this type is what a region of <paramref name="mode"/> must get: WB for wb, WC for wc,
    /// UC or UC- for uc; <see cref="MemoryType.Unknown"/> (not decoded on this architecture) always passes.
    /// </summary>
    public static bool Honours(this MemoryType type, CachingMode mode) => type == MemoryType.Unknown || mode switch
    {
        CachingMode.WriteBack => type == MemoryType.WriteBack,
        CachingMode.WriteCombining => type == MemoryType.WriteCombining,
        _ => type is MemoryType.Uncached or MemoryType.UncachedMinus,
    };

    /// <summary>wb, wc or uc: the name in <c>regions=SIZE@BASE:TYPE</c> and sysfs <c>caching</c>.</summary>
    public static string ParameterName(this CachingMode mode) => mode switch
    {
        CachingMode.WriteBack => "wb",
        CachingMode.WriteCombining => "wc",
        CachingMode.Uncached => "uc",
        _ => mode.ToString(),
    };
}

/// <summary>Fault sizes the kernel can install (<c>MEMPHYS_FAULT_*</c>).</summary>
[Flags]
public enum FaultSizes : uint
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>4 KiB page-table entries.</summary>
    Pte4K = 1u << 0,

    /// <summary>2 MiB PMD mappings.</summary>
    Pmd2M = 1u << 1,

    /// <summary>1 GiB PUD mappings.</summary>
    Pud1G = 1u << 2,
}

/// <summary>Protection of a mapping.</summary>
[Flags]
public enum MapProtection
{
    /// <summary>No access.</summary>
    None = 0,

    /// <summary>Readable.</summary>
    Read = 1,

    /// <summary>Writable.</summary>
    Write = 2,

    /// <summary>Readable and writable.</summary>
    ReadWrite = Read | Write,
}

/// <summary>Byte sizes of the fault granularities.</summary>
public static class FaultSize
{
    /// <summary>4 KiB.</summary>
    public const ulong Pte = 0x1000;

    /// <summary>2 MiB.</summary>
    public const ulong Pmd = 0x200000;

    /// <summary>1 GiB.</summary>
    public const ulong Pud = 0x40000000;

    /// <summary>The byte sizes contained in <paramref name="sizes"/>, smallest first.</summary>
    public static IReadOnlyList<ulong> ToBytes(FaultSizes sizes)
    {
        var list = new List<ulong>(3);
        if (sizes.HasFlag(FaultSizes.Pte4K))
        {
            list.Add(Pte);
        }

        if (sizes.HasFlag(FaultSizes.Pmd2M))
        {
            list.Add(Pmd);
        }

        if (sizes.HasFlag(FaultSizes.Pud1G))
        {
            list.Add(Pud);
        }

        return list;
    }
}

/// <summary>What <c>MEMPHYS_IOC_GET_INFO</c> reports about a device and the open file.</summary>
/// <param name="Version">UAPI version of the driver.</param>
/// <param name="Index">N of <c>/dev/memphysN</c>.</param>
/// <param name="PageSize">Kernel page size in bytes.</param>
/// <param name="PhysicalBase">Physical address of the region.</param>
/// <param name="RegionSize">Size of the region in bytes.</param>
/// <param name="SupportedMethods">Mapping methods the driver supports.</param>
/// <param name="SupportedCaching">Caching modes the driver supports.</param>
/// <param name="FaultSizes">Fault sizes this kernel can install.</param>
/// <param name="Method">This file's current mapping method.</param>
/// <param name="Caching">This file's current caching mode.</param>
/// <param name="MaxFaultSize">This file's largest fault, in bytes.</param>
/// <param name="FaultAround">This file's fault-around: pages one 4 KiB fault maps, the faulting one included (1 = off).</param>
public sealed record MemphysInfo(
    uint Version,
    uint Index,
    uint PageSize,
    ulong PhysicalBase,
    ulong RegionSize,
    IReadOnlyList<MappingMethod> SupportedMethods,
    IReadOnlyList<CachingMode> SupportedCaching,
    FaultSizes FaultSizes,
    MappingMethod Method,
    CachingMode Caching,
    ulong MaxFaultSize,
    uint FaultAround)
{
    /// <summary>Physical frame number of the region's first page.</summary>
    public ulong BasePfn => PhysicalBase / PageSize;

    /// <summary>Last physical address of the region (inclusive), as in <c>/proc/iomem</c>.</summary>
    public ulong PhysicalEnd => PhysicalBase + RegionSize - 1;
}

/// <summary>Region counters from <c>MEMPHYS_IOC_GET_STATS</c>, since load or the last reset.</summary>
/// <param name="MmapCalls">mmap() calls accepted.</param>
/// <param name="BytesRemapped">Bytes mapped eagerly by the remap method.</param>
/// <param name="PteFaults">4 KiB PFNs inserted by the fault handler.</param>
/// <param name="PmdFaults">2 MiB mappings inserted.</param>
/// <param name="PudFaults">1 GiB mappings inserted.</param>
/// <param name="FallbackFaults">Huge faults answered with VM_FAULT_FALLBACK.</param>
/// <param name="Refused">mmap() and fault requests refused.</param>
/// <param name="Prefaulted">4 KiB PFNs inserted around a fault (fault-around), not counted in <paramref name="PteFaults"/>.</param>
public readonly record struct MemphysStats(
    ulong MmapCalls,
    ulong BytesRemapped,
    ulong PteFaults,
    ulong PmdFaults,
    ulong PudFaults,
    ulong FallbackFaults,
    ulong Refused,
    ulong Prefaulted)
{
    /// <summary>All faults served (PTE + PMD + PUD).</summary>
    public ulong TotalFaults => PteFaults + PmdFaults + PudFaults;

    /// <summary>Counter-wise difference <c>this - earlier</c>.</summary>
    public MemphysStats Since(MemphysStats earlier) => new(
        MmapCalls - earlier.MmapCalls,
        BytesRemapped - earlier.BytesRemapped,
        PteFaults - earlier.PteFaults,
        PmdFaults - earlier.PmdFaults,
        PudFaults - earlier.PudFaults,
        FallbackFaults - earlier.FallbackFaults,
        Refused - earlier.Refused,
        Prefaulted - earlier.Prefaulted);
}

/// <summary>One 64-bit entry of <c>/proc/PID/pagemap</c>.</summary>
/// <param name="Raw">The raw entry.</param>
public readonly record struct PagemapEntry(ulong Raw)
{
    private const ulong PfnMask = (1UL << 55) - 1;

    /// <summary>Bit 63: page present in RAM.</summary>
    public bool Present => (Raw & (1UL << 63)) != 0;

    /// <summary>Bit 62: page swapped.</summary>
    public bool Swapped => (Raw & (1UL << 62)) != 0;

    /// <summary>Bit 61: file page or shared anonymous page.</summary>
    public bool FileOrSharedAnonymous => (Raw & (1UL << 61)) != 0;

    /// <summary>Bit 56: page exclusively mapped.</summary>
    public bool ExclusivelyMapped => (Raw & (1UL << 56)) != 0;

    /// <summary>Bit 55: PTE soft-dirty.</summary>
    public bool SoftDirty => (Raw & (1UL << 55)) != 0;

    /// <summary>Bits 0–54: page frame number when present (zero without CAP_SYS_ADMIN).</summary>
    public ulong Pfn => Present ? Raw & PfnMask : 0;
}

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
public readonly record struct PageTableEntry(bool Present, bool Writable, ulong Pfn,
    MemoryType MemoryType = MemoryType.WriteBack, ulong EntrySize = 0);
