using System.CommandLine;
using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys bench</c>: memphys against the kernel's own ways to map memory (anonymous memory with THP off/on,
/// hugetlbfs, /dev/mem, device-dax), with repetitions interleaved across kinds, medians, ranges, unstable figures
/// flagged, ratios from the same run, a table, <c>--json</c> and an SVG chart.
/// </summary>
internal static class BenchCommand
{
    private const long DefaultLength = 64L << 20;
    private const long DefaultWindow = 64L << 20;

    public static Command Build()
    {
        var device = Options.Device();
        var json = Options.Json();
        var offset = Options.Offset();
        var length = Options.Length("Bytes mapped and first-touched per kind (default: 64 MiB or the region, whichever is smaller).");
        var iterations = Options.Count("--iterations", "-n", "Rounds; each measures every kind once, after one warm-up round", 5, Options.MaxIterations);
        var window = new Option<long>("--window")
        {
            Description = $"Bytes of each mapping the bandwidth loops run over (default: {Output.Size(DefaultWindow)} or --length, whichever is smaller).",
            CustomParser = r => Options.ParsePages(r, "--window", allowZero: false),
        };
        var kinds = new Option<string>("--kinds")
        {
            Description = "Comma-separated kinds to measure (default: all): " + string.Join(", ", KindNames()) +
                "; 'none' with --include prints the included runs.",
        };
        var skip = new Option<string>("--skip") { Description = "Comma-separated kinds not to measure (of --kinds, or of all)." };
        var devmemBase = new Option<long?>("--devmem-base")
        {
            Description = "Physical address for the devmem kind (default: the memphys region's base + --offset).",
            CustomParser = r => Options.ParsePages(r, "--devmem-base", allowZero: true),
        };
        var dax = new Option<string[]>("--dax") { Description = "A device-dax node (/dev/daxX.Y) for the devdax kinds; repeatable." };
        var include = new Option<string[]>("--include")
        {
            Description = "Kinds from an earlier 'memphys bench --json' file join the table and ratios (e.g. devmem measured with memphys unloaded); repeatable.",
        };
        var scaling = new Option<long[]>("--scaling")
        {
            Description = "Instead of the comparison: mmap and first touch (no bandwidth) of the kinds at each of these comma-separated sizes, " +
                "cost per GiB and how flat it is (e.g. 1G,2G,4G,8G).",
            CustomParser = ParseSizes,
        };
        var chart = new Option<string>("--chart") { Description = "Also write an SVG chart (bandwidth and first touch per kind) to this file." };
        var command = new Command("bench",
            "mmap() time, first touch (4 KiB and 2 MiB stride, with the driver's fault counts), page-table growth and " +
            "write/read/copy bandwidth (C# loops and libc memset/memcpy) of memphys (remap; fault at 4K/2M/1G; pages at 4K/2M/1G on a region loaded with :pages) next to " +
            "anonymous memory (THP off/on), hugetlbfs, /dev/mem and device-dax, over the same size in the same run; " +
            "median [min-max] of rounds interleaved across kinds, '!' on figures spread more than 10 %, and ratios.")
        {
            device, json, offset, length, iterations, window, kinds, skip, devmemBase, dax, include, scaling, chart,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, new Request(
            r.GetValue(device)!, r.GetValue(offset), r.GetValue(length), r.GetValue(iterations), r.GetValue(window),
            r.GetValue(kinds), r.GetValue(skip), r.GetValue(devmemBase), r.GetValue(dax) ?? [], r.GetValue(include) ?? [], r.GetValue(scaling) ?? [], r.GetValue(chart)))));
        return command;
    }

    private sealed record Request(string Device, long Offset, long Length, int Repetitions, long Window, string? Kinds, string? Skip,
        long? DevMemBase, string[] Dax, string[] Include, long[] Scaling, string? Chart);

    private static IEnumerable<string> KindNames()
    {
        IReadOnlyList<BenchKind> catalog = BenchKind.Catalog();
        foreach (BenchKind k in catalog)
        {
            k.Dispose();
        }

        return catalog.Select(k => k.Name);
    }

    private static int Run(Output output, Request request)
    {
        // Every option and file is checked before minutes of measuring: the included runs are read and the chart's
        // file is opened for writing first.
        var included = request.Include.Select(BenchJson.Read).ToList();
        if (request.Chart is { } chartPath)
        {
            Common.CheckWritable(chartPath, "--chart");
        }

        List<BenchKind> kinds = Select(request.Kinds, request.Skip);
        try
        {
            (long offset, long length) = (request.Offset, request.Length == 0 ? DefaultLength : request.Length);
            if (request.Scaling.Length > 0)
            {
                length = request.Scaling.Max();
            }

            if (kinds.Any(k => k.Group == "memphys"))
            {
                using MemphysDevice d = MemphysDevice.Open(request.Device, readOnly: true);
                (offset, length) = Common.Range(d.GetInfo(), request.Offset, length, DefaultLength);
            }

            var settings = new BenchSettings(request.Device, offset, length, (ulong?)request.DevMemBase, request.Dax);
            if (request.Scaling.Length > 0)
            {
                var names = kinds.Select(k => k.Name).ToList();
                IReadOnlyList<ScalingPoint> points = output.WithProgress("bench --scaling", 1, progress => BenchScaling.Run(
                    () => Select(string.Join(',', names), null), settings, request.Scaling, request.Repetitions,
                    (done, total) => Report(progress, done, total)));
                BenchScalingReport.Write(output, points, request.Repetitions);
                return ExitCodes.Ok;
            }

            long window = Math.Min(request.Window == 0 ? DefaultWindow : request.Window, length);
            IReadOnlyList<KindResult> measured = output.WithProgress("bench", 1, progress =>
                BenchRunner.Run(kinds, settings, window, request.Repetitions, (done, total) => Report(progress, done, total)));
            IReadOnlyList<KindResult> all = Merge(measured, included.SelectMany(r => r.Kinds));
            var run = new BenchRun(settings, window, request.Repetitions, KernelRelease(), SystemMemory.TransparentHugePages, all, []);
            if (kinds.Count == 0 && included.Count > 0)
            {
                run = included[0] with { Kinds = all }; // --kinds none: a report of the included runs
            }

            run = run with { Ratios = BenchRatios.Compute(all, Emulation.Detect(), MemphysCaching(request.Device)) };
            if (request.Chart is { } chart)
            {
                SvgChart.Write(chart, run);
            }

            if (output.Json)
            {
                output.WriteJson(BenchJson.ToJson(run));
            }
            else
            {
                BenchTable.Write(output, run);
            }

            return ExitCodes.Ok;
        }
        finally
        {
            kinds.ForEach(k => k.Dispose());
        }
    }

    /// <summary>Reports progress; Ctrl-C stops the run here, between two measurements.</summary>
    private static void Report(Action<double> progress, int done, int total)
    {
        Program.Cancellation.ThrowIfCancellationRequested();
        progress((double)done / total);
    }

    private static long[] ParseSizes(System.CommandLine.Parsing.ArgumentResult r)
    {
        string text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        var sizes = new List<long>();
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Options.TryParseSize(item, out long size) || size <= 0 || size % Environment.SystemPageSize != 0 || size > Options.MaxBytes)
            {
                r.AddError($"--scaling '{text}': '{item}' is not a page-aligned size (e.g. 1G,2G,4G,8G)");
                return [];
            }

            sizes.Add(size);
        }

        return [.. sizes];
    }

    /// <summary>The kinds of --kinds (all when not given; none for "none") less those of --skip.</summary>
    private static List<BenchKind> Select(string? names, string? skip)
    {
        List<BenchKind> catalog = [.. BenchKind.Catalog()];
        string[] wanted = names == "none" ? [] : Names(names, "--kinds", catalog) ?? [.. catalog.Select(k => k.Name)];
        string[] skipped = Names(skip, "--skip", catalog) ?? [];
        var chosen = catalog.Where(k => wanted.Contains(k.Name) && !skipped.Contains(k.Name)).ToList();
        catalog.Except(chosen).ToList().ForEach(k => k.Dispose());
        return chosen;
    }

    private static string[]? Names(string? list, string option, List<BenchKind> catalog)
    {
        if (string.IsNullOrWhiteSpace(list))
        {
            return null;
        }

        string[] names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? unknown = names.FirstOrDefault(n => catalog.All(k => k.Name != n));
        return unknown is null ? names
            : throw new UsageException($"{option}: unknown kind '{unknown}' (kinds: {string.Join(", ", catalog.Select(k => k.Name))})");
    }

    /// <summary>The measured kinds plus the included ones; per name, a measured result wins unless only the included one is supported.</summary>
    private static List<KindResult> Merge(IReadOnlyList<KindResult> measured, IEnumerable<KindResult> included)
    {
        var list = measured.ToList();
        foreach (KindResult k in included)
        {
            int i = list.FindIndex(m => m.Name == k.Name);
            if (i < 0)
            {
                list.Add(k);
            }
            else if (list[i].Unsupported is not null && k.Unsupported is null)
            {
                list[i] = k;
            }
        }

        var order = BenchKind.Catalog().Select(k => k.Name).ToList();
        return [.. list.OrderBy(k => order.IndexOf(k.Name) is var n && n < 0 ? int.MaxValue : n)];
    }

    /// <summary>The memory type of the memphys region measured; write-back when it cannot be opened (no memphys kind ran).</summary>
    private static CachingMode MemphysCaching(string device)
    {
        try
        {
            using MemphysDevice dev = MemphysDevice.Open(device);
            return dev.GetInfo().Caching;
        }
        catch (Exception e) when (e is IMemphysError)
        {
            return CachingMode.WriteBack;
        }
    }

    private static string KernelRelease() =>
        File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
}
