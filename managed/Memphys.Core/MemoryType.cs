namespace Memphys;

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
