namespace Memphys.Vfio;

/// <summary>What <c>VFIO_DEVICE_GET_INFO</c> reports about a device.</summary>
/// <param name="Flags">Kind of device and whether it can be reset.</param>
/// <param name="RegionCount">Number of region indexes (for vfio-pci: 6 BARs, ROM, config space, VGA, ...).</param>
/// <param name="IrqCount">Number of interrupt indexes.</param>
internal readonly record struct VfioDeviceInfo(VfioDeviceFlags Flags, uint RegionCount, uint IrqCount);
