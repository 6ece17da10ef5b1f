namespace Memphys.Vfio;

/// <summary>The flags of <c>VFIO_DEVICE_GET_INFO</c> that this layer reads.</summary>
[Flags]
internal enum VfioDeviceFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>The device has a reset <c>VFIO_DEVICE_RESET</c> can use (FLR, a PM reset or a bus reset).</summary>
    Reset = 1u << 0,

    /// <summary>A vfio-pci device: regions 0-5 are BARs, region 7 the configuration space.</summary>
    Pci = 1u << 1,
}
