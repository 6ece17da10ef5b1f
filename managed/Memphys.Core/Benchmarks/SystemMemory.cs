using System.Globalization;

namespace Memphys.Benchmarks;

/// <summary>The kernel's memory figures the benchmark reads: /proc/meminfo and the THP policy.</summary>
internal static class SystemMemory
{
    private const string Meminfo = "/proc/meminfo";
    private const string ThpEnabled = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>A /proc/meminfo field in bytes (kB fields are scaled; counts such as HugePages_Free are returned as is).</summary>
    public static long? Read(string field)
    {
        foreach (string line in File.ReadLines(Meminfo))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                continue;
            }

            string[] parts = line[(field.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long value = long.Parse(parts[0], CultureInfo.InvariantCulture);
            return parts.Length > 1 && parts[1] == "kB" ? value * 1024 : value;
        }

        return null;
    }

    /// <summary>PageTables of /proc/meminfo in bytes.</summary>
    public static long PageTables => Read("PageTables") ?? 0;

    /// <summary>The selected THP mode (always, madvise or never), or null without THP support.</summary>
    public static string? TransparentHugePages
    {
        get
        {
            if (!File.Exists(ThpEnabled))
            {
                return null;
            }

            string text = File.ReadAllText(ThpEnabled);
            int open = text.IndexOf('['), close = text.IndexOf(']');
            return open >= 0 && close > open ? text[(open + 1)..close] : text.Trim();
        }
    }
}
