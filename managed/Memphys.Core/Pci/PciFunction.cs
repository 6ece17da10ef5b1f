using System.Globalization;
using Memphys.Native;

namespace Memphys.Pci;

/// <summary>
/// A PCI function as Linux shows it in sysfs (<c>/sys/bus/pci/devices/DDDD:BB:DD.F</c>): its IDs, the driver and
/// IOMMU group it has, and what user space needs to drive it without a kernel driver: enabling it (the
/// <c>enable</c> file), letting it master the bus (the command register of the <c>config</c> file) and mapping a
/// memory BAR (the <c>resourceN</c> files). All of these need root.
/// </summary>
internal sealed class PciFunction
{
    /// <summary>Where the kernel lists every PCI function.</summary>
    public const string DevicesDirectory = "/sys/bus/pci/devices";

    /// <summary>Offset of the 16-bit command register in the configuration space.</summary>
    internal const int CommandRegister = 0x04;

    /// <summary>Command register bit 1: the function answers memory accesses to its BARs.</summary>
    internal const ushort CommandMemorySpace = 0x2;

    /// <summary>Command register bit 2: the function may initiate transactions (DMA).</summary>
    internal const ushort CommandBusMaster = 0x4;

    private PciFunction(string path, ushort vendorId, ushort deviceId)
    {
        SysfsPath = path;
        Address = Path.GetFileName(path);
        VendorId = vendorId;
        DeviceId = deviceId;
    }

    /// <summary>The function's address, e.g. <c>0000:00:01.0</c>.</summary>
    public string Address { get; }

    /// <summary>Its sysfs folder.</summary>
    public string SysfsPath { get; }

    /// <summary>The vendor ID (the <c>vendor</c> file).</summary>
    public ushort VendorId { get; }

    /// <summary>The device ID (the <c>device</c> file).</summary>
    public ushort DeviceId { get; }

    /// <summary>Name of the bound driver (e.g. <c>vfio-pci</c>), or null when none is bound.</summary>
    public string? Driver => LinkName("driver");

    /// <summary>Number of the IOMMU group, or null when no IOMMU translates for this function.</summary>
    public string? IommuGroup => LinkName("iommu_group");

    /// <summary>True when the kernel counts the function as enabled (the <c>enable</c> file reads non-zero).</summary>
    public bool IsEnabled => File.ReadAllText(Path.Combine(SysfsPath, "enable")).Trim() != "0";

    /// <summary>The function at <paramref name="address"/> (<c>DDDD:BB:DD.F</c>).</summary>
    /// <exception cref="MemphysException">ENOENT when this machine has no PCI function there.</exception>
    public static PciFunction At(string address, string directory = DevicesDirectory)
    {
        string path = Path.Combine(directory, address);
        if (!Directory.Exists(path))
        {
            throw new MemphysException(Interop.Errors.ENOENT, "open", path, "does not exist: no PCI device has this address");
        }

        return new PciFunction(path, TryReadId(path, "vendor") ?? 0, TryReadId(path, "device") ?? 0);
    }

    /// <summary>Every function with <paramref name="vendorId"/>:<paramref name="deviceId"/>, in address order.</summary>
    public static IReadOnlyList<PciFunction> Find(ushort vendorId, ushort deviceId, string directory = DevicesDirectory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var found = new List<PciFunction>();
        foreach (string path in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            if (TryReadId(path, "vendor") == vendorId && TryReadId(path, "device") == deviceId)
            {
                found.Add(new PciFunction(path, vendorId, deviceId));
            }
        }

        return found;
    }

    /// <summary>
    /// Enables the function (pci_enable_device: its BARs decode) unless it already is; a driver that owns the
    /// function enables it itself.
    /// </summary>
    /// <exception cref="IOException">The kernel refused (the message names the file).</exception>
    public void Enable()
    {
        if (!IsEnabled)
        {
            File.WriteAllText(Path.Combine(SysfsPath, "enable"), "1");
        }
    }

    /// <summary>The configuration space command register.</summary>
    /// <exception cref="MemphysException">The config file could not be read.</exception>
    public ushort ReadCommand()
    {
        using SafeFileHandle fd = FileDescriptor.Open(ConfigPath, Interop.Libc.O_RDONLY);
        return ReadCommand(fd);
    }

    /// <summary>
    /// Sets the Bus Master bit of the command register (and Memory Space, which <see cref="Enable"/> normally set
    /// already): without it the function's DMA never reaches memory. Returns the register as written.
    /// </summary>
    /// <exception cref="MemphysException">The config file could not be read or written.</exception>
    public ushort EnableBusMaster()
    {
        using SafeFileHandle fd = FileDescriptor.Open(ConfigPath, Interop.Libc.O_RDWR);
        ushort command = ReadCommand(fd);
        ushort wanted = (ushort)(command | CommandBusMaster | CommandMemorySpace);
        if (wanted != command)
        {
            WriteCommand(fd, wanted);
        }

        return wanted;
    }

    /// <summary>Length in bytes of BAR <paramref name="bar"/> (0 when the function has none there).</summary>
    public long ResourceLength(int bar)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bar);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bar, 5);
        string[] lines = File.ReadAllLines(Path.Combine(SysfsPath, "resource"));
        string[] fields = lines[bar].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        ulong start = ParseHex(fields[0]);
        ulong end = ParseHex(fields[1]);
        return end > start ? checked((long)(end - start + 1)) : 0;
    }

    /// <summary>Maps the whole memory BAR <paramref name="bar"/> through its sysfs <c>resourceN</c> file.</summary>
    /// <exception cref="MemphysException">open or mmap failed (EPERM under lockdown, ENOENT without that BAR).</exception>
    public MmioWindow MapResource(int bar)
    {
        long length = ResourceLength(bar);
        string path = Path.Combine(SysfsPath, $"resource{bar.ToString(CultureInfo.InvariantCulture)}");
        if (length == 0)
        {
            throw new MemphysException(Interop.Errors.ENXIO, "mmap", path, $"of BAR {bar}: {Address} has no such BAR");
        }

        return MmioWindow.Map(path, 0, length);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Address} [{VendorId:x4}:{DeviceId:x4}]";

    private string ConfigPath => Path.Combine(SysfsPath, "config");

    private unsafe ushort ReadCommand(SafeFileHandle fd)
    {
        ushort value;
        long n = Interop.Errors.ThrowIfNegative(Interop.Libc.PRead(fd, (byte*)&value, sizeof(ushort), CommandRegister),
            "pread command register", ConfigPath);
        if (n != sizeof(ushort))
        {
            throw new MemphysException(Interop.Errors.EIO, "pread command register", ConfigPath, $"returned {n} of 2 bytes");
        }

        return value;
    }

    private unsafe void WriteCommand(SafeFileHandle fd, ushort value)
    {
        long n = Interop.Errors.ThrowIfNegative(Interop.Libc.PWrite(fd, (byte*)&value, sizeof(ushort), CommandRegister),
            "pwrite command register", ConfigPath);
        if (n != sizeof(ushort))
        {
            throw new MemphysException(Interop.Errors.EIO, "pwrite command register", ConfigPath, $"wrote {n} of 2 bytes");
        }
    }

    private static ushort? TryReadId(string path, string file)
    {
        try
        {
            return (ushort)ParseHex(File.ReadAllText(Path.Combine(path, file)).Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static ulong ParseHex(string text) =>
        ulong.Parse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private string? LinkName(string link)
    {
        string path = Path.Combine(SysfsPath, link);
        if (!Path.Exists(path))
        {
            return null;
        }

        FileSystemInfo? target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: false);
        return target is null ? null : Path.GetFileName(target.FullName);
    }
}
