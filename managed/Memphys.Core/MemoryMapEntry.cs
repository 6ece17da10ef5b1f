namespace Memphys;

/// <summary>One line of a memory map: a range, its type or owner, and its nesting depth in <c>/proc/iomem</c> (0 = top level).</summary>
/// <param name="Range">The physical range.</param>
/// <param name="Type">"System RAM", "Reserved", a driver name, ...</param>
/// <param name="Depth">Indentation level in /proc/iomem (two spaces each); always 0 for the firmware map.</param>
internal sealed record MemoryMapEntry(PhysicalRange Range, string Type, int Depth);
