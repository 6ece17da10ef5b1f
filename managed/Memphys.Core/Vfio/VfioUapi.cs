using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary>
/// C# mirror of the parts of <c>include/uapi/linux/vfio.h</c> that the VFIO layer uses. Every request number, flag,
/// struct size and field offset is checked against the system's and the guest kernels' headers by
/// <c>VfioUapiLayoutTests</c>. All VFIO requests are <c>_IO(';', 100 + n)</c>: the argument's size and direction are not
/// encoded, each struct's <c>argsz</c> says how much of it the caller gives.
/// </summary>
internal static class VfioUapi
{
    internal const int ApiVersion = 0;

    internal const uint Type1Iommu = 1;
    internal const uint Type1v2Iommu = 3;

    private const uint Type = ';';
    private const uint Base = 100;

    internal static readonly uint GetApiVersion = Uapi.Io(Type, Base + 0);
    internal static readonly uint CheckExtension = Uapi.Io(Type, Base + 1);
    internal static readonly uint SetIommu = Uapi.Io(Type, Base + 2);
    internal static readonly uint GroupGetStatus = Uapi.Io(Type, Base + 3);
    internal static readonly uint GroupSetContainer = Uapi.Io(Type, Base + 4);
    internal static readonly uint GroupUnsetContainer = Uapi.Io(Type, Base + 5);
    internal static readonly uint GroupGetDeviceFd = Uapi.Io(Type, Base + 6);
    internal static readonly uint DeviceGetInfo = Uapi.Io(Type, Base + 7);
    internal static readonly uint DeviceGetRegionInfo = Uapi.Io(Type, Base + 8);
    internal static readonly uint DeviceReset = Uapi.Io(Type, Base + 11);
    internal static readonly uint IommuMapDma = Uapi.Io(Type, Base + 13);
    internal static readonly uint IommuUnmapDma = Uapi.Io(Type, Base + 14);

    internal const uint GroupFlagsViable = 1u << 0;
    internal const uint GroupFlagsContainerSet = 1u << 1;

    internal const uint DeviceFlagsReset = 1u << 0;
    internal const uint DeviceFlagsPci = 1u << 1;

    internal const uint RegionInfoFlagRead = 1u << 0;
    internal const uint RegionInfoFlagWrite = 1u << 1;
    internal const uint RegionInfoFlagMmap = 1u << 2;

    internal const uint DmaMapFlagRead = 1u << 0;
    internal const uint DmaMapFlagWrite = 1u << 1;

    /// <summary><c>VFIO_PCI_BAR0_REGION_INDEX</c>; BAR n is region n.</summary>
    internal const uint PciBar0RegionIndex = 0;

    /// <summary><c>VFIO_PCI_CONFIG_REGION_INDEX</c>: the device's configuration space.</summary>
    internal const uint PciConfigRegionIndex = 7;
}

/// <summary><c>struct vfio_group_status</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioGroupStatusNative
{
    public uint ArgSz;
    public uint Flags;
}

/// <summary>
/// <c>struct vfio_device_info</c> as of Linux 6.12 (with <c>pad</c>; 6.1 ends at <c>cap_offset</c>). The kernel reads
/// <c>argsz</c> and fills what both sides know, so the longer struct works on every kernel.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDeviceInfoNative
{
    public uint ArgSz;
    public uint Flags;
    public uint NumRegions;
    public uint NumIrqs;
    public uint CapOffset;
    public uint Pad;
}

/// <summary><c>struct vfio_region_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioRegionInfoNative
{
    public uint ArgSz;
    public uint Flags;
    public uint Index;
    public uint CapOffset;
    public ulong Size;
    public ulong Offset;
}

/// <summary><c>struct vfio_iommu_type1_dma_map</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDmaMapNative
{
    public uint ArgSz;
    public uint Flags;
    public ulong Vaddr;
    public ulong Iova;
    public ulong Size;
}

/// <summary><c>struct vfio_iommu_type1_dma_unmap</c> without its trailing flexible <c>data[]</c> (dirty bitmaps only).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDmaUnmapNative
{
    public uint ArgSz;
    public uint Flags;
    public ulong Iova;
    public ulong Size;
}
