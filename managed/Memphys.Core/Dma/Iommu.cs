namespace Memphys.Dma;

/// <summary>
/// Whether DMA goes through an IOMMU here, which decides the bus address a device must be given for the region:
/// without one, on x86, a device reaches RAM at its physical address; with one, at the I/O virtual address (IOVA)
/// that the device's domain maps it at (for a program, the IOVA it maps through VFIO, VFIO_IOMMU_MAP_DMA).
/// </summary>
internal static class Iommu
{
    /// <summary>Where the kernel lists the IOMMU units its IOMMU driver runs (dmar0, dmar1... on Intel).</summary>
    public const string ClassDirectory = "/sys/class/iommu";

    /// <summary>
    /// The IOMMU units the kernel runs, by name; empty when no IOMMU translates DMA (none in the machine, or one
    /// left off, as Debian's kernels leave Intel's unless booted with <c>intel_iommu=on</c>).
    /// </summary>
    public static IReadOnlyList<string> ActiveUnits(string classDirectory = ClassDirectory) =>
        Directory.Exists(classDirectory)
            ? [.. Directory.EnumerateFileSystemEntries(classDirectory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
}
