using System.Globalization;
using System.Text.RegularExpressions;
using Memphys.Native;
using Memphys.Pci;

namespace Memphys.Vfio;

/// <summary>
/// A PCI device bound to <c>vfio-pci</c>, opened with a container and group of its own: the usual sequence of
/// open container, open group, check it is viable, attach it, set the IOMMU model (type1v2, else type1), open the
/// device. Disposing closes the device, the group and the container, which drops every IOVA mapping of the container.
/// </summary>
internal sealed partial class VfioPciDevice : IDisposable
{
    /// <summary>The driver a device must be bound to.</summary>
    public const string VfioPciDriver = "vfio-pci";

    private VfioPciDevice(string address, VfioContainer container, VfioGroup group, VfioDevice device)
    {
        Address = address;
        Container = container;
        Group = group;
        Device = device;
    }

    /// <summary>The device's PCI address, <c>DDDD:BB:DD.F</c>.</summary>
    public string Address { get; }

    /// <summary>The device's own container, in which memory is given IOVAs.</summary>
    public VfioContainer Container { get; }

    /// <summary>The device's IOMMU group.</summary>
    public VfioGroup Group { get; }

    /// <summary>The device.</summary>
    public VfioDevice Device { get; }

    /// <summary>Whether <paramref name="address"/> is a full PCI address, <c>DDDD:BB:DD.F</c> in lower-case hex.</summary>
    public static bool IsPciAddress(string address) => PciAddress().IsMatch(address);

    /// <summary>The driver <paramref name="address"/> is bound to, or null when none is.</summary>
    /// <exception cref="MemphysException">ENOENT when there is no such PCI device.</exception>
    public static string? DriverOf(string address)
    {
        return PciFunction.At(address).Driver;
    }

    /// <summary>The IOMMU group of <paramref name="address"/>.</summary>
    /// <exception cref="MemphysException">ENOENT when there is no such device; ENODEV when it is in no IOMMU group (no IOMMU, or it is off).</exception>
    public static int IommuGroupOf(string address)
    {
        PciFunction function = PciFunction.At(address);
        string? group = function.IommuGroup;
        string dir = function.SysfsPath;
        if (group is null)
        {
            throw new MemphysException(Interop.Errors.ENODEV, "iommu_group", dir,
                "is in no IOMMU group: the machine has no IOMMU or it is off (intel_iommu=on / amd_iommu=on on the kernel command line)");
        }

        return int.Parse(group, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>Opens the PCI device at <paramref name="address"/>, which must be bound to <c>vfio-pci</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not a PCI address.</exception>
    /// <exception cref="MemphysException">
    /// ENOENT (no such device), ENODEV (not bound to vfio-pci, or in no IOMMU group), EBUSY (group not viable: another
    /// device of it is bound to a host driver; or in use by another process), or the errno of the step that failed.
    /// </exception>
    public static VfioPciDevice Open(string address)
    {
        Platform.ThrowIfUnsupported();
        if (!IsPciAddress(address))
        {
            throw new ArgumentException($"'{address}' is not a PCI address (DDDD:BB:DD.F, e.g. 0000:00:04.0)", nameof(address));
        }

        string? driver = DriverOf(address);
        if (driver != VfioPciDriver)
        {
            throw new MemphysException(Interop.Errors.ENODEV, "open", address,
                $"is bound to {driver ?? "no driver"}, not {VfioPciDriver} (bind it: echo {VfioPciDriver} > {PciFunction.DevicesDirectory}/{address}/driver_override; " +
                $"echo {address} > {PciFunction.DevicesDirectory}/{address}/driver/unbind; echo {address} > /sys/bus/pci/drivers_probe)");
        }

        int number = IommuGroupOf(address);
        VfioContainer? container = null;
        VfioGroup? group = null;
        try
        {
            container = VfioContainer.Open();
            group = VfioGroup.Open(number);
            if ((group.GetStatus() & VfioGroupFlags.Viable) == 0)
            {
                throw new MemphysException(Interop.Errors.EBUSY, "VFIO_GROUP_GET_STATUS", group.Path,
                    $"is not viable: every device of IOMMU group {number} must be bound to {VfioPciDriver} or to no driver");
            }

            group.SetContainer(container);
            container.SetIommu();
            VfioDevice device = group.OpenDevice(address);
            return new VfioPciDevice(address, container, group, device);
        }
        catch
        {
            group?.Dispose();
            container?.Dispose();
            throw;
        }
    }

    /// <summary>Closes the device, its group and its container.</summary>
    public void Dispose()
    {
        Device.Dispose();
        Group.Dispose();
        Container.Dispose();
    }

    [GeneratedRegex("^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$")]
    private static partial Regex PciAddress();
}
