using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class BenchCommand
{
    private const long DefaultLength = 64L << 20;

    public static Command Build()
    {
        var device = Options.Device();
        var json = Options.Json();
        var offset = Options.Offset();
        var length = Options.Length("Bytes per run (default: 64 MiB or the region, whichever is smaller).");
        var iterations = Options.Count("--iterations", "-n", "Passes per measurement (best is reported)", 1, Options.MaxIterations);
        var command = new Command("bench",
            "Sequential write / read / copy bandwidth and first-touch time, by method and fault size, next to the same " +
            "measurements on anonymous memory of the same size taken in the same run (the reference; the 'vs anon' column is " +
            "device / anonymous for write/read/copy, so 1.00 means as fast as ordinary RAM).")
        {
            device, json, offset, length, iterations,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o =>
            Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length), r.GetValue(iterations))));
        return command;
    }

    private sealed record Result(string Method, ulong FaultSize, long Length, double FirstTouchMs, double WriteMiBs, double ReadMiBs, double CopyMiBs, MemphysStats? Faults);

    private const string Reference = "anonymous";

    private static int Run(Output output, string path, long offset, long length, int iterations)
    {
        MemphysInfo info;
        using (MemphysDevice d = MemphysDevice.Open(path, readOnly: true))
        {
            info = d.GetInfo();
        }

        (offset, length) = Common.Range(info, offset, length, DefaultLength);
        var configs = new List<(MappingMethod Method, ulong FaultSize)> { (MappingMethod.Remap, 0) };
        if (info.SupportedMethods.Contains(MappingMethod.Fault))
        {
            IReadOnlyList<ulong> sizes = FaultSize.ToBytes(info.FaultSizes);
            configs.AddRange((sizes.Count == 0 ? [FaultSize.Pte] : sizes).Where(s => s <= (ulong)length).Select(s => (MappingMethod.Fault, s)));
        }

        // Warm up (JIT) on a small anonymous mapping so that the first measured row does not pay for compilation.
        using (MemphysMapping warm = MemphysMapping.CreateAnonymous(1 << 20))
        {
            _ = Measure(warm, Reference, 0, 1, null);
        }

        var results = output.WithProgress("bench", configs.Count + 1, progress =>
        {
            var list = new List<Result>();
            using (MemphysMapping anon = MemphysMapping.CreateAnonymous(length))
            {
                list.Add(Measure(anon, Reference, 0, iterations, null));
            }

            progress(1);
            foreach ((MappingMethod method, ulong size) in configs)
            {
                list.Add(RunOne(path, info, method, size, offset, length, iterations));
                progress(list.Count);
            }

            return list;
        });

        Result reference = results[0];
        static double Ratio(double value, double reference) => reference > 0 ? value / reference : 0;
        string RatioText(Result r) =>
            $"{Ratio(r.WriteMiBs, reference.WriteMiBs):F2}/{Ratio(r.ReadMiBs, reference.ReadMiBs):F2}/{Ratio(r.CopyMiBs, reference.CopyMiBs):F2}";

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path,
                ["offset"] = offset,
                ["length"] = length,
                ["reference"] = Reference,
                ["results"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["method"] = r.Method,
                    ["faultSize"] = r.FaultSize,
                    ["length"] = r.Length,
                    ["firstTouchMs"] = r.FirstTouchMs,
                    ["writeMiBs"] = r.WriteMiBs,
                    ["readMiBs"] = r.ReadMiBs,
                    ["copyMiBs"] = r.CopyMiBs,
                    ["writeRatio"] = Ratio(r.WriteMiBs, reference.WriteMiBs),
                    ["readRatio"] = Ratio(r.ReadMiBs, reference.ReadMiBs),
                    ["copyRatio"] = Ratio(r.CopyMiBs, reference.CopyMiBs),
                    ["touchFaults"] = r.Faults is { } f ? Common.ToJson(f) : null,
                }).ToArray()),
            });
        }
        else
        {
            output.Table($"bench {path}: {Output.Size((ulong)length)} at region offset {Output.Hex((ulong)offset)}, best of {iterations}; reference: anonymous memory",
                ["method", "fault size", "first touch", "faults (pte/pmd/pud)", "write", "read", "copy", "vs anon (w/r/c)"],
                results.Select(r => new[]
                {
                    r.Method, r.FaultSize == 0 ? "-" : Output.Size(r.FaultSize), $"{r.FirstTouchMs:F2} ms",
                    r.Faults is { } f ? $"{Output.Count(f.PteFaults)}/{Output.Count(f.PmdFaults)}/{Output.Count(f.PudFaults)}" : "-",
                    $"{r.WriteMiBs:F0} MiB/s", $"{r.ReadMiBs:F0} MiB/s", $"{r.CopyMiBs:F0} MiB/s", RatioText(r),
                }));
        }

        return ExitCodes.Ok;
    }

    private static Result RunOne(string path, MemphysInfo info, MappingMethod method, ulong faultSize, long offset, long length, int iterations)
    {
        using MemphysDevice dev = MemphysDevice.Open(path);
        dev.SetMethod(method);
        if (method == MappingMethod.Fault && info.FaultSizes != FaultSizes.None)
        {
            dev.SetMaxFaultSize(faultSize);
        }

        using MemphysMapping map = dev.Map(offset, length, alignment: method == MappingMethod.Fault ? faultSize : 0);
        return Measure(map, Common.Name(method), faultSize, iterations, dev);
    }

    /// <summary>First touch (a write per page), then best-of-N write, read and copy bandwidth over <paramref name="map"/>.</summary>
    private static Result Measure(MemphysMapping map, string name, ulong faultSize, int iterations, MemphysDevice? dev)
    {
        long length = map.Length;
        MemphysStats? s0 = dev?.GetStats();
        var clock = Stopwatch.StartNew();
        map.TouchPages(write: true);

        double touchMs = clock.Elapsed.TotalMilliseconds;
        MemphysStats? faults = dev is null ? null : dev.GetStats().Since(s0!.Value);

        double write = Best(iterations, length, () => map.ForEachChunk((span, _) => span.Fill(0x5A)));
        long sink = 0;
        double read = Best(iterations, length, () => map.ForEachChunk((span, _) => sink += span.IndexOfAnyExcept((byte)0x5A)));
        GC.KeepAlive(sink);
        long half = length / 2 / Environment.SystemPageSize * Environment.SystemPageSize;
        double copy = half == 0 ? 0 : Best(iterations, half, () =>
        {
            foreach ((long o, int l) in MemphysMapping.Chunks(half))
            {
                map.GetSpan(o, l).CopyTo(map.GetSpan(half + o, l));
            }
        });
        return new Result(name, faultSize, length, touchMs, write, read, copy, faults);
    }
    private static double Best(int iterations, long bytes, Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < iterations; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return bytes / Math.Max(best, 1e-9) / (1 << 20);
    }
}
