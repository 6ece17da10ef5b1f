using System.Globalization;
using System.Text.Json.Nodes;
using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>The table and JSON of <c>memphys bench --scaling</c>: mmap and first-touch cost per GiB by size.</summary>
internal static class BenchScalingReport
{
    public static void Write(Output output, IReadOnlyList<ScalingPoint> points, int repetitions)
    {
        IReadOnlyList<ScalingFlatness> flatness = BenchScaling.Flatness(points);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["repetitions"] = repetitions,
                ["scaling"] = new JsonArray(points.Select(p => (JsonNode)new JsonObject
                {
                    ["kind"] = p.Kind,
                    ["length"] = p.Length,
                    ["unsupported"] = p.Result.Unsupported,
                    ["perGiB"] = new JsonObject(BenchScaling.Metrics.Where(m => p.PerGiB(m) is not null)
                        .Select(m => KeyValuePair.Create(m, (JsonNode?)BenchJson.ToJson(p.PerGiB(m)!.Value)))),
                    ["pageTableBytesPerGiB"] = PageTables(p) is { } t ? BenchJson.ToJson(t) : null,
                    ["faults4k"] = p.Result.Faults4K is { } f ? Common.ToJson(f) : null,
                }).ToArray()),
                ["flatness"] = new JsonArray(flatness.Select(f => (JsonNode)new JsonObject
                {
                    ["kind"] = f.Kind,
                    ["metric"] = f.Metric,
                    ["maxDeviation"] = f.MaxDeviation,
                    ["flat"] = f.IsFlat,
                }).ToArray()),
            });
            return;
        }

        output.Table($"scaling: cost per GiB, ms, median [min-max] of {repetitions} rounds interleaved across kinds ('!': spread above {Summary.UnstableSpread:P0})",
            ["kind", "size", "mmap/GiB", "touch 4K/GiB", "touch 2M/GiB", "PT KiB/GiB", "faults 4K (pte/pmd/pud)"],
            points.Select(p => p.Result.Unsupported is { } why
                ? [p.Kind, Output.Size((ulong)p.Length), "unsupported: " + why, "", "", "", ""]
                : new[]
                {
                    p.Kind, Output.Size((ulong)p.Length), Ms(p.PerGiB(Metric.Mmap)), Ms(p.PerGiB(Metric.Touch4K)), Ms(p.PerGiB(Metric.Touch2M)),
                    BenchTable.Cell(PageTables(p), v => (v / 1024).ToString("0", CultureInfo.InvariantCulture)), BenchTable.Faults(p.Result.Faults4K),
                }));
        output.Table($"flatness: largest deviation of a size's per-GiB median from their median (goal: within {ScalingFlatness.Goal:P0})",
            ["kind", "figure", "deviation", "goal"],
            flatness.Select(f => new[] { f.Kind, Metric.Label(f.Metric), f.MaxDeviation.ToString("P1", CultureInfo.InvariantCulture), f.IsFlat ? "met" : "missed" }));
    }

    /// <summary>Page tables per GiB: the samples are per GiB already (<see cref="Metric.PageTables"/>).</summary>
    private static Summary? PageTables(ScalingPoint p) =>
        p.Result.Samples.TryGetValue(Metric.PageTables, out List<double>? s) && s.Count > 0 ? Summary.Of(s) : null;

    private static string Ms(Summary? s) => BenchTable.Cell(s, v => (v * 1000).ToString(v * 1000 >= 100 ? "0" : "0.00", CultureInfo.InvariantCulture));
}
