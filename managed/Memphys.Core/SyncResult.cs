namespace Memphys;

/// <summary>What <see cref="MemphysDevice.Sync"/> did (<c>MEMPHYS_SYNC_RESULT_*</c>).</summary>
public enum SyncResult : uint
{
    /// <summary>The data cache lines of the range were maintained (a wb region of a non-coherent arm64 device).</summary>
    Performed = 1,

    /// <summary>Not needed: a wc or uc region is never cached.</summary>
    NotNeededUncached = 2,

    /// <summary>Not needed: the region's device-tree node is <c>dma-coherent</c>.</summary>
    NotNeededCoherentDevice = 3,

    /// <summary>Not needed: DMA snoops the CPU caches on this architecture (x86).</summary>
    NotNeededCoherentArchitecture = 4,
}
