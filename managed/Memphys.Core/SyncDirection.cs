namespace Memphys;

/// <summary>
/// Direction of a cache sync (<c>MEMPHYS_SYNC_*</c>, the values of the kernel's <c>enum dma_data_direction</c>):
/// which way the data moves between the CPU and a device whose DMA does not snoop the CPU caches.
/// </summary>
public enum SyncDirection : uint
{
    /// <summary>Both ways: the lines are cleaned and invalidated.</summary>
    Bidirectional = 0,

    /// <summary>The CPU wrote, the device reads next: the lines are cleaned to RAM.</summary>
    ToDevice = 1,

    /// <summary>
    /// The device writes (call before it starts, and again after it finished): the lines are cleaned and invalidated,
    /// never just invalidated, so CPU data sharing a line with the ends of the range is not lost.
    /// </summary>
    FromDevice = 2,
}
