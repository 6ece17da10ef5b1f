namespace Memphys;

/// <summary>A physical address range with an inclusive end, as <c>/proc/iomem</c> and <c>/sys/firmware/memmap</c> print it.</summary>
/// <param name="Start">First byte.</param>
/// <param name="End">Last byte (inclusive).</param>
internal readonly record struct PhysicalRange(ulong Start, ulong End)
{
    /// <summary>Length in bytes.</summary>
    public ulong Size => End - Start + 1;

    /// <summary>The range of <paramref name="size"/> bytes starting at <paramref name="start"/>.</summary>
    public static PhysicalRange FromSize(ulong start, ulong size) => new(start, start + size - 1);

    /// <summary>True when <paramref name="other"/> lies entirely inside this range.</summary>
    public bool Contains(PhysicalRange other) => other.Start >= Start && other.End <= End;

    /// <summary>True when the two ranges share at least one byte.</summary>
    public bool Overlaps(PhysicalRange other) => other.Start <= End && other.End >= Start;

    /// <inheritdoc/>
    public override string ToString() => $"0x{Start:x}-0x{End:x}";
}
