namespace Memphys;

/// <summary>Byte sizes of the fault granularities.</summary>
/// <remarks>Constants only: thread-safe.</remarks>
public static class FaultSize
{
    /// <summary>4 KiB.</summary>
    public const long Pte = 0x1000;

    /// <summary>2 MiB.</summary>
    public const long Pmd = 0x200000;

    /// <summary>1 GiB.</summary>
    public const long Pud = 0x40000000;

    /// <summary>The byte sizes contained in <paramref name="sizes"/>, smallest first.</summary>
    public static IReadOnlyList<long> ToBytes(FaultSizes sizes)
    {
        var list = new List<long>(3);
        if (sizes.HasFlag(FaultSizes.Pte4K))
        {
            list.Add(Pte);
        }

        if (sizes.HasFlag(FaultSizes.Pmd2M))
        {
            list.Add(Pmd);
        }

        if (sizes.HasFlag(FaultSizes.Pud1G))
        {
            list.Add(Pud);
        }

        return list;
    }
}
