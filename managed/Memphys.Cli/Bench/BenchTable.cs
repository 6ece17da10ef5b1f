using System.Globalization;
using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>The terminal tables of <c>memphys bench</c>: mapping and first touch, bandwidth, ratios, unsupported kinds.</summary>
internal static class BenchTable
{
    private static readonly string[] s_timeMetrics = [Metric.Mmap, Metric.Touch4K, Metric.Touch2M];
    private static readonly string[] s_bandwidthMetrics = [Metric.Write, Metric.Read, Metric.Copy, Metric.MemSet, Metric.MemCpy];

    public static void Write(Output output, BenchRun run)
    {
        BenchSettings s = run.Settings;
        output.Line($"bench: {Output.Size((ulong)s.Length)} per kind (mmap and first touch of the whole range; bandwidth over the first " +
            $"{Output.Size((ulong)run.Window)}), kernel {run.Kernel}, THP {run.Thp ?? "n/a"}");
        output.Line($"median [min-max] of {run.Repetitions} rounds interleaved across kinds after a warm-up; " +
            $"'!' marks a spread (max-min)/median above {Summary.UnstableSpread:P0}: not a solid figure");
        var supported = run.Kinds.Where(k => k.Unsupported is null).ToList();
        output.Table("mapping and first touch (faults: pte/pmd/pud the driver counted, +prefaulted by fault-around; PT/GiB: PageTables growth per GiB over mmap and first touch)",
            ["kind", "mmap ms", "touch 4K ms", "faults 4K", "touch 2M ms", "faults 2M", "PT/GiB"],
            run.Kinds.Select(k => k.Unsupported is not null
                ? [k.Name, "unsupported", "-", "-", "-", "-", "-"]
                : new[]
                {
                    k.Name, Cell(k[Metric.Mmap], Time), Cell(k[Metric.Touch4K], Time), Faults(k.Faults4K),
                    Cell(k[Metric.Touch2M], Time), Faults(k.Faults2M), k[Metric.PageTables] is { } pt ? Output.Size((ulong)Math.Max(0, pt.Median)) : "-",
                }));
        output.Table("bandwidth, MiB/s (write/read/copy: the toolkit's C# loops; memset/memcpy: libc on the same mapping)",
            ["kind", .. s_bandwidthMetrics.Select(Metric.Label)],
            supported.Select(k => new[] { k.Name }.Concat(s_bandwidthMetrics.Select(m => Cell(k[m], Bandwidth))).ToArray()));
        output.Table("ratios, per round then median [min-max] (same run; time ratios < 1 and bandwidth ratios > 1 favour the first)",
            ["ratio", "value", "target"],
            run.Ratios.Select(r => new[]
            {
                r.Definition.Name, Cell(r.Value, v => v.ToString("0.000", CultureInfo.InvariantCulture)),
                r.Definition.Meaningless is { } why ? $"not meaningful: {why}"
                    : r.Definition.Target is null ? "" : $"{r.Definition.Target}: {TargetText(r)}",
            }));
        var unsupported = run.Kinds.Where(k => k.Unsupported is not null).Select(k => (k.Name, k.Unsupported!)).ToList();
        if (unsupported.Count > 0)
        {
            output.KeyValues("unsupported kinds", unsupported);
        }
    }

    /// <summary>
    /// Whether the ratio meets its target (null: no target, the ratio is unstable, or meaningless in this run), judged on
    /// the median as the table prints it (three decimals): the goals are stated to that precision, the rounding (0.0005)
    /// is far below any run's spread, and a reader can check the verdict against the printed figure. The [min-max]
    /// interval is printed next to it and does not decide; a spread above 10 % gives no verdict at all.
    /// </summary>
    public static bool? TargetMet(RatioResult r)
    {
        string? target = r.Definition.Target;
        if (target is null || r.Value.IsUnstable || r.Definition.Meaningless is not null)
        {
            return null;
        }

        double limit = double.Parse(target[2..], CultureInfo.InvariantCulture);
        double printed = Math.Round(r.Value.Median, PrintedDecimals, MidpointRounding.AwayFromZero);
        return target[0] == '≥' ? printed >= limit : printed <= limit;
    }

    /// <summary>Decimals of a printed ratio (the "0.000" format), on which its target is judged.</summary>
    private const int PrintedDecimals = 3;

    private static string TargetText(RatioResult r) => TargetMet(r) switch
    {
        true => "met",
        false => "missed",
        null => "unstable",
    };

    /// <summary>Milliseconds with three significant digits (at least).</summary>
    private static string Time(double seconds)
    {
        double ms = seconds * 1000;
        return ms.ToString(ms >= 100 ? "0" : ms >= 10 ? "0.0" : ms >= 1 ? "0.00" : "0.000", CultureInfo.InvariantCulture);
    }

    private static string Bandwidth(double mibs) => mibs.ToString("0", CultureInfo.InvariantCulture);

    /// <summary>"median [min-max]", with " !" when the spread is above the limit.</summary>
    public static string Cell(Summary? s, Func<double, string> format) => s is not { } v ? "-"
        : $"{format(v.Median)} [{format(v.Min)}-{format(v.Max)}]{(v.IsUnstable ? " !" : "")}";

    /// <summary>"pte/pmd/pud", and "+N" prefaulted (fault-around) entries when there are any.</summary>
    public static string Faults(MemphysStats? f) => f is { } s
        ? $"{Output.Count(s.PteFaults)}/{Output.Count(s.PmdFaults)}/{Output.Count(s.PudFaults)}{(s.Prefaulted > 0 ? $" +{Output.Count(s.Prefaulted)}" : "")}"
        : "-";
}
