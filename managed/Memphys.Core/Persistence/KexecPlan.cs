using System.Globalization;

namespace Memphys.Persistence;

/// <summary>
/// How to kexec into a kernel without losing reserved RAM: the kernel command line to hand over (the running one,
/// with a <c>memmap=</c> for every region it lacks) and the two <c>kexec</c> invocations that keep the ranges
/// intact. <c>kexec -s</c> (kexec_file_load) places the new kernel's segments in System RAM only; plain
/// <c>kexec -l</c> takes its free ranges from <c>/sys/firmware/memmap</c>, where a <c>memmap=</c> reservation is
/// still RAM, and may load the kernel into a region unless <c>--mem-max</c> keeps it below the lowest one.
/// </summary>
/// <param name="Kernel">The kernel image to load.</param>
/// <param name="Initrd">Its initrd, or null.</param>
/// <param name="Append">The command line for the new kernel.</param>
/// <param name="Kept">Every range the new kernel must leave alone (memmap= reservations and memphys regions).</param>
/// <param name="Added">The <c>memmap=</c> words added for regions the running command line does not reserve.</param>
/// <param name="Warnings">What the user must know (each one sentence).</param>
internal sealed record KexecPlan(string Kernel, string? Initrd, string Append, IReadOnlyList<PhysicalRange> Kept,
    IReadOnlyList<string> Added, IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// The most <c>memmap=</c> ranges the x86 decompressor keeps out of its KASLR choice
    /// (MAX_MEMMAP_REGIONS in arch/x86/boot/compressed/kaslr.c); with more it stops randomising the physical address.
    /// </summary>
    public const int KaslrMemmapLimit = 4;

    /// <summary>Words of the running command line that describe the old boot and are not handed over.</summary>
    private static readonly string[] s_dropped = ["BOOT_IMAGE=", "initrd="];

    /// <summary>The highest address plain <c>kexec -l</c> may use (<c>--mem-max</c>): just below the lowest kept range; null without ranges.</summary>
    public ulong? MemMax => Kept.Count == 0 ? null : Kept.Min(r => r.Start) - 1;

    /// <summary>The recommended invocation: kexec_file_load, segments in System RAM only.</summary>
    public string FileLoadCommand => $"kexec -s -l {Quote(Kernel)}{InitrdArgument} --append={Quote(Append)}";

    /// <summary>The kexec_load invocation, kept below every reserved range with <c>--mem-max</c>.</summary>
    public string LoadCommand => $"kexec -l {Quote(Kernel)}{InitrdArgument}" +
        (MemMax is { } max ? $" --mem-max=0x{max:x}" : "") + $" --append={Quote(Append)}";

    private string InitrdArgument => Initrd is null ? "" : $" --initrd={Quote(Initrd)}";

    /// <summary>
    /// The plan for <paramref name="cmdline"/> (the running kernel's) and the memphys <paramref name="regions"/>
    /// loaded now; <paramref name="extra"/> words are appended.
    /// </summary>
    public static KexecPlan Create(string kernel, string? initrd, string cmdline, IReadOnlyList<PhysicalRange> regions, string? extra = null)
    {
        List<string> words = [.. cmdline.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => !s_dropped.Any(d => w.StartsWith(d, StringComparison.Ordinal)))];
        List<PhysicalRange> reserved = [.. PhysicalMemoryMap.ParseMemmapReservations(string.Join(' ', words))];
        var added = new List<string>();
        var warnings = new List<string>();
        foreach (PhysicalRange region in regions.OrderBy(r => r.Start))
        {
            if (reserved.Any(r => r.Contains(region)))
            {
                continue;
            }

            if (reserved.Any(r => r.Overlaps(region)))
            {
                warnings.Add($"region {region} is only partly inside the memmap= ranges of the command line; the whole region is added, " +
                    "check that the result is what the running kernel reserves");
            }

            string word = $"memmap={PhysicalMemoryMap.FormatMemparse(region.Size)}${string.Create(CultureInfo.InvariantCulture, $"0x{region.Start:x}")}";
            added.Add(word);
            words.Add(word);
            reserved.Add(region);
        }

        if (!string.IsNullOrWhiteSpace(extra))
        {
            words.AddRange(extra.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries));
        }

        int memmapRanges = PhysicalMemoryMap.ParseMemmapReservations(string.Join(' ', words)).Count;
        if (memmapRanges > KaslrMemmapLimit && !words.Contains("nokaslr"))
        {
            warnings.Add($"{memmapRanges} memmap= ranges: the KASLR decompressor avoids at most {KaslrMemmapLimit} and, with more, " +
                "stops randomising where the kernel runs; merge adjacent ranges or add nokaslr to state it");
        }

        if (reserved.Count == 0)
        {
            warnings.Add("no memmap= on the command line and no memphys region given: nothing is reserved, the new kernel may use all RAM");
        }

        List<PhysicalRange> kept = [.. reserved.OrderBy(r => r.Start).Distinct()];
        if (kept.Count > 0)
        {
            warnings.Add($"never 'kexec -l' without --mem-max=0x{kept.Min(r => r.Start) - 1:x}: kexec-tools takes free RAM from " +
                "/sys/firmware/memmap, where memmap= ranges are still RAM, and may load the new kernel into a region");
        }

        warnings.Add("kexec keeps RAM only: a cold boot or firmware that clears memory loses the regions' contents");
        return new KexecPlan(kernel, initrd, string.Join(' ', words), kept, added, warnings);
    }

    /// <summary>Single-quotes <paramref name="word"/> for a POSIX shell ('$' in memmap= must not expand).</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,@".Contains(c))
            ? word
            : "'" + word.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
}
