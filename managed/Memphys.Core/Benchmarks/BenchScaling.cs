namespace Memphys.Benchmarks;

/// <summary>One kind at one size of a scaling run: mmap and first-touch cost per GiB.</summary>
/// <param name="Kind">Kind name.</param>
/// <param name="Length">Bytes mapped and touched.</param>
/// <param name="Result">The samples (seconds for the whole length), or why the kind could not run at this size.</param>
public sealed record ScalingPoint(string Kind, long Length, KindResult Result)
{
    /// <summary>The median of a time metric divided by the GiB measured; null when not measured.</summary>
    public Summary? PerGiB(string metric) => Result.Samples.TryGetValue(metric, out List<double>? s) && s.Count > 0
        ? Summary.Of(s.Select(v => v * (1L << 30) / Length))
        : null;
}

/// <summary>
/// How flat a kind's cost per GiB is over the sizes: the largest deviation of a size's per-GiB median from the
/// median over the sizes (goal: within ±10 %).
/// </summary>
/// <param name="Kind">Kind name.</param>
/// <param name="Metric">A time metric.</param>
/// <param name="MaxDeviation">max |per-GiB median / median of them - 1|.</param>
public sealed record ScalingFlatness(string Kind, string Metric, double MaxDeviation)
{
    /// <summary>The goal: ±10 %.</summary>
    public const double Goal = 0.10;

    /// <summary>True when <see cref="MaxDeviation"/> is within <see cref="Goal"/>.</summary>
    public bool IsFlat => MaxDeviation <= Goal;
}

/// <summary>
/// The scaling run: the kinds measured (mmap and first touch only, no bandwidth) at each size, in rounds
/// interleaved across kinds, for the cost per GiB.
/// </summary>
public static class BenchScaling
{
    /// <summary>The metrics of a scaling run.</summary>
    public static readonly IReadOnlyList<string> Metrics = [Metric.Mmap, Metric.Touch4K, Metric.Touch2M];

    /// <summary>Runs <paramref name="catalog"/>'s kinds (fresh ones per size) at every length of <paramref name="lengths"/>.</summary>
    public static IReadOnlyList<ScalingPoint> Run(Func<IReadOnlyList<BenchKind>> catalog, BenchSettings settings, IReadOnlyList<long> lengths,
        int repetitions, Action<int, int>? progress = null)
    {
        var points = new List<ScalingPoint>();
        for (int i = 0; i < lengths.Count; i++)
        {
            IReadOnlyList<BenchKind> kinds = catalog();
            try
            {
                IReadOnlyList<KindResult> results = BenchRunner.Run(kinds, settings with { Length = lengths[i] }, 0, repetitions);
                points.AddRange(results.Select(r => new ScalingPoint(r.Name, lengths[i], r)));
            }
            finally
            {
                foreach (BenchKind k in kinds)
                {
                    k.Dispose();
                }
            }

            progress?.Invoke(i + 1, lengths.Count);
        }

        return points;
    }

    /// <summary>Per kind and metric with at least two sizes measured: how flat the cost per GiB is.</summary>
    public static IReadOnlyList<ScalingFlatness> Flatness(IReadOnlyList<ScalingPoint> points) =>
        [.. points.GroupBy(p => p.Kind).SelectMany(g => Metrics.Select(m =>
        {
            double[] medians = g.Select(p => p.PerGiB(m)).OfType<Summary>().Select(s => s.Median).Where(v => v > 0).ToArray();
            if (medians.Length < 2)
            {
                return null;
            }

            double middle = Summary.Of(medians).Median;
            return new ScalingFlatness(g.Key, m, medians.Max(v => Math.Abs((v / middle) - 1)));
        })).OfType<ScalingFlatness>()];
}
