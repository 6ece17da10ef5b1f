namespace Memphys.Benchmarks;

/// <summary>A comparison of two figures measured in the same run: numerator / denominator, per repetition.</summary>
/// <param name="Numerator">Kind whose figure is divided.</param>
/// <param name="NumeratorMetric">Its metric.</param>
/// <param name="Denominator">Reference kind.</param>
/// <param name="DenominatorMetric">Its metric.</param>
/// <param name="Target">The goal the ratio is printed against, e.g. "≥ 0.98" (memphys as fast as anonymous memory, within
/// 2 %); null when there is none.</param>
internal sealed record RatioDefinition(string Numerator, string NumeratorMetric, string Denominator, string DenominatorMetric, string? Target)
{
    /// <summary>Why the ratio means nothing in this run (an emulator's artifact, <see cref="Emulation"/>); null when it holds.</summary>
    public string? Meaningless { get; init; }

    /// <summary>"remap / anon-thp-off write", "anon-thp-off write / memset".</summary>
    public string Name => Numerator == Denominator
        ? $"{Numerator} C#/libc {Metric.Label(NumeratorMetric)}"
        : $"{Numerator} / {Denominator} {Metric.Label(NumeratorMetric)}";
}
