using System.Text.Json.Nodes;
using Memphys.Benchmarks;
using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// The statistics of <c>memphys bench</c> (median, range, the unstable flag, per-round ratios) and the shape of its
/// JSON, on the host: anonymous memory runs anywhere, the other kinds report why they cannot run here.
/// </summary>
public sealed class BenchTests
{
    [Fact]
    public void TheMedianOfAnOddCountIsTheMiddleSample()
    {
        Summary s = Summary.Of([5, 1, 4, 2, 3]);
        Assert.Equal(3, s.Median);
        Assert.Equal(1, s.Min);
        Assert.Equal(5, s.Max);
        Assert.Equal(5, s.Count);
    }

    [Fact]
    public void TheMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() => Assert.Equal(2.5, Summary.Of([4, 1, 3, 2]).Median);

    [Theory]
    [InlineData(new double[] { 100, 101, 105, 109, 110 }, false)] // spread 10/105 = 9.5 %
    [InlineData(new double[] { 100, 100, 100, 100, 110 }, false)] // exactly 10 %: not above
    [InlineData(new double[] { 100, 100, 100, 100, 111 }, true)]  // 11 %
    [InlineData(new double[] { 50, 100, 100, 100, 100 }, true)]
    [InlineData(new double[] { 7 }, true)]                        // one sample says nothing about spread
    public void AFigureIsUnstableWhenItsSpreadExceedsTenPercent(double[] samples, bool unstable)
    {
        Summary s = Summary.Of(samples);
        Assert.Equal(unstable, s.IsUnstable);
        Assert.Equal((s.Max - s.Min) / s.Median, s.Spread, 12);
    }

    [Fact]
    public void NoSamplesIsAnError() => Assert.Throws<ArgumentException>(() => Summary.Of([]));

    [Fact]
    public void RatiosAreTakenPerRoundThenSummarised()
    {
        KindResult remap = Kind("remap", "memphys", (Metric.Write, [100, 200, 300]));
        KindResult anon = Kind("anon-thp-off", "anonymous", (Metric.Write, [100, 100, 200]));
        RatioResult r = BenchRatios.Compute([remap, anon]).Single(x => x.Definition.Name == "remap / anon-thp-off write");
        Assert.Equal(1.5, r.Value.Median, 12);   // 1, 2, 1.5 per round
        Assert.Equal(1, r.Value.Min, 12);
        Assert.Equal(2, r.Value.Max, 12);
        Assert.True(r.Value.IsUnstable);
        Assert.Null(BenchTable.TargetMet(r));
    }

    [Fact]
    public void AnUnsupportedKindGivesNoRatio()
    {
        KindResult remap = Kind("remap", "memphys", (Metric.Mmap, [1, 1]));
        KindResult devmem = Kind("devmem", "devmem", (Metric.Mmap, [2, 2]));
        devmem.Unsupported = "EPERM";
        Assert.DoesNotContain(BenchRatios.Compute([remap, devmem]), r => r.Definition.Denominator == "devmem");
    }

    [Theory]
    [InlineData(0.04, true)]
    [InlineData(0.06, false)]
    public void ATargetIsMetOnlyByAStableMedian(double ratio, bool met)
    {
        KindResult pages = Kind("pages-4k-around", "memphys", (Metric.Touch4K, [ratio * 100, ratio * 100, ratio * 100]));
        KindResult anon = Kind("anon-thp-off", "anonymous", (Metric.Touch4K, [100, 100, 100]));
        RatioResult r = BenchRatios.Compute([pages, anon]).Single(x => x.Definition.Name == "pages-4k-around / anon-thp-off touch 4K");
        Assert.Equal("≤ 0.05", r.Definition.Target);
        Assert.Equal(met, BenchTable.TargetMet(r));
    }

    /// <summary>A target is judged on the median as printed (three decimals), not on the unrounded value or the interval.</summary>
    [Theory]
    [InlineData(1.0004, true)] // prints 1.000: meets ≤ 1.0, as pages-1g / devdax-1g did on 7.2 with 1.000 [1.000-1.001]
    [InlineData(1.0006, false)] // prints 1.001
    public void ATargetIsJudgedOnTheMedianAsPrinted(double ratio, bool met)
    {
        KindResult pages = Kind("pages-1g", "memphys", (Metric.Touch4K, [ratio * 1000, ratio * 1000, ratio * 1000 + 0.5]));
        KindResult dax = Kind("devdax-1g", "devdax", (Metric.Touch4K, [1000, 1000, 1000]));
        RatioResult r = BenchRatios.Compute([pages, dax]).Single(x => x.Definition.Name == "pages-1g / devdax-1g touch 4K");
        Assert.Equal("≤ 1.0", r.Definition.Target);
        Assert.Equal(met, BenchTable.TargetMet(r));
    }

    /// <summary>The project's goals are exactly three ratios; every other ratio is printed without one.</summary>
    [Fact]
    public void TheGoalsAreThePagesFaultAroundThePages1GAndTheRemapOnes()
    {
        string[] names = ["remap", "fault-4k-around", "pages-4k-around", "pages-1g", "anon-thp-off", "devmem", "devdax-1g"];
        var kinds = names.Select(n => Kind(n, n.StartsWith("anon", StringComparison.Ordinal) ? "anonymous" : "memphys")).ToList();
        var goals = BenchRatios.Definitions(kinds).Where(d => d.Target is not null).Select(d => $"{d.Name} {d.Target}").ToList();
        Assert.Equal(["pages-4k-around / anon-thp-off touch 4K ≤ 0.05", "remap / devmem mmap+touch ≤ 0.12",
            "pages-1g / devdax-1g touch 4K ≤ 1.0"], goals);
    }

    /// <summary>
    /// Under an emulator the C#/libc ratios, and on a wc or uc region the ratios between memphys and other memory,
    /// say why they mean nothing and are never met; without one they are plain ratios.
    /// </summary>
    [Fact]
    public void EmulationOnlyRatiosAreMarkedAndNeverMet()
    {
        KindResult remap = Kind("remap", "memphys", (Metric.Write, [900, 900, 900]), (Metric.MemSet, [100, 100, 100]),
            (Metric.MmapTouch4K, [1, 1, 1]));
        KindResult anon = Kind("anon-thp-off", "anonymous", (Metric.Write, [900, 900, 900]));
        KindResult devmem = Kind("devmem", "devmem", (Metric.MmapTouch4K, [10, 10, 10]));
        var emulator = new Emulation("TCG");

        RatioResult libc = BenchRatios.Compute([remap, anon, devmem], emulator).Single(r => r.Definition.Name == "remap C#/libc write");
        Assert.Contains("non-temporal", libc.Definition.Meaningless, StringComparison.Ordinal);
        Assert.Null(BenchTable.TargetMet(libc));
        Assert.Null(BenchRatios.Compute([remap, anon, devmem]).Single(r => r.Definition.Name == "remap C#/libc write").Definition.Meaningless);

        IReadOnlyList<RatioResult> wc = BenchRatios.Compute([remap, anon, devmem], emulator, CachingMode.WriteCombining);
        Assert.Contains("memory type", wc.Single(r => r.Definition.Name == "remap / anon-thp-off write").Definition.Meaningless,
            StringComparison.Ordinal);
        RatioResult goal = wc.Single(r => r.Definition.Name == "remap / devmem mmap+touch");
        Assert.NotNull(goal.Definition.Meaningless);
        Assert.Null(BenchTable.TargetMet(goal));
        Assert.True(BenchTable.TargetMet(BenchRatios.Compute([remap, anon, devmem], emulator).Single(r => r.Definition.Name == "remap / devmem mmap+touch")));
    }

    [Fact]
    public void TheJsonHasEveryKindWithFiguresOrAReason()
    {
        JsonNode root = RunJson("--kinds", "anon-thp-off,devmem,devdax-2m,devdax-1g", "--device", "/nonexistent/memphys0");
        Assert.Equal(8L << 20, (long)root["length"]!);
        Assert.Equal(4L << 20, (long)root["window"]!);
        Assert.Equal(2, (int)root["repetitions"]!);
        var kinds = root["kinds"]!.AsArray().ToDictionary(k => (string)k!["name"]!);
        Assert.Equal(["anon-thp-off", "devmem", "devdax-2m", "devdax-1g"], kinds.Keys);

        JsonNode anon = kinds["anon-thp-off"]!;
        Assert.True((bool)anon["supported"]!);
        Assert.Null(anon["unsupported"]);
        foreach (string metric in Metric.All)
        {
            JsonNode f = anon["figures"]![metric]!;
            Assert.Equal(2, f["samples"]!.AsArray().Count);
            Assert.InRange((double)f["median"]!, (double)f["min"]!, (double)f["max"]!);
            Assert.Equal((double)f["spread"]! > Summary.UnstableSpread, (bool)f["unstable"]!);
        }

        Assert.Contains("--devmem-base", (string)kinds["devmem"]!["unsupported"]!);
        Assert.Contains("2 MiB alignment", (string)kinds["devdax-2m"]!["unsupported"]!);
        Assert.False((bool)kinds["devdax-1g"]!["supported"]!);
        Assert.Empty(kinds["devdax-1g"]!["figures"]!.AsObject());
        Assert.Contains(root["ratios"]!.AsArray(), r => (string)r!["name"]! == "anon-thp-off C#/libc write");
    }

    [Fact]
    public void IncludedKindsJoinTheReport()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, RunJson("--kinds", "anon-thp-off").ToJsonString());
            JsonNode root = RunJson("--kinds", "none", "--include", file);
            Assert.Equal(["anon-thp-off"], root["kinds"]!.AsArray().Select(k => (string)k!["name"]!));
            Assert.Equal(2, root["kinds"]![0]!["figures"]![Metric.Touch4K]!["samples"]!.AsArray().Count);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--kinds", "bogus")]
    [InlineData("--skip", "remap,bogus")]
    [InlineData("--window", "100")]
    public void BadKindsAndSizesAreUsageErrors(params string[] args)
    {
        (int code, _, string err) = CliRunner.Run(["bench", .. args]);
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneLineError(err);
    }

    private static JsonNode RunJson(params string[] args)
    {
        (int code, string stdout, string err) = CliRunner.Run(["bench", "--json", "--length", "8M", "--window", "4M", "-n", "2", .. args]);
        Assert.True(code == 0, err);
        return JsonNode.Parse(stdout)!;
    }

    private static KindResult Kind(string name, string group, params (string Metric, double[] Samples)[] figures)
    {
        var k = new KindResult(name, group, FaultSize.Pte);
        foreach ((string metric, double[] samples) in figures)
        {
            k.Samples[metric] = [.. samples];
        }

        return k;
    }
}
