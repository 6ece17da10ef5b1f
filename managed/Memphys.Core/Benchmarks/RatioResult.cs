namespace Memphys.Benchmarks;

/// <summary>A ratio's definition and value over the repetitions.</summary>
internal sealed record RatioResult(RatioDefinition Definition, Summary Value);
