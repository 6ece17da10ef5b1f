namespace Memphys;

/// <summary>Region counters from <c>MEMPHYS_IOC_GET_STATS</c>, since load or the last reset.</summary>
/// <param name="MmapCalls">mmap() calls accepted.</param>
/// <param name="BytesRemapped">Bytes mapped eagerly by the remap method.</param>
/// <param name="PteFaults">4 KiB PFNs inserted by the fault handler.</param>
/// <param name="PmdFaults">2 MiB mappings inserted.</param>
/// <param name="PudFaults">1 GiB mappings inserted.</param>
/// <param name="FallbackFaults">Huge faults answered with VM_FAULT_FALLBACK.</param>
/// <param name="Refused">mmap() and fault requests refused.</param>
/// <param name="Prefaulted">4 KiB PFNs inserted around a fault (fault-around), not counted in <paramref name="PteFaults"/>.</param>
/// <remarks>An immutable snapshot: safe to share between threads.</remarks>
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
