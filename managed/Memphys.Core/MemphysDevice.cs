using System.Text.RegularExpressions;
using Memphys.Native;

namespace Memphys;

/// <summary>
/// An open <c>/dev/memphysN</c> device. Method, caching, max fault size and fault-around are per open file and
/// apply to later <see cref="Map"/> calls; statistics are per region.
/// </summary>
/// <remarks>
/// Thread safety: every method may be called from any thread, and each call is one system call that the kernel
/// serialises. The settings (<see cref="SetMethod"/>, <see cref="SetCaching"/>, <see cref="SetMaxFaultSize"/>,
/// <see cref="SetFaultAround"/>) are per handle, not per thread or per mapping: a <see cref="Map"/> takes the values
/// the handle has at that moment, so two threads that want different settings each open their own
/// <see cref="MemphysDevice"/> (a mapping keeps the settings it was made with). <see cref="Dispose"/> must not race
/// other calls on the same instance.
/// </remarks>
public sealed unsafe partial class MemphysDevice : IDisposable
{
    /// <summary>Default device path.</summary>
    public const string DefaultPath = "/dev/memphys0";

    private readonly SafeFileHandle _fd;
    private MemphysInfo? _info;

    private MemphysDevice(string path, SafeFileHandle fd)
    {
        Path = path;
        _fd = fd;
    }

    /// <summary>The device path.</summary>
    public string Path { get; }

    /// <summary>
    /// The open file, as the standard handle: <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/> and
    /// <see cref="RandomAccess.Write(SafeFileHandle, ReadOnlySpan{byte}, long)"/> (pread/pwrite) work on it. It belongs
    /// to this device: disposing it closes the device (mappings stay valid until disposed).
    /// </summary>
    public SafeFileHandle Handle => _fd;

    /// <summary>The path of device <paramref name="index"/>: <c>/dev/memphysN</c>.</summary>
    public static string PathFor(int index) => $"/dev/memphys{index}";

    /// <summary>Existing <c>/dev/memphysN</c> nodes, ordered by N.</summary>
    public static IReadOnlyList<string> Enumerate(string directory = "/dev")
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        return Directory.EnumerateFiles(directory, "memphys*")
            .Select(p => (Path: p, Match: DeviceName().Match(System.IO.Path.GetFileName(p))))
            .Where(x => x.Match.Success)
            .OrderBy(x => int.Parse(x.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Select(x => x.Path)
            .ToList();
    }

    /// <summary>Opens a device read-write (or read-only) with O_CLOEXEC.</summary>
    /// <exception cref="MemphysException">open failed, e.g. ENOENT (no device), ENODEV or ENXIO.</exception>
    /// <exception cref="MemphysAccessException">EACCES or EPERM: not root, no CAP_SYS_RAWIO, or kernel lockdown.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public static MemphysDevice Open(string path = DefaultPath, bool readOnly = false)
    {
        Platform.ThrowIfUnsupported();
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fd = FileDescriptor.Open(path, readOnly ? Interop.Libc.O_RDONLY : Interop.Libc.O_RDWR);
        return new MemphysDevice(path, fd);
    }

    /// <summary>Reads the device and open-file information (MEMPHYS_IOC_GET_INFO).</summary>
    public MemphysInfo GetInfo()
    {
        MemphysInfoNative native = default;
        Ioctl(Uapi.IocGetInfo, &native, "ioctl GET_INFO");
        Uapi.CheckHeader(native.Size, native.Version, sizeof(MemphysInfoNative), "ioctl GET_INFO", Path);
        uint methods = native.Methods;
        uint cachingModes = native.CachingModes;
        var info = new MemphysInfo(
            native.Version,
            native.Index,
            native.PageSize,
            native.PhysBase,
            checked((long)native.RegionSize),
            Enum.GetValues<MappingMethod>().Where(m => (methods & (1u << (int)m)) != 0).ToList(),
            Enum.GetValues<CachingMode>().Where(c => (cachingModes & (1u << (int)c)) != 0).ToList(),
            (FaultSizes)native.FaultSizes,
            (MappingMethod)native.Method,
            (CachingMode)native.Caching,
            checked((long)native.MaxFaultSize),
            native.FaultAround)
        {
            PagesErrno = (int)native.PagesErrno,
        };
        _info = info;
        return info;
    }

    /// <summary>Selects how later mmap calls on this open file are served.</summary>
    /// <remarks>The pages method needs a region loaded with <c>:pages</c>; otherwise EOPNOTSUPP, with the reason.</remarks>
    public void SetMethod(MappingMethod method)
    {
        string operation = $"ioctl SET_METHOD {method.ToString().ToLowerInvariant()}";
        try
        {
            Set(Uapi.IocSetMethod, (ulong)method, operation);
        }
        catch (MemphysException e) when (e is IMemphysError { Errno: Interop.Errors.EOPNOTSUPP } && method == MappingMethod.Pages)
        {
            throw new MemphysException(Interop.Errors.EOPNOTSUPP, operation, Path, "refused: " + PagesUnavailableReason(GetInfo().PagesErrno));
        }
    }

    /// <summary>
    /// Entry sizes (bytes) a pages mapping of this region takes, from sysfs <c>pages</c> ("4K 2M 1G"; GET_INFO's
    /// fault sizes describe the fault method). Empty when the region has no pages method.
    /// </summary>
    public IReadOnlyList<long> PagesEntrySizes()
    {
        string attribute = $"/sys/class/misc/{System.IO.Path.GetFileName(Path)}/pages";
        string text = File.Exists(attribute) ? File.ReadAllText(attribute) : "";
        return [.. text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(word => word switch
        {
            "4K" => FaultSize.Pte,
            "2M" => FaultSize.Pmd,
            "1G" => FaultSize.Pud,
            _ => 0L,
        }).Where(size => size != 0)];
    }

    /// <summary>
    /// What described the region, from sysfs <c>source</c>: "regions=SIZE@BASE..." (the module parameter) or
    /// "devicetree NODE memory-region=BUFFER" (a memphys,region node); null from a module without it.
    /// </summary>
    public string? Source()
    {
        string attribute = $"/sys/class/misc/{System.IO.Path.GetFileName(Path)}/source";
        return File.Exists(attribute) ? File.ReadAllText(attribute).Trim() : null;
    }

    /// <summary>Why a region has no pages method, from <see cref="MemphysInfo.PagesErrno"/>.</summary>
    public static string PagesUnavailableReason(int pagesErrno) => pagesErrno switch
    {
        Interop.Errors.ENODATA => "the region has no struct pages: load memphys with regions=SIZE@BASE:pages for the pages method",
        Interop.Errors.EOPNOTSUPP => "this kernel has no ZONE_DEVICE memory (CONFIG_ZONE_DEVICE, 64-bit only), which the pages method needs",
        Interop.Errors.EINVAL => "the region's base and size are not multiples of 2 MiB, which memremap_pages() needs for the pages method " +
            "(or not of its folio= size, or the kernel cannot insert entries of that size: see the kernel log)",
        _ => $"memremap_pages() failed with {Interop.Errors.Name(pagesErrno)} when the module was loaded (see the kernel log)",
    };

    /// <summary>
    /// Asks for <paramref name="caching"/> on later mappings. A region has one memory type for the module's life
    /// (<c>regions=SIZE@BASE:wb|wc|uc</c>), so only that type is accepted; another fails with EBUSY and a message
    /// that names the region's type.
    /// </summary>
    public void SetCaching(CachingMode caching)
    {
        string operation = $"ioctl SET_CACHING {caching.ParameterName()}";
        try
        {
            Set(Uapi.IocSetCaching, (ulong)caching, operation);
        }
        catch (MemphysException e) when (e is IMemphysError { Errno: Interop.Errors.EBUSY })
        {
            CachingMode held = GetInfo().Caching;
            throw new MemphysException(Interop.Errors.EBUSY, operation, Path,
                $"refused: the region is {held.ParameterName()} ({held}) for as long as the module is loaded; " +
                $"every mapping of it gets that type (load memphys with regions=SIZE@BASE:{caching.ParameterName()} for {caching.ParameterName()})");
        }
    }

    /// <summary>Sets the largest fault size (bytes: 4 KiB, 2 MiB or 1 GiB) of later fault-method mappings.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    /// <exception cref="MemphysArgumentException">EINVAL: not a fault size this kernel can install.</exception>
    public void SetMaxFaultSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Set(Uapi.IocSetMaxFault, (ulong)bytes, $"ioctl SET_MAX_FAULT 0x{bytes:x}");
    }

    /// <summary>
    /// Sets the fault-around of later fault-method mappings (MEMPHYS_IOC_SET_FAULT_AROUND): how many 4 KiB pages one
    /// 4 KiB fault maps, the faulting page and its neighbours in the aligned window of that many pages, clipped to the
    /// mapping and the region. A power of two from 1 (off) to 512; anything else fails with EINVAL.
    /// </summary>
    public void SetFaultAround(uint pages)
    {
        string operation = $"ioctl SET_FAULT_AROUND {pages}";
        try
        {
            Set(Uapi.IocSetFaultAround, pages, operation);
        }
        catch (MemphysArgumentException e) when (e is IMemphysError { Errno: Interop.Errors.EINVAL })
        {
            throw new MemphysArgumentException(Interop.Errors.EINVAL, operation, Path,
                $"refused: the fault-around is a power of two from 1 (off) to {MaxFaultAround} pages");
        }
    }

    /// <summary>The largest fault-around <see cref="SetFaultAround"/> accepts (MEMPHYS_FAULT_AROUND_MAX pages).</summary>
    public const uint MaxFaultAround = Uapi.FaultAroundMax;

    /// <summary>Reads the region's counters (MEMPHYS_IOC_GET_STATS).</summary>
    public MemphysStats GetStats()
    {
        MemphysStatsNative native = default;
        Ioctl(Uapi.IocGetStats, &native, "ioctl GET_STATS");
        Uapi.CheckHeader(native.Size, native.Version, sizeof(MemphysStatsNative), "ioctl GET_STATS", Path);
        return new MemphysStats(native.MmapCalls, native.BytesRemapped, native.PteFaults, native.PmdFaults,
            native.PudFaults, native.FallbackFaults, native.Refused, native.Prefaulted);
    }

    /// <summary>
    /// Reads the page table entry behind <paramref name="address"/>, which must lie in a mapping of this
    /// device's region made by this process (MEMPHYS_IOC_QUERY_PAGE; EINVAL otherwise).
    /// </summary>
    public PageTableEntry QueryPage(nint address)
    {
        MemphysPageQueryNative query = new() { Address = (ulong)address };
        if (Interop.Libc.Ioctl(_fd, Uapi.IocQueryPage, &query) < 0)
        {
            // The operation text is formatted only on failure: a 1 GiB walk makes 262,144 queries.
            throw Interop.Errors.LastError($"ioctl QUERY_PAGE 0x{address:x}", Path);
        }

        return new PageTableEntry((query.Flags & Uapi.PagePresent) != 0, (query.Flags & Uapi.PageWrite) != 0, query.Pfn,
            (MemoryType)query.MemType, (long)query.EntrySize);
    }

    /// <summary>
    /// The page table entry of every page of <paramref name="mapping"/>, in order. The mapping stays mapped for
    /// the whole walk even if another thread disposes it meanwhile.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The mapping is disposed.</exception>
    public PageTableEntry[] QueryPages(MemphysMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        using MemphysMapping.Lease lease = mapping.Acquire();
        var entries = new PageTableEntry[mapping.PageCount];
        long pageSize = Environment.SystemPageSize;
        for (long i = 0; i < entries.Length; i++)
        {
            entries[i] = QueryPage(lease.Address + (nint)(i * pageSize));
        }

        return entries;
    }

    /// <summary>Zeroes the region's counters (MEMPHYS_IOC_RESET_STATS).</summary>
    public void ResetStats() => Ioctl(Uapi.IocResetStats, null, "ioctl RESET_STATS");

    /// <summary>
    /// Maps <paramref name="length"/> bytes of the region at <paramref name="offset"/> with the current method.
    /// </summary>
    /// <param name="offset">Byte offset in the region; page-aligned.</param>
    /// <param name="length">Length in bytes; 0 means "to the end of the region".</param>
    /// <param name="protection">Protection of the mapping.</param>
    /// <param name="isPrivate">MAP_PRIVATE (copy-on-write; refused with EINVAL by the fault method) instead of MAP_SHARED.</param>
    /// <param name="alignment">
    /// When non-zero (a power of two), the virtual address is chosen so that it is congruent to the
    /// physical address modulo <paramref name="alignment"/>, which lets 2 MiB / 1 GiB faults be installed.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/>, <paramref name="length"/> or <paramref name="alignment"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="alignment"/> is not a power of two.</exception>
    /// <exception cref="MemphysArgumentException">EINVAL: the range is past the region's end (the message names its size) or unaligned.</exception>
    /// <exception cref="MemphysException">mmap failed otherwise (ENOMEM, EAGAIN...).</exception>
    public MemphysMapping Map(long offset = 0, long length = 0, MapProtection protection = MapProtection.ReadWrite,
        bool isPrivate = false, long alignment = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(alignment);
        if (length == 0)
        {
            MemphysInfo info = _info ?? GetInfo();
            length = info.RegionSize - offset;
            if (length <= 0)
            {
                throw new MemphysArgumentException(Interop.Errors.EINVAL, $"mmap 0x{offset:x}+0", Path,
                    $"offset is past end of {FormatSize(info.RegionSize)} region");
            }
        }

        int flags = isPrivate ? Interop.Libc.MAP_PRIVATE : Interop.Libc.MAP_SHARED;
        string operation = $"mmap 0x{offset:x}+0x{length:x}";
        Exception OnError(int errno) => MemphysException.FromErrno(errno, operation, Path, DescribeMapError(errno, offset, length));

        if (alignment <= Environment.SystemPageSize)
        {
            SafeMappingHandle handle = SafeMappingHandle.Map(0, (nuint)length, (int)protection, flags, _fd, offset, OnError);
            return new MemphysMapping(handle, offset, isPrivate, protection, Path);
        }

        if (!long.IsPow2(alignment))
        {
            throw new ArgumentException("alignment must be a power of two", nameof(alignment));
        }

        return MapAligned(offset, length, protection, flags, alignment, isPrivate, OnError);
    }

    /// <summary>pread(2) from the region at <paramref name="offset"/>.</summary>
    /// <returns>Bytes read.</returns>
    public int Read(long offset, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return (int)Interop.Errors.ThrowIfNegative(Interop.Libc.PRead(_fd, p, (nuint)buffer.Length, offset), $"pread 0x{offset:x}+0x{buffer.Length:x}", Path);
        }
    }

    /// <summary>pwrite(2) to the region at <paramref name="offset"/>.</summary>
    /// <returns>Bytes written.</returns>
    public int Write(long offset, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            return (int)Interop.Errors.ThrowIfNegative(Interop.Libc.PWrite(_fd, p, (nuint)buffer.Length, offset), $"pwrite 0x{offset:x}+0x{buffer.Length:x}", Path);
        }
    }

    /// <summary>Closes the device. Existing mappings stay valid until disposed.</summary>
    public void Dispose() => _fd.Dispose();

    /// <summary>
    /// Formats a byte count for people: exact multiples as <c>1 GiB</c>, <c>2 MiB</c>, <c>4 KiB</c>; other counts of
    /// 1 KiB and more with one decimal (<c>1.5 MiB</c>); smaller ones in bytes (<c>100 B</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative.</exception>
    public static string FormatSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        (long unit, string name) = bytes switch
        {
            >= 1L << 40 => (1L << 40, "TiB"),
            >= 1L << 30 => (1L << 30, "GiB"),
            >= 1L << 20 => (1L << 20, "MiB"),
            >= 1L << 10 => (1L << 10, "KiB"),
            _ => (1L, "B"),
        };
        return bytes % unit == 0
            ? string.Create(invariant, $"{bytes / unit} {name}")
            : string.Create(invariant, $"{(double)bytes / unit:0.0} {name}");
    }

    /// <summary><see cref="FormatSize(long)"/> of a physical size (memory map ranges, bench page sizes).</summary>
    internal static string FormatSize(ulong bytes) => FormatSize(checked((long)bytes));

    private string? DescribeMapError(int errno, long offset, long length)
    {
        if (errno != Interop.Errors.EINVAL)
        {
            return null;
        }

        MemphysInfo? info = _info;
        if (info is null)
        {
            try
            {
                info = GetInfo();
            }
            catch (Exception e) when (e is IMemphysError)
            {
                return null;
            }
        }

        if (offset > info.RegionSize - length)
        {
            return $"past end of {FormatSize(info.RegionSize)} region";
        }

        if (offset % info.PageSize != 0)
        {
            return $"offset not aligned to {info.PageSize}-byte pages";
        }

        return null;
    }

    private MemphysMapping MapAligned(long offset, long length, MapProtection protection, int flags, long alignment,
        bool isPrivate, Func<int, Exception> onError)
    {
        MemphysInfo info = _info ?? GetInfo();
        SafeMappingHandle handle = AlignedMapping.Map(length, (int)protection, flags, _fd, offset, (ulong)alignment,
            info.PhysicalBase + (ulong)offset, onError, Path);
        return new MemphysMapping(handle, offset, isPrivate, protection, Path);
    }

    private void Set(uint request, ulong value, string operation)
    {
        MemphysSettingNative setting = new() { Value = value, Reserved = 0 };
        Ioctl(request, &setting, operation);
    }

    private void Ioctl(uint request, void* argument, string operation) =>
        Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, request, argument), operation, Path);

    [GeneratedRegex(@"^memphys(\d+)$")]
    private static partial Regex DeviceName();
}
