using System.Globalization;

namespace Memphys;

/// <summary>
/// Reads the machine's physical memory maps (<c>/proc/iomem</c>, <c>/sys/firmware/memmap</c>, the <c>memmap=</c>
/// reservations on the kernel command line) and proposes a range of RAM the kernel could give up to memphys.
/// </summary>
internal static class PhysicalMemoryMap
{
    /// <summary>Type name of usable RAM in both maps.</summary>
    public const string SystemRam = "System RAM";

    /// <summary>Default location of the firmware (e820) map, unaffected by <c>memmap=</c>.</summary>
    public const string FirmwareMemmapDirectory = "/sys/firmware/memmap";

    /// <summary>RAM that a proposal must leave to Linux.</summary>
    public const ulong MinimumRamLeft = 1UL << 30;

    /// <summary>Parses <c>/proc/iomem</c> text ("start-end : name" lines, two spaces of indentation per level).</summary>
    /// <exception cref="FormatException">A line is not in that format.</exception>
    public static IReadOnlyList<MemoryMapEntry> ParseIomem(string text)
    {
        var entries = new List<MemoryMapEntry>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            int indent = line.Length - line.TrimStart(' ').Length;
            string[] parts = line.Trim().Split(" : ", 2);
            string[] bounds = parts[0].Split('-');
            if (parts.Length != 2 || bounds.Length != 2
                || !TryParseHex(bounds[0], out ulong start) || !TryParseHex(bounds[1], out ulong end) || end < start)
            {
                throw new FormatException($"not a /proc/iomem line: '{line}'");
            }

            entries.Add(new MemoryMapEntry(new PhysicalRange(start, end), parts[1], indent / 2));
        }

        return entries;
    }

    /// <summary>
    /// True when every range reads as zero: the kernel hides <c>/proc/iomem</c> addresses from readers
    /// without CAP_SYS_ADMIN.
    /// </summary>
    public static bool AddressesHidden(IReadOnlyList<MemoryMapEntry> iomem) =>
        iomem.Count > 0 && iomem.All(e => e.Range.Start == 0 && e.Range.End == 0);

    /// <summary>
    /// Why memphys would refuse <paramref name="region"/> by the firmware map, or null when it accepts it: as the
    /// driver checks at load (driver/memphys_region.c, from 6.19 against /sys/firmware/memmap, before against the
    /// firmware's e820 table, the same entries), the region must lie wholly in "System RAM" entries.
    /// </summary>
    public static string? FirmwareRefusal(IReadOnlyList<MemoryMapEntry> firmware, PhysicalRange region)
    {
        ulong next = region.Start;
        foreach (MemoryMapEntry entry in firmware.Where(e => e.Range.Overlaps(region)).OrderBy(e => e.Range.Start))
        {
            if (entry.Type != SystemRam)
            {
                return $"the firmware keeps {entry.Range} for itself (\"{entry.Type}\"); memphys takes only RAM reserved with memmap=";
            }

            if (entry.Range.Start > next)
            {
                break;
            }

            next = Math.Max(next, entry.Range.End == ulong.MaxValue ? ulong.MaxValue : entry.Range.End + 1);
            if (next > region.End || next == ulong.MaxValue)
            {
                return null;
            }
        }

        return $"the firmware map has no RAM at 0x{next:x}; memphys takes only RAM reserved with memmap=";
    }

    /// <summary>Reads the firmware map: one directory per entry with <c>start</c>, <c>end</c> and <c>type</c> files.</summary>
    /// <returns>The entries sorted by start; empty when <paramref name="directory"/> does not exist.</returns>
    /// <exception cref="FormatException">An entry's start or end is not a hex number.</exception>
    public static IReadOnlyList<MemoryMapEntry> ReadFirmwareMemmap(string directory = FirmwareMemmapDirectory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var entries = new List<MemoryMapEntry>();
        foreach (string entry in Directory.EnumerateDirectories(directory))
        {
            string start = File.ReadAllText(Path.Combine(entry, "start")).Trim();
            string end = File.ReadAllText(Path.Combine(entry, "end")).Trim();
            string type = File.ReadAllText(Path.Combine(entry, "type")).Trim();
            if (!TryParseHex(start, out ulong s) || !TryParseHex(end, out ulong e) || e < s)
            {
                throw new FormatException($"{entry}: bad range '{start}'-'{end}'");
            }

            entries.Add(new MemoryMapEntry(new PhysicalRange(s, e), type, 0));
        }

        return entries.OrderBy(e => e.Range.Start).ToList();
    }

    /// <summary>
    /// The ranges a kernel command line takes away from RAM: <c>memmap=SIZE$BASE</c> (reserved),
    /// <c>SIZE!BASE</c> (persistent memory) and <c>SIZE#BASE</c> (ACPI data), also comma-separated lists.
    /// Other <c>memmap=</c> forms (<c>@</c>, <c>exactmap</c>) and unparsable items take nothing away.
    /// </summary>
    public static IReadOnlyList<PhysicalRange> ParseMemmapReservations(string cmdline)
    {
        var ranges = new List<PhysicalRange>();
        foreach (string word in cmdline.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!word.StartsWith("memmap=", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (string item in word["memmap=".Length..].Split(','))
            {
                int at = item.IndexOfAny(['$', '!', '#']);
                if (at > 0 && TryParseMemparse(item[..at], out ulong size) && size > 0
                    && TryParseMemparse(item[(at + 1)..], out ulong start))
                {
                    ranges.Add(PhysicalRange.FromSize(start, size));
                }
            }
        }

        return ranges;
    }

    /// <summary>
    /// RAM the running kernel manages: the firmware map's RAM (or, without one, the top-level "System RAM" of
    /// <c>/proc/iomem</c>) minus <paramref name="reserved"/>, intersected with <c>/proc/iomem</c>'s RAM when its
    /// addresses are visible.
    /// </summary>
    /// <exception cref="InvalidOperationException">Neither map shows any RAM.</exception>
    public static IReadOnlyList<PhysicalRange> FreeRam(
        IReadOnlyList<MemoryMapEntry> firmware, IReadOnlyList<MemoryMapEntry> iomem, IReadOnlyList<PhysicalRange> reserved)
    {
        bool iomemVisible = !AddressesHidden(iomem);
        List<PhysicalRange> iomemRam = iomem.Where(e => e.Depth == 0 && e.Type == SystemRam).Select(e => e.Range).ToList();
        List<PhysicalRange> ram = firmware.Where(e => e.Type == SystemRam).Select(e => e.Range).ToList();
        if (ram.Count == 0)
        {
            ram = iomemVisible ? iomemRam : [];
        }

        if (ram.Count == 0)
        {
            throw new InvalidOperationException(
                "no RAM in the firmware memory map and /proc/iomem shows no addresses (run as root)");
        }

        IEnumerable<PhysicalRange> free = reserved.Aggregate((IEnumerable<PhysicalRange>)ram, Subtract);
        if (iomemVisible)
        {
            free = free.SelectMany(f => iomemRam.Where(f.Overlaps)
                .Select(r => new PhysicalRange(Math.Max(f.Start, r.Start), Math.Min(f.End, r.End))));
        }

        return free.OrderBy(r => r.Start).ToList();
    }

    /// <summary>
    /// Proposes the highest range of <paramref name="size"/> bytes, aligned to <paramref name="alignment"/>, inside
    /// one range of <paramref name="freeRam"/>, leaving at least <see cref="MinimumRamLeft"/> to Linux.
    /// </summary>
    /// <param name="size">Bytes to reserve (a multiple of 4 KiB).</param>
    /// <param name="alignment">Base alignment, a power of two of at least 4 KiB.</param>
    /// <param name="freeRam">From <see cref="FreeRam"/>.</param>
    /// <param name="proposal">The proposal, when there is one.</param>
    /// <param name="reason">Why there is none, otherwise.</param>
    /// <exception cref="ArgumentException">Size or alignment are not as described.</exception>
    public static bool TryPropose(ulong size, ulong alignment, IReadOnlyList<PhysicalRange> freeRam,
        out MemmapProposal? proposal, out string reason)
    {
        if (size == 0 || size % 4096 != 0)
        {
            throw new ArgumentException($"size {size} is not a positive multiple of 4 KiB", nameof(size));
        }

        if (alignment < 4096 || !ulong.IsPow2(alignment))
        {
            throw new ArgumentException($"alignment {alignment} is not a power of two of at least 4 KiB", nameof(alignment));
        }

        proposal = null;
        ulong usable = freeRam.Aggregate(0UL, (sum, r) => sum + r.Size);
        if (size > usable || usable - size < MinimumRamLeft)
        {
            reason = $"reserving {MemphysDevice.FormatSize(size)} would leave {MemphysDevice.FormatSize(usable > size ? usable - size : 0)} " +
                     $"of the {MemphysDevice.FormatSize(usable)} of RAM the kernel has now; at least {MemphysDevice.FormatSize(MinimumRamLeft)} must stay";
            return false;
        }

        foreach (PhysicalRange free in freeRam.Where(r => r.Size >= size).OrderByDescending(r => r.End))
        {
            ulong start = (free.End + 1 - size) & ~(alignment - 1);
            if (start >= free.Start)
            {
                proposal = new MemmapProposal(PhysicalRange.FromSize(start, size), alignment, free, usable);
                reason = "";
                return true;
            }
        }

        ulong largest = freeRam.Count == 0 ? 0 : freeRam.Max(r => r.Size);
        reason = $"no free RAM range holds {MemphysDevice.FormatSize(size)} aligned to {MemphysDevice.FormatSize(alignment)} " +
                 $"(largest free range: {MemphysDevice.FormatSize(largest)}); try a smaller --size or --align";
        return false;
    }

    /// <summary>The default alignment for <paramref name="size"/>: 1 GiB from 1 GiB up, 2 MiB from 2 MiB up (huge faults), else 4 KiB.</summary>
    public static ulong DefaultAlignment(ulong size) => size >= 1UL << 30 ? 1UL << 30 : size >= 2UL << 20 ? 2UL << 20 : 4096;

    /// <summary>A size as the kernel's memparse reads it: the largest exact K/M/G/T unit, else hex bytes.</summary>
    public static string FormatMemparse(ulong bytes)
    {
        foreach ((int shift, char unit) in new[] { (40, 'T'), (30, 'G'), (20, 'M'), (10, 'K') })
        {
            if (bytes != 0 && bytes % (1UL << shift) == 0)
            {
                return $"{bytes >> shift}{unit}";
            }
        }

        return $"0x{bytes:x}";
    }

    /// <summary>Parses a number the way the kernel's memparse does: 0x hex, leading-0 octal or decimal, then K/M/G/T/P/E.</summary>
    public static bool TryParseMemparse(string text, out ulong value)
    {
        value = 0;
        string digits = text;
        int shift = 0;
        if (digits.Length > 0 && "KkMmGgTtPpEe".Contains(digits[^1], StringComparison.Ordinal))
        {
            shift = 10 * ("KMGTPE".IndexOf(char.ToUpperInvariant(digits[^1]), StringComparison.Ordinal) + 1);
            digits = digits[..^1];
        }

        bool ok;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = TryParseHex(digits, out value);
        }
        else if (digits.Length > 1 && digits[0] == '0')
        {
            ok = TryParseOctal(digits, out value);
        }
        else
        {
            ok = ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }

        if (!ok || (shift > 0 && value > ulong.MaxValue >> shift))
        {
            return false;
        }

        value <<= shift;
        return true;
    }

    private static bool TryParseOctal(string digits, out ulong value)
    {
        value = 0;
        foreach (char c in digits)
        {
            if (c is < '0' or > '7' || value > ulong.MaxValue >> 3)
            {
                return false;
            }

            value = (value << 3) + (ulong)(c - '0');
        }

        return true;
    }

    private static bool TryParseHex(string text, out ulong value)
    {
        string digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        return ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    // Every part of the ranges outside hole.
    private static IEnumerable<PhysicalRange> Subtract(IEnumerable<PhysicalRange> ranges, PhysicalRange hole)
    {
        foreach (PhysicalRange r in ranges)
        {
            if (!r.Overlaps(hole))
            {
                yield return r;
                continue;
            }

            if (hole.Start > r.Start)
            {
                yield return new PhysicalRange(r.Start, hole.Start - 1);
            }

            if (hole.End < r.End)
            {
                yield return new PhysicalRange(hole.End + 1, r.End);
            }
        }
    }
}
