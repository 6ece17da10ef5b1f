namespace Memphys.Benchmarks;

/// <summary>
/// Median and range of repeated measurements of one figure. A figure whose spread ((max - min) / median) exceeds
/// <see cref="UnstableSpread"/> is flagged as unstable rather than presented as a solid number.
/// </summary>
/// <param name="Median">Median of the samples (the mean of the middle two for an even count).</param>
/// <param name="Min">Smallest sample.</param>
/// <param name="Max">Largest sample.</param>
/// <param name="Count">Number of samples.</param>
internal readonly record struct Summary(double Median, double Min, double Max, int Count)
{
    /// <summary>Spread above which a figure is unstable: 10 %.</summary>
    public const double UnstableSpread = 0.10;

    /// <summary>(max - min) / median; 0 when the median is 0 and all samples are equal.</summary>
    public double Spread => Median != 0 ? (Max - Min) / Math.Abs(Median) : Max == Min ? 0 : double.PositiveInfinity;

    /// <summary>True when <see cref="Spread"/> exceeds <see cref="UnstableSpread"/>, or when there is a single sample.</summary>
    public bool IsUnstable => Count < 2 || Spread > UnstableSpread;

    /// <summary>Summarises <paramref name="samples"/>; throws for an empty sequence.</summary>
    public static Summary Of(IEnumerable<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        double[] sorted = samples.ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no samples", nameof(samples));
        }

        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new Summary(median, sorted[0], sorted[^1], sorted.Length);
    }
}
