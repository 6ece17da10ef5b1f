namespace Memphys.Benchmarks;

/// <summary>A ratio's definition and value over the repetitions.</summary>
public sealed record RatioResult(RatioDefinition Definition, Summary Value);
