namespace Memphys;

/// <summary>One 64-bit entry of <c>/proc/PID/pagemap</c>.</summary>
/// <param name="Raw">The raw entry.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
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
