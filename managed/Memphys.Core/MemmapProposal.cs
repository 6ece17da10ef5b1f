namespace Memphys;

/// <summary>A range of RAM proposed for <c>memmap=SIZE$BASE</c>.</summary>
/// <param name="Range">The proposed range.</param>
/// <param name="Alignment">Alignment of its base.</param>
/// <param name="Within">The free RAM range it was taken from.</param>
/// <param name="RamUsable">RAM the running kernel manages now (firmware RAM minus reservations).</param>
internal sealed record MemmapProposal(PhysicalRange Range, ulong Alignment, PhysicalRange Within, ulong RamUsable)
{
    /// <summary>RAM left to Linux once the proposed range is reserved too.</summary>
    public ulong RamLeft => RamUsable - Range.Size;

    /// <summary>The kernel parameter, e.g. <c>memmap=1G$0x140000000</c>.</summary>
    public string KernelParameter => $"memmap={PhysicalMemoryMap.FormatMemparse(Range.Size)}$0x{Range.Start:x}";

    /// <summary>The parameter as written inside a double-quoted value in /etc/default/grub: <c>$</c> becomes <c>\\\$</c>.</summary>
    public string GrubParameter => KernelParameter.Replace("$", @"\\\$", StringComparison.Ordinal);

    /// <summary>The memphys module parameter value, e.g. <c>1G@0x140000000</c>.</summary>
    public string Regions => $"{PhysicalMemoryMap.FormatMemparse(Range.Size)}@0x{Range.Start:x}";
}
