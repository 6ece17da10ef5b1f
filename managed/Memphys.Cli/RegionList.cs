namespace Memphys.Cli;

/// <summary>
/// The regions a command works on: a <c>regions=</c> list given on the command line, or those of the loaded module.
/// </summary>
internal static class RegionList
{
    /// <summary>The regions of the loaded module (sysfs phys_base and size of each memphysN; phys_base is root-only).</summary>
    public static List<PhysicalRange> Loaded(string sysfs)
    {
        var regions = new List<PhysicalRange>();
        if (!Directory.Exists(sysfs))
        {
            return regions;
        }

        foreach (string dir in Directory.EnumerateDirectories(sysfs, "memphys*").Order(StringComparer.Ordinal))
        {
            string basePath = Path.Combine(dir, "phys_base"), sizePath = Path.Combine(dir, "size");
            if (File.Exists(basePath) && File.Exists(sizePath)
                && PhysicalMemoryMap.TryParseMemparse(File.ReadAllText(basePath).Trim(), out ulong start)
                && PhysicalMemoryMap.TryParseMemparse(File.ReadAllText(sizePath).Trim(), out ulong size) && size > 0)
            {
                regions.Add(PhysicalRange.FromSize(start, size));
            }
        }

        return regions;
    }

    /// <summary>Parses SIZE@BASE[,SIZE@BASE...]; <paramref name="option"/> names the option in errors.</summary>
    public static List<PhysicalRange> Parse(string list, string option)
    {
        var regions = new List<PhysicalRange>();
        foreach (string item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // SIZE@BASE, optionally with the module's :TYPE / :pages suffixes, which do not matter here.
            string range = item.Split(':')[0];
            int at = range.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0 || !PhysicalMemoryMap.TryParseMemparse(range[..at], out ulong size) || size == 0
                || !PhysicalMemoryMap.TryParseMemparse(range[(at + 1)..], out ulong start) || start + size < start)
            {
                throw new UsageException($"{option}: '{item}' is not SIZE@BASE (e.g. 1G@0x100000000)");
            }

            regions.Add(PhysicalRange.FromSize(start, size));
        }

        return regions.Count > 0 ? regions : throw new UsageException($"{option}: no region given");
    }
}
