namespace Memphys.Vfio;

/// <summary>The flags of <c>VFIO_DEVICE_GET_REGION_INFO</c> that this layer reads.</summary>
[Flags]
internal enum VfioRegionFlags : uint
{
    /// <summary>No flag: the region is absent (an unimplemented BAR).</summary>
    None = 0,

    /// <summary>read(2)/pread(2) on the device descriptor reach the region.</summary>
    Read = 1u << 0,

    /// <summary>write(2)/pwrite(2) on the device descriptor reach the region.</summary>
    Write = 1u << 1,

    /// <summary>The region can be mmap(2)ed from the device descriptor.</summary>
    Mmap = 1u << 2,
}
