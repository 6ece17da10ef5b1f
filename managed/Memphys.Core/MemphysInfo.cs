namespace Memphys;

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
/// <remarks>
/// Immutable: safe to share between threads. Sizes are <see cref="long"/> bytes, as everywhere in this library;
/// physical addresses and frame numbers are <see cref="ulong"/>.
/// </remarks>
public sealed record MemphysInfo(
    uint Version,
    uint Index,
    long PageSize,
    ulong PhysicalBase,
    long RegionSize,
    IReadOnlyList<MappingMethod> SupportedMethods,
    IReadOnlyList<CachingMode> SupportedCaching,
    FaultSizes FaultSizes,
    MappingMethod Method,
    CachingMode Caching,
    long MaxFaultSize,
    uint FaultAround)
{
    /// <summary>0 when the region has the pages method, else why not (an errno: ENODATA when it was loaded without
    /// <c>:pages</c>, EOPNOTSUPP without ZONE_DEVICE, EINVAL when not 2 MiB aligned, or memremap_pages()'s error).</summary>
    public int PagesErrno { get; init; }

    /// <summary>Physical frame number of the region's first page.</summary>
    public ulong BasePfn => PhysicalBase / (ulong)PageSize;

    /// <summary>Last physical address of the region (inclusive), as in <c>/proc/iomem</c>.</summary>
    public ulong PhysicalEnd => PhysicalBase + (ulong)RegionSize - 1;
}
