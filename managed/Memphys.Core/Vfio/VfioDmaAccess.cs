namespace Memphys.Vfio;

/// <summary>What a device may do at an IOVA (<c>VFIO_DMA_MAP_FLAG_READ</c> / <c>_WRITE</c>).</summary>
[Flags]
internal enum VfioDmaAccess : uint
{
    /// <summary>The device may read the memory (memory to device).</summary>
    DeviceReads = 1u << 0,

    /// <summary>The device may write the memory (device to memory).</summary>
    DeviceWrites = 1u << 1,

    /// <summary>Both directions.</summary>
    ReadWrite = DeviceReads | DeviceWrites,
}
