namespace Memphys.Benchmarks;

/// <summary>
/// The emulator the benchmark runs under, if any (QEMU's TCG in the project's guests), and which ratios it makes
/// meaningless: an emulator runs each instruction in software, so ratios that on hardware depend on the instructions
/// chosen or on the memory type show the emulator's costs instead.
/// </summary>
/// <param name="Name">The emulator, e.g. "TCG".</param>
internal sealed record Emulation(string Name)
{
    /// <summary>Environment variable that overrides the detection: an emulator's name, or "none".</summary>
    public const string Variable = "MEMPHYS_BENCH_EMULATOR";

    /// <summary>
    /// The emulator this process runs under: <see cref="Variable"/> when set, else QEMU's TCG when /proc/cpuinfo names
    /// its CPU model ("QEMU TCG CPU", what <c>-cpu max</c> reports under TCG); null on hardware or KVM.
    /// </summary>
    public static Emulation? Detect()
    {
        string? forced = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(forced))
        {
            return forced == "none" ? null : new Emulation(forced);
        }

        try
        {
            return File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("model name", StringComparison.Ordinal) &&
                l.Contains("QEMU TCG CPU", StringComparison.Ordinal)) ? new Emulation("TCG") : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Why <paramref name="ratio"/> means nothing under this emulator, or null when it holds. <paramref name="memoryTypes"/>
    /// is true when its two kinds map memory of different types (a wc or uc memphys region against write-back memory).
    /// </summary>
    public string? Meaningless(RatioDefinition ratio, bool memoryTypes)
    {
        if (ratio.Numerator == ratio.Denominator)
        {
            return $"{Name} runs glibc's non-temporal memset/memcpy instruction by instruction and the C# loops as plain " +
                "stores; on hardware the two are about equal (the host measures ~1.0)";
        }

        return memoryTypes ? $"{Name} treats every memory type as write-back: no speed difference between types can show" : null;
    }
}
