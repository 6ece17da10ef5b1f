using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Totals of stress workers.</summary>
internal sealed class StressTotals
{
    public long Operations;
    public long Bytes;
    public long CorruptBytes;
    public List<string> Corruptions { get; } = [];

    public void Add(StressTotals other)
    {
        Operations += other.Operations;
        Bytes += other.Bytes;
        CorruptBytes += other.CorruptBytes;
        lock (Corruptions)
        {
            Corruptions.AddRange(other.Corruptions.Take(Math.Max(0, 20 - Corruptions.Count)));
        }
    }

    public JsonObject ToJson() => new()
    {
        ["operations"] = Operations,
        ["bytes"] = Bytes,
        ["corruptBytes"] = CorruptBytes,
        ["corruptions"] = new JsonArray(Corruptions.Select(c => (JsonNode)c).ToArray()),
    };

    public static StressTotals FromJson(JsonNode node)
    {
        var t = new StressTotals
        {
            Operations = node["operations"]!.GetValue<long>(),
            Bytes = node["bytes"]!.GetValue<long>(),
            CorruptBytes = node["corruptBytes"]!.GetValue<long>(),
        };
        t.Corruptions.AddRange(node["corruptions"]!.AsArray().Select(n => n!.GetValue<string>()));
        return t;
    }
}

internal static class StressCommand
{
    private const long DefaultLength = 64L << 20;

    public static Command Build()
    {
        var device = Program.DeviceOption();
        var json = Program.JsonOption();
        var seconds = new Option<double>("--seconds", "-s") { Description = "Duration.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads per process.", DefaultValueFactory = _ => 2 };
        var processes = new Option<int>("--processes", "-p") { Description = "Processes (this one included).", DefaultValueFactory = _ => 1 };
        var seed = Program.SeedOption();
        var offset = Program.OffsetOption();
        var length = Program.LengthOption("Bytes of the region to use (default: 64 MiB or the region, whichever is smaller).");
        var maxOp = new Option<long>("--max-op")
        {
            Description = "Largest single write/read-back (bytes).",
            CustomParser = r => Program.ParseSize(r),
            DefaultValueFactory = _ => 64 << 10,
        };
        var command = new Command("stress",
            "Random-offset write/read-back with seeded patterns across both methods (and pread/pwrite). Exit code 1 on any corrupt byte.")
        {
            device, json, seconds, threads, processes, seed, offset, length, maxOp,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o =>
        {
            int t = r.GetValue(threads), p = r.GetValue(processes);
            double s = r.GetValue(seconds);
            if (t < 1 || p < 1 || s <= 0 || r.GetValue(maxOp) < 8)
            {
                throw new UsageException("--threads and --processes must be >= 1, --seconds > 0, --max-op >= 8");
            }

            return Run(o, r.GetValue(device)!, s, t, p, Program.ResolveSeed(r.GetValue(seed)), r.GetValue(offset), r.GetValue(length), r.GetValue(maxOp));
        }));
        return command;
    }

    private static int Run(Output output, string path, double seconds, int threads, int processes, ulong seed, long offset, long length, long maxOp)
    {
        MemphysInfo info;
        using (MemphysDevice dev = MemphysDevice.Open(path))
        {
            info = dev.GetInfo();
        }

        (offset, length) = Common.Range(info, offset, length, DefaultLength);
        int workers = threads * processes;
        if (length / workers < 8)
        {
            throw new UsageException($"--length 0x{length:x} is too small for {workers} workers");
        }

        output.Line($"stress {path}: 0x{offset:x}+0x{length:x}, {seconds} s, {threads} thread(s) x {processes} process(es), seed {seed}");
        var children = new List<Process>();
        var childOutputs = new List<Task<string>>();
        for (int p = 1; p < processes; p++)
        {
            ProcessStartInfo psi = Common.ChildStartInfo(
            [
                "stress", "--device", path, "--offset", Common.Inv(offset), "--length", Common.Inv(length), "--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--threads", Common.Inv(threads), "--processes", Common.Inv(processes), "--process-index", Common.Inv(p), "--seed", Common.Inv(seed), "--max-op", Common.Inv(maxOp),
            ]);
            psi.RedirectStandardError = false;
            Process child = Process.Start(psi) ?? throw new InvalidOperationException("failed to start child process");
            children.Add(child);
            childOutputs.Add(child.StandardOutput.ReadToEndAsync());
        }

        var clock = Stopwatch.StartNew();
        StressTotals totals = output.WithProgress($"stress ({seconds} s)", seconds, progress =>
        {
            using var timer = new Timer(_ => progress(clock.Elapsed.TotalSeconds), null, 250, 250);
            return RunWorkers(path, offset, length, seconds, threads, processes, 0, seed, maxOp);
        });

        int childFailures = 0;
        for (int i = 0; i < children.Count; i++)
        {
            children[i].WaitForExit();
            string text = childOutputs[i].Result.Trim();
            try
            {
                totals.Add(StressTotals.FromJson(JsonNode.Parse(text)!));
            }
            catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException)
            {
                childFailures++;
                totals.Corruptions.Add($"child {i + 1} exited {children[i].ExitCode} without a result: {text}");
            }

            children[i].Dispose();
        }

        double elapsed = clock.Elapsed.TotalSeconds;
        bool ok = totals.CorruptBytes == 0 && childFailures == 0;
        if (output.Json)
        {
            JsonObject o = totals.ToJson();
            o["device"] = path;
            o["seed"] = seed;
            o["seconds"] = elapsed;
            o["threads"] = threads;
            o["processes"] = processes;
            o["childFailures"] = childFailures;
            o["passed"] = ok;
            output.WriteJson(o);
        }
        else
        {
            output.KeyValues("stress",
            [
                ("operations", totals.Operations.ToString()),
                ("bytes", $"{totals.Bytes} ({totals.Bytes / elapsed / (1 << 20):F1} MiB/s)"),
                ("corrupt bytes", totals.CorruptBytes.ToString()),
                ("child failures", childFailures.ToString()),
                ("seed", seed.ToString()),
            ]);
            foreach (string c in totals.Corruptions)
            {
                Console.Out.WriteLine($"CORRUPT {c}");
            }
        }

        return ok ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    /// <summary>
    /// Runs this process's workers. Worker w (global index processIndex*threads + t) owns an 8-byte-aligned
    /// slice of the range, so workers never race on bytes; each operation writes a seeded pattern through one
    /// path (remap mapping, fault mapping or pwrite) and reads it back through another (or pread).
    /// </summary>
    internal static StressTotals RunWorkers(string path, long offset, long length, double seconds, int threads, int processes,
        int processIndex, ulong seed, long maxOp)
    {
        using MemphysDevice remapDev = MemphysDevice.Open(path);
        remapDev.SetMethod(MappingMethod.Remap);
        using MemphysMapping remap = remapDev.Map(offset, length);
        using MemphysDevice faultDev = MemphysDevice.Open(path);
        faultDev.SetMethod(MappingMethod.Fault);
        using MemphysMapping fault = faultDev.Map(offset, length);

        int workers = threads * processes;
        long slice = length / workers / 8 * 8;
        var totals = new StressTotals();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        var tasks = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int worker = processIndex * threads + t;
            tasks[t] = new Thread(() =>
            {
                StressTotals mine = Worker(remapDev, remap, fault, offset, worker * slice, slice, seed, worker, maxOp, deadline);
                lock (totals)
                {
                    totals.Add(mine);
                }
            });
            tasks[t].Start();
        }

        foreach (Thread t in tasks)
        {
            t.Join();
        }

        return totals;
    }

    private static StressTotals Worker(MemphysDevice dev, MemphysMapping remap, MemphysMapping fault, long regionOffset, long sliceStart, long sliceLength,
        ulong seed, int worker, long maxOp, DateTime deadline)
    {
        var rng = new XorShift(Pattern.Mix(seed, (ulong)worker + 1));
        var totals = new StressTotals();
        byte[] buffer = new byte[maxOp];
        MemphysMapping[] views = [remap, fault];
        while (DateTime.UtcNow < deadline)
        {
            long words = sliceLength / 8;
            long start = rng.Below(words) * 8;
            long len = Math.Min((rng.Below(maxOp / 8) + 1) * 8, sliceLength - start);
            long mapOffset = sliceStart + start;
            long region = regionOffset + mapOffset;
            ulong opSeed = rng.Next();
            int writeVia = (int)rng.Below(3); // 0 remap, 1 fault, 2 pwrite
            int readVia = (int)rng.Below(3);  // 0 remap, 1 fault, 2 pread

            if (writeVia < 2)
            {
                Pattern.Fill(views[writeVia].GetSpan(mapOffset, (int)len), region, opSeed);
            }
            else
            {
                Span<byte> b = buffer.AsSpan(0, (int)len);
                Pattern.Fill(b, region, opSeed);
                dev.Write(region, b);
            }

            Span<byte> read;
            if (readVia < 2)
            {
                read = views[readVia].GetSpan(mapOffset, (int)len);
            }
            else
            {
                read = buffer.AsSpan(0, (int)len);
                read.Clear();
                dev.Read(region, read);
            }

            long bad = Pattern.Check(read, region, opSeed, out long firstBad);
            if (bad != 0)
            {
                totals.CorruptBytes += bad;
                if (totals.Corruptions.Count < 20)
                {
                    string[] names = ["remap", "fault", "pwrite/pread"];
                    totals.Corruptions.Add($"worker {worker}: 0x{region:x}+0x{len:x} written via {names[writeVia]}, read via {names[readVia]}: " +
                        $"{bad} bad bytes, first at region offset 0x{firstBad:x} expected 0x{Pattern.ExpectedByte(firstBad, opSeed):x2} found 0x{read[(int)(firstBad - region)]:x2}");
                }
            }

            totals.Operations++;
            totals.Bytes += len;
        }

        return totals;
    }
}
