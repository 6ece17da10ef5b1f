using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>
/// One way of mapping memory that the benchmark measures. <see cref="Prepare"/> returns why the kind cannot run
/// here (it is then reported as unsupported, never left out); <see cref="Map"/> creates a fresh mapping of the range.
/// </summary>
internal abstract class BenchKind(string name, string group, ulong pageSize) : IDisposable
{
    /// <summary>Name in tables and JSON (e.g. <c>fault-2m</c>).</summary>
    public string Name { get; } = name;

    /// <summary>Family: memphys, anonymous, hugetlbfs, devmem or devdax.</summary>
    public string Group { get; } = group;

    /// <summary>Largest page (or fault) size the kind can use.</summary>
    public ulong PageSize { get; } = pageSize;

    /// <summary>The fault method at 4 KiB with the fault-around the driver gives new files (module parameter fault_around).</summary>
    public const string FaultAround = "fault-4k-around";

    /// <summary>The pages method at 4 KiB with the driver's default fault-around.</summary>
    public const string PagesAround = "pages-4k-around";

    /// <summary>Every kind, in table order. A new kind is one entry here.</summary>
    public static IReadOnlyList<BenchKind> Catalog() =>
    [
        new MemphysKind("remap", MappingMethod.Remap, FaultSize.Pte),
        new MemphysKind("fault-4k", MappingMethod.Fault, FaultSize.Pte, d => d.SetFaultAround(1)),
        new MemphysKind(FaultAround, MappingMethod.Fault, FaultSize.Pte), // the driver's default fault-around
        new MemphysKind("fault-2m", MappingMethod.Fault, FaultSize.Pmd),
        new MemphysKind("fault-1g", MappingMethod.Fault, FaultSize.Pud),
        new MemphysKind("pages-4k", MappingMethod.Pages, FaultSize.Pte, d => d.SetFaultAround(1)),
        new MemphysKind(PagesAround, MappingMethod.Pages, FaultSize.Pte), // the driver's default fault-around
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
