using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>Private anonymous memory with THP forbidden or requested by madvise, 2 MiB-aligned.</summary>
internal sealed class AnonymousKind(string name, int advice, ulong pageSize) : BenchKind(name, "anonymous", pageSize)
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
