namespace Memphys.Benchmarks;

/// <summary>
/// The comparisons the benchmark reports (memphys / anonymous, remap / /dev/mem, fault and pages / device-dax, C# / libc)
/// and the project's goals among them: <c>pages-4k-around / anon touch 4K</c> ≤ 0.05, <c>pages-1g / devdax-1g</c> first
/// touch ≤ 1.0, <c>remap / devmem mmap+touch</c> ≤ 0.12. The other ratios are printed without a goal.
/// </summary>
internal static class BenchRatios
{
    private const string Anonymous = "anon-thp-off";

    /// <summary>The ratio definitions that apply to <paramref name="results"/>.</summary>
    public static IReadOnlyList<RatioDefinition> Definitions(IReadOnlyList<KindResult> results)
    {
        var list = new List<RatioDefinition>();
        foreach (KindResult k in results.Where(r => r.Group == "memphys"))
        {
            list.AddRange(new[] { Metric.Write, Metric.Read, Metric.Copy }.Select(m => new RatioDefinition(k.Name, m, Anonymous, m, null)));
            list.Add(new RatioDefinition(k.Name, Metric.Touch4K, Anonymous, Metric.Touch4K, k.Name == BenchKind.PagesAround ? "≤ 0.05" : null));
        }

        list.Add(new RatioDefinition("remap", Metric.Mmap, "devmem", Metric.Mmap, null));
        list.Add(new RatioDefinition("remap", Metric.Touch4K, "devmem", Metric.Touch4K, null));
        list.Add(new RatioDefinition("remap", Metric.MmapTouch4K, "devmem", Metric.MmapTouch4K, "≤ 0.12"));
        foreach ((string fault, string peer) in new[]
                 {
                     ("fault-2m", "devdax-2m"), ("fault-1g", "devdax-1g"), ("fault-2m", "hugetlb-2m"),
                     ("pages-2m", "devdax-2m"), ("pages-1g", "devdax-1g"),
                 })
        {
            list.Add(new RatioDefinition(fault, Metric.Touch2M, peer, Metric.Touch2M, null));
            list.Add(new RatioDefinition(fault, Metric.Touch4K, peer, Metric.Touch4K, fault == "pages-1g" ? "≤ 1.0" : null));
        }

        foreach (KindResult k in results)
        {
            list.Add(new RatioDefinition(k.Name, Metric.Write, k.Name, Metric.MemSet, null));
            list.Add(new RatioDefinition(k.Name, Metric.Copy, k.Name, Metric.MemCpy, null));
        }

        return list;
    }

    /// <summary>
    /// Every definition whose two kinds were measured: the ratio of repetition i of one to repetition i of the other
    /// (both were measured in the same round), summarised over the rounds. Under <paramref name="emulation"/> the
    /// ratios it makes meaningless say so (<see cref="RatioDefinition.Meaningless"/>); <paramref name="memphysCaching"/>
    /// is the memory type of the memphys kinds' region (write-back unless known otherwise).
    /// </summary>
    public static IReadOnlyList<RatioResult> Compute(IReadOnlyList<KindResult> results, Emulation? emulation = null,
        CachingMode memphysCaching = CachingMode.WriteBack)
    {
        var byName = results.Where(r => r.Unsupported is null).ToDictionary(r => r.Name);
        var list = new List<RatioResult>();
        foreach (RatioDefinition d in Definitions(results))
        {
            if (byName.TryGetValue(d.Numerator, out KindResult? n) && byName.TryGetValue(d.Denominator, out KindResult? m) &&
                n.Samples.TryGetValue(d.NumeratorMetric, out List<double>? a) && m.Samples.TryGetValue(d.DenominatorMetric, out List<double>? b))
            {
                double[] ratios = a.Zip(b, (x, y) => y != 0 ? x / y : double.NaN).Where(double.IsFinite).ToArray();
                if (ratios.Length > 0)
                {
                    bool types = memphysCaching != CachingMode.WriteBack && (n.Group == "memphys") != (m.Group == "memphys");
                    list.Add(new RatioResult(d with { Meaningless = emulation?.Meaningless(d, types) }, Summary.Of(ratios)));
                }
            }
        }

        return list;
    }
}
