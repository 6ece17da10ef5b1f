using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>One run of <c>memphys bench</c>: what was measured, how, and the results (with the included ones).</summary>
internal sealed record BenchRun(BenchSettings Settings, long Window, int Repetitions, string Kernel, string? Thp,
    IReadOnlyList<KindResult> Kinds, IReadOnlyList<RatioResult> Ratios);
