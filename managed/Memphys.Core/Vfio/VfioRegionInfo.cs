namespace Memphys.Vfio;

/// <summary>What <c>VFIO_DEVICE_GET_REGION_INFO</c> reports about one region of a device.</summary>
/// <param name="Index">The region index (for vfio-pci, BAR n is region n).</param>
/// <param name="Flags">How the region can be reached; <see cref="VfioRegionFlags.None"/> when it is absent.</param>
/// <param name="Size">Size of the region in bytes.</param>
/// <param name="Offset">Where the region starts in the device descriptor's file offsets (for pread/pwrite/mmap).</param>
internal readonly record struct VfioRegionInfo(uint Index, VfioRegionFlags Flags, ulong Size, ulong Offset);
