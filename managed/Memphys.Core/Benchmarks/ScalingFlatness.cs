namespace Memphys.Benchmarks;

/// <summary>
/// How flat a kind's cost per GiB is over the sizes: the largest deviation of a size's per-GiB median from the
/// median over the sizes (goal: within ±10 %).
/// </summary>
/// <param name="Kind">Kind name.</param>
/// <param name="Metric">A time metric.</param>
/// <param name="MaxDeviation">max |per-GiB median / median of them - 1|.</param>
internal sealed record ScalingFlatness(string Kind, string Metric, double MaxDeviation)
{
    /// <summary>The goal: ±10 %.</summary>
    public const double Goal = 0.10;

    /// <summary>True when <see cref="MaxDeviation"/> is within <see cref="Goal"/>.</summary>
    public bool IsFlat => MaxDeviation <= Goal;
}
