using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>What every benchmark kind is given: the memphys device and range, and the peers' devices.</summary>
/// <param name="DevicePath">The memphys device node.</param>
/// <param name="Offset">Byte offset of the measured range in the memphys region.</param>
/// <param name="Length">Bytes mapped and first-touched per repetition.</param>
/// <param name="DevMemBase">Physical address for the /dev/mem kind; null: the memphys region's base + <paramref name="Offset"/>.</param>
/// <param name="DaxPaths">device-dax nodes (/dev/daxX.Y) to pick the 2 MiB / 1 GiB aligned kinds from.</param>
public sealed record BenchSettings(string DevicePath, long Offset, long Length, ulong? DevMemBase, IReadOnlyList<string> DaxPaths);

/// <summary>
/// One way of mapping memory that the benchmark measures. <see cref="Prepare"/> returns why the kind cannot run
/// here (it is then reported as unsupported, never left out); <see cref="Map"/> creates a fresh mapping of the range.
/// </summary>
public abstract class BenchKind(string name, string group, ulong pageSize) : IDisposable
{
    /// <summary>Name in tables and JSON (e.g. <c>fault-2m</c>).</summary>
    public string Name { get; } = name;

    /// <summary>Family: memphys, anonymous, hugetlbfs, devmem or devdax.</summary>
    public string Group { get; } = group;

    /// <summary>Largest page (or fault) size the kind can use.</summary>
    public ulong PageSize { get; } = pageSize;

    /// <summary>The fault method at 4 KiB with the fault-around the driver gives new files (module parameter fault_around).</summary>
    public const string FaultAround = "fault-4k-around";

    /// <summary>Every kind, in table order. A new kind is one entry here.</summary>
    public static IReadOnlyList<BenchKind> Catalog() =>
    [
        new MemphysKind("remap", MappingMethod.Remap, FaultSize.Pte),
        new MemphysKind("fault-4k", MappingMethod.Fault, FaultSize.Pte, d => d.SetFaultAround(1)),
        new MemphysKind(FaultAround, MappingMethod.Fault, FaultSize.Pte), // the driver's default fault-around
        new MemphysKind("fault-2m", MappingMethod.Fault, FaultSize.Pmd),
        new MemphysKind("fault-1g", MappingMethod.Fault, FaultSize.Pud),
        new MemphysKind("pages-4k", MappingMethod.Pages, FaultSize.Pte),
        new MemphysKind("pages-2m", MappingMethod.Pages, FaultSize.Pmd),
        new MemphysKind("pages-1g", MappingMethod.Pages, FaultSize.Pud),
        new AnonymousKind("anon-thp-off", Interop.Libc.MADV_NOHUGEPAGE, FaultSize.Pte),
        new AnonymousKind("anon-thp-on", Interop.Libc.MADV_HUGEPAGE, FaultSize.Pmd),
        new HugetlbKind("hugetlb-2m", FaultSize.Pmd),
        new DevMemKind("devmem"),
        new DaxKind("devdax-2m", FaultSize.Pmd),
        new DaxKind("devdax-1g", FaultSize.Pud),
    ];

    /// <summary>Opens what the kind needs; null when it can run, else the reason it cannot.</summary>
    public abstract string? Prepare(BenchSettings settings);

    /// <summary>A fresh mapping of <paramref name="length"/> bytes.</summary>
    public abstract MemphysMapping Map(long length);

    /// <summary>The driver's counters (memphys kinds), or null.</summary>
    public virtual MemphysStats? Counters() => null;

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what <see cref="Prepare"/> opened.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Wraps a raw mapping handle.</summary>
    private protected static MemphysMapping Wrap(SafeMappingHandle handle, string? path) =>
        new(handle, 0, isPrivate: path is null, MapProtection.ReadWrite, path);

    private protected static string Size(ulong bytes) => MemphysDevice.FormatSize(bytes);
}

/// <summary>memphys with one method (and for the fault method, one largest fault size); <paramref name="configure"/> applies further per-file settings.</summary>
public sealed class MemphysKind(string name, MappingMethod method, ulong maxFault, Action<MemphysDevice>? configure = null)
    : BenchKind(name, "memphys", maxFault)
{
    private MemphysDevice? _device;
    private long _offset;

    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        _device = MemphysDevice.Open(settings.DevicePath);
        _offset = settings.Offset;
        MemphysInfo info = _device.GetInfo();
        if (!info.SupportedMethods.Contains(method))
        {
            return $"the driver does not offer the {method.ToString().ToLowerInvariant()} method";
        }

        if (method == MappingMethod.Pages && info.PagesErrno != 0)
        {
            return MemphysDevice.PagesUnavailableReason(info.PagesErrno);
        }

        _device.SetMethod(method);
        if (method != MappingMethod.Remap && info.FaultSizes != FaultSizes.None)
        {
            IReadOnlyList<ulong> sizes = method == MappingMethod.Pages ? _device.PagesEntrySizes() : FaultSize.ToBytes(info.FaultSizes);
            if (!sizes.Contains(PageSize))
            {
                return $"this kernel/CPU cannot install {Size(PageSize)} {(method == MappingMethod.Pages ? "page" : "PFN")} faults " +
                    "(sizes: " + string.Join(", ", sizes.Select(Size)) + ")";
            }

            _device.SetMaxFaultSize(PageSize);
        }

        configure?.Invoke(_device);
        return null;
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length) =>
        _device!.Map(_offset, length, alignment: method == MappingMethod.Remap ? 0 : PageSize);

    /// <inheritdoc/>
    public override MemphysStats? Counters() => _device?.GetStats();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => _device?.Dispose();
}

/// <summary>Private anonymous memory with THP forbidden or requested by madvise, 2 MiB-aligned.</summary>
public sealed class AnonymousKind(string name, int advice, ulong pageSize) : BenchKind(name, "anonymous", pageSize)
{
    /// <summary>Memory left to the system while the range is populated.</summary>
    private const ulong Headroom = 256UL << 20;

    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        long available = SystemMemory.Read("MemAvailable") ?? long.MaxValue;
        if ((ulong)available < (ulong)settings.Length + Headroom)
        {
            return $"{Size((ulong)available)} of memory available, {Size((ulong)settings.Length)} measured (+{Size(Headroom)} headroom)";
        }

        string? thp = SystemMemory.TransparentHugePages;
        if (advice == Interop.Libc.MADV_HUGEPAGE && thp is null or "never")
        {
            return thp is null ? "the kernel has no transparent huge pages" : "THP is disabled system-wide (transparent_hugepage/enabled = never)";
        }

        return null;
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length)
    {
        SafeMappingHandle handle = AlignedMapping.Map(length, (int)MapProtection.ReadWrite,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS, null, 0, FaultSize.Pmd, 0, null, null);
        MemphysMapping map = Wrap(handle, null);
        map.Advise(advice);
        return map;
    }
}

/// <summary>hugetlbfs pages of one size through MAP_HUGETLB (needs free pages in the pool: nr_hugepages).</summary>
public sealed class HugetlbKind(string name, ulong pageSize) : BenchKind(name, "hugetlbfs", pageSize)
{
    private const int MapHugetlb = 0x40000;
    private const int MapHugeShift = 26;

    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        string pool = $"/sys/kernel/mm/hugepages/hugepages-{PageSize >> 10}kB";
        if (!Directory.Exists(pool))
        {
            return $"the kernel has no {Size(PageSize)} hugetlb pages ({pool} is missing)";
        }

        long free = long.Parse(File.ReadAllText(Path.Combine(pool, "free_hugepages")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        long need = (settings.Length + (long)PageSize - 1) / (long)PageSize;
        return free >= need ? null
            : $"{free} free {Size(PageSize)} huge pages, {need} needed (reserve them: echo {need} > {pool}/nr_hugepages)";
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length)
    {
        int flags = Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | MapHugetlb | (System.Numerics.BitOperations.Log2(PageSize) << MapHugeShift);
        return Wrap(SafeMappingHandle.Map(0, (nuint)length, (int)MapProtection.ReadWrite, flags, null, 0), null);
    }
}

/// <summary>A shared file mapping at a file offset: /dev/mem and device-dax.</summary>
public abstract class FileKind(string name, string group, ulong pageSize) : BenchKind(name, group, pageSize)
{
    private SafeFileDescriptor? _fd;

    /// <summary>The node opened by <see cref="Open"/>.</summary>
    protected string? FilePath { get; private set; }

    /// <summary>The file offset mapped.</summary>
    protected long FileOffset { get; set; }

    /// <summary>Opens <paramref name="path"/> read-write.</summary>
    protected void Open(string path)
    {
        FilePath = path;
        _fd = SafeFileDescriptor.Open(path, Interop.Libc.O_RDWR);
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length) =>
        Wrap(AlignedMapping.Map(length, (int)MapProtection.ReadWrite, Interop.Libc.MAP_SHARED, _fd, FileOffset, PageSize,
            (ulong)FileOffset, null, FilePath), FilePath);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => _fd?.Dispose();
}

/// <summary>/dev/mem over the memphys range (only while no driver has claimed it).</summary>
public sealed class DevMemKind(string name) : FileKind(name, "devmem", FaultSize.Pte)
{
    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        ulong? physical = settings.DevMemBase;
        if (physical is null && File.Exists(settings.DevicePath))
        {
            using MemphysDevice dev = MemphysDevice.Open(settings.DevicePath, readOnly: true);
            physical = dev.GetInfo().PhysicalBase + (ulong)settings.Offset;
        }

        if (physical is null)
        {
            return "no physical address: give --devmem-base (the memphys device is not there to tell)";
        }

        FileOffset = (long)physical.Value;
        try
        {
            Open("/dev/mem");
            using MemphysMapping probe = Map(Environment.SystemPageSize);
            return null;
        }
        catch (MemphysException ex) when (ex.Errno == Interop.Errors.EPERM)
        {
            return $"{ex.Message}: the range is claimed by a driver (memphys loaded?) or STRICT_DEVMEM forbids it";
        }
    }
}

/// <summary>A device-dax node (/dev/daxX.Y) whose alignment is the kind's page size, from <see cref="BenchSettings.DaxPaths"/>.</summary>
public sealed class DaxKind(string name, ulong align) : FileKind(name, "devdax", align)
{
    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        foreach (string path in settings.DaxPaths)
        {
            string sys = $"/sys/bus/dax/devices/{Path.GetFileName(path)}";
            if (!File.Exists($"{sys}/align") || ReadNumber($"{sys}/align") != PageSize)
            {
                continue;
            }

            ulong size = ReadNumber($"{sys}/size");
            if (size < (ulong)settings.Length)
            {
                return $"{path} has {Size(size)}, less than the {Size((ulong)settings.Length)} measured";
            }

            Open(path);
            return null;
        }

        return $"no device-dax node with {Size(PageSize)} alignment given (--dax /dev/daxX.Y)";
    }

    private static ulong ReadNumber(string file)
    {
        string text = File.ReadAllText(file).Trim();
        return text.StartsWith("0x", StringComparison.Ordinal)
            ? ulong.Parse(text[2..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)
            : ulong.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}
