using System.Globalization;
using System.Runtime.InteropServices;

namespace Memphys.Tests.Device;

/// <summary>
/// What differs between the guests' machines: x86-64 (q35, RAM reserved with memmap=, a firmware memory map) and
/// arm64 (virt, a device tree with a memphys,region node, RAM trimmed with mem=; tests/vm/arm64.sh). Inputs of the
/// tests are read from the running kernel (/proc/iomem, the device tree), never assumed.
/// </summary>
internal static class GuestPlatform
{
    private const string DeviceTreeRoot = "/sys/firmware/devicetree/base";

    public static bool IsArm64 => RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    /// <summary>Whether the device tree has a memphys,region node: memphys then finds a region without regions=.</summary>
    public static bool DeviceTreeHasRegion => DeviceTreeRegionNodes().Any();

    /// <summary>The device-tree nodes (their paths under <see cref="DeviceTreeRoot"/>) compatible with memphys,region.</summary>
    public static IEnumerable<string> DeviceTreeRegionNodes() =>
        Directory.Exists(DeviceTreeRoot)
            ? Directory.EnumerateFiles(DeviceTreeRoot, "compatible", SearchOption.AllDirectories)
                .Where(f => File.ReadAllText(f).Split('\0').Contains("memphys,region"))
                .Select(f => Path.GetDirectoryName(f)!)
            : [];

    /// <summary>
    /// Whether the kernel takes the device of <paramref name="node"/> (a path such as <c>/memphys</c>) as DMA-coherent:
    /// the node or a bus above it has <c>dma-coherent</c> (of_dma_is_coherent(); arm64's default is non-coherent).
    /// </summary>
    public static bool DeviceTreeDmaCoherent(string node)
    {
        for (string? dir = DeviceTreeRoot + node; dir is not null && dir.StartsWith(DeviceTreeRoot, StringComparison.Ordinal);
             dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "dma-coherent")))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The top-level ranges of /proc/iomem in order: start, end (inclusive), name.</summary>
    public static IReadOnlyList<(ulong Start, ulong End, string Name)> TopLevelIomem() =>
        File.Exists("/proc/iomem")
            ? File.ReadLines("/proc/iomem").Where(l => l.Length > 0 && l[0] != ' ').Select(ParseIomemLine).ToList()
            : [];

    /// <summary>
    /// A 16 MiB range of System RAM at a 16 MiB-aligned address of at least 16 MiB (0x1000000 on q35, the start of
    /// RAM on arm64's virt board), as a regions= entry; a fallback that the load refuses either way.
    /// </summary>
    public static string SystemRamRegion()
    {
        const ulong size = 16UL << 20;
        foreach ((ulong start, ulong end, string name) in TopLevelIomem())
        {
            ulong aligned = Math.Max(size, (start + size - 1) & ~(size - 1));
            if (name == "System RAM" && aligned + size - 1 <= end)
            {
                return $"16M@0x{aligned:x}";
            }
        }

        return "16M@0x1000000";
    }

    /// <summary>
    /// A regions= entry twice the size of a reserved top-level range that System RAM follows directly: reserved and
    /// System RAM at once (q35: the memmap= GiB at 4 GiB; arm64 virt: the no-map buffer of the device tree).
    /// </summary>
    public static string ReservedThenSystemRamRegion()
    {
        IReadOnlyList<(ulong Start, ulong End, string Name)> ranges = TopLevelIomem();
        for (int i = 0; i + 1 < ranges.Count; i++)
        {
            (ulong start, ulong end, string name) = ranges[i];
            if (name.Equals("reserved", StringComparison.OrdinalIgnoreCase) && ranges[i + 1].Name == "System RAM" &&
                ranges[i + 1].Start == end + 1 && start >= 1UL << 30)
            {
                return $"{(end + 1 - start) * 2 >> 20}M@0x{start:x}";
            }
        }

        return "2G@0x100000000";
    }

    private static (ulong Start, ulong End, string Name) ParseIomemLine(string line)
    {
        string[] parts = line.Split(" : ", 2);
        string[] bounds = parts[0].Trim().Split('-');
        return (ulong.Parse(bounds[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(bounds[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), parts.Length > 1 ? parts[1].Trim() : "");
    }
}
