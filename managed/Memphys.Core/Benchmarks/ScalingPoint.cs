namespace Memphys.Benchmarks;

/// <summary>One kind at one size of a scaling run: mmap and first-touch cost per GiB.</summary>
/// <param name="Kind">Kind name.</param>
/// <param name="Length">Bytes mapped and touched.</param>
/// <param name="Result">The samples (seconds for the whole length), or why the kind could not run at this size.</param>
internal sealed record ScalingPoint(string Kind, long Length, KindResult Result)
{
    /// <summary>The median of a time metric divided by the GiB measured; null when not measured.</summary>
    public Summary? PerGiB(string metric) => Result.Samples.TryGetValue(metric, out List<double>? s) && s.Count > 0
        ? Summary.Of(s.Select(v => v * (1L << 30) / Length))
        : null;
}
