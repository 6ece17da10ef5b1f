namespace Memphys.Benchmarks;

/// <summary>
/// The scaling run: the kinds measured (mmap and first touch only, no bandwidth) at each size, in rounds
/// interleaved across kinds, for the cost per GiB.
/// </summary>
internal static class BenchScaling
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
