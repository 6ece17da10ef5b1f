using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class BenchCommand
{
    private const long DefaultLength = 64L << 20;

    public static Command Build()
    {
        var device = Program.DeviceOption();
        var json = Program.JsonOption();
        var offset = Program.OffsetOption();
        var length = Program.LengthOption("Bytes per run (default: 64 MiB or the region, whichever is smaller).");
        var iterations = new Option<int>("--iterations", "-n") { Description = "Passes per measurement (best is reported).", DefaultValueFactory = _ => 1 };
        var command = new Command("bench", "Sequential write / read / copy bandwidth and first-touch time, by method and fault size.")
        {
            device, json, offset, length, iterations,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o =>
        {
            if (r.GetValue(iterations) < 1)
            {
                throw new UsageException("--iterations must be >= 1");
            }

            return Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length), r.GetValue(iterations));
        }));
        return command;
    }

    private sealed record Result(string Method, ulong FaultSize, long Length, double FirstTouchMs, double WriteMiBs, double ReadMiBs, double CopyMiBs, MemphysStats Faults);

    private static int Run(Output output, string path, long offset, long length, int iterations)
    {
        MemphysInfo info;
        using (MemphysDevice d = MemphysDevice.Open(path))
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

        var results = output.WithProgress("bench", configs.Count, progress =>
        {
            var list = new List<Result>();
            foreach ((MappingMethod method, ulong size) in configs)
            {
                list.Add(RunOne(path, info, method, size, offset, length, iterations));
                progress(list.Count);
            }

            return list;
        });

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path,
                ["offset"] = offset,
                ["length"] = length,
                ["results"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
                {
                    ["method"] = r.Method,
                    ["faultSize"] = r.FaultSize,
                    ["length"] = r.Length,
                    ["firstTouchMs"] = r.FirstTouchMs,
                    ["writeMiBs"] = r.WriteMiBs,
                    ["readMiBs"] = r.ReadMiBs,
                    ["copyMiBs"] = r.CopyMiBs,
                    ["touchFaults"] = Common.ToJson(r.Faults),
                }).ToArray()),
            });
        }
        else
        {
            output.Table($"bench {path}: 0x{offset:x}+0x{length:x}", ["method", "fault size", "first touch", "faults (pte/pmd/pud)", "write", "read", "copy"],
                results.Select(r => new[]
                {
                    r.Method, r.FaultSize == 0 ? "-" : Output.Size(r.FaultSize), $"{r.FirstTouchMs:F2} ms",
                    $"{r.Faults.PteFaults}/{r.Faults.PmdFaults}/{r.Faults.PudFaults}",
                    $"{r.WriteMiBs:F0} MiB/s", $"{r.ReadMiBs:F0} MiB/s", $"{r.CopyMiBs:F0} MiB/s",
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
        MemphysStats s0 = dev.GetStats();
        var clock = Stopwatch.StartNew();
        MapCommand.TouchRange(map, 0, (int)Math.Min(length, int.MaxValue), write: true);
        if (length > int.MaxValue)
        {
            foreach ((long o, int l) in MemphysMapping.Chunks(length - int.MaxValue))
            {
                MapCommand.TouchRange(map, int.MaxValue + o, l, write: true);
            }
        }

        double touchMs = clock.Elapsed.TotalMilliseconds;
        MemphysStats faults = dev.GetStats().Since(s0);

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
        return new Result(Common.Name(method), faultSize, length, touchMs, write, read, copy, faults);
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
