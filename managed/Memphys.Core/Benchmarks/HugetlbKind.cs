using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>hugetlbfs pages of one size through MAP_HUGETLB (needs free pages in the pool: nr_hugepages).</summary>
internal sealed class HugetlbKind(string name, ulong pageSize) : BenchKind(name, "hugetlbfs", pageSize)
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
