namespace Memphys.Benchmarks;

/// <summary>The figures measured per kind and repetition (names as in the JSON output).</summary>
internal static class Metric
{
    /// <summary>mmap() of the whole range, seconds.</summary>
    public const string Mmap = "mmapSeconds";

    /// <summary>First write of every 4 KiB page of a fresh mapping of the whole range, seconds.</summary>
    public const string Touch4K = "touch4kSeconds";

    /// <summary>First write of one byte every 2 MiB of a fresh mapping of the whole range, seconds.</summary>
    public const string Touch2M = "touch2mSeconds";

    /// <summary><see cref="Mmap"/> + <see cref="Touch4K"/> of the same mapping, seconds.</summary>
    public const string MmapTouch4K = "mmapTouch4kSeconds";

    /// <summary>Growth of PageTables (/proc/meminfo) from before mmap to after the 4 KiB first touch, bytes per GiB mapped.</summary>
    public const string PageTables = "pageTableBytesPerGiB";

    /// <summary>C# fill (Span.Fill) of the bandwidth window, MiB/s.</summary>
    public const string Write = "writeMiBs";

    /// <summary>C# read and verify (Span.IndexOfAnyExcept) of the window, MiB/s.</summary>
    public const string Read = "readMiBs";

    /// <summary>C# copy (Span.CopyTo) of the window's first half to its second half, MiB/s copied.</summary>
    public const string Copy = "copyMiBs";

    /// <summary>libc memset of the window, MiB/s.</summary>
    public const string MemSet = "memsetMiBs";

    /// <summary>libc memcpy of the window's first half to its second half, MiB/s copied.</summary>
    public const string MemCpy = "memcpyMiBs";

    /// <summary>Every metric, in table order.</summary>
    public static readonly IReadOnlyList<string> All = [Mmap, Touch4K, Touch2M, MmapTouch4K, PageTables, Write, Read, Copy, MemSet, MemCpy];

    /// <summary>True for time metrics (lower is better), false for bandwidth and sizes.</summary>
    public static bool IsTime(string metric) => metric.EndsWith("Seconds", StringComparison.Ordinal);

    /// <summary>True for bandwidth metrics (MiB/s).</summary>
    public static bool IsBandwidth(string metric) => metric.EndsWith("MiBs", StringComparison.Ordinal);

    /// <summary>A short label for tables and charts.</summary>
    public static string Label(string metric) => metric switch
    {
        Mmap => "mmap",
        Touch4K => "touch 4K",
        Touch2M => "touch 2M",
        MmapTouch4K => "mmap+touch",
        PageTables => "PT/GiB",
        Write => "write",
        Read => "read",
        Copy => "copy",
        MemSet => "memset",
        MemCpy => "memcpy",
        _ => metric,
    };
}
