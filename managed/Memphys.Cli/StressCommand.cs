using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class StressCommand
{
    private const long DefaultLength = 64L << 20;

    public static Command Build()
    {
        var device = Options.Device();
        var json = Options.Json();
        var seconds = Options.Seconds(5);
        var threads = Options.Count("--threads", "-t", "Threads per process", 2, Options.MaxThreads);
        var processes = Options.Count("--processes", "-p", "Processes, this one included", 1, Options.MaxProcesses);
        var seed = Options.Seed();
        var offset = Options.Offset();
        var length = Options.Length("Bytes of the region to use (default: 64 MiB or the region, whichever is smaller).");
        var maxOp = Options.MaxOp();
        var faultAround = Options.FaultAround();
        var command = new Command("stress",
            "Random-offset write/read-back with seeded patterns across both methods (and pread/pwrite). Exit code 1 on any corrupt byte.")
        {
            device, json, seconds, threads, processes, seed, offset, length, maxOp, faultAround,
        };
        command.Validators.Add(r =>
        {
            long workers;
            try
            {
                workers = (long)r.GetValue(threads) * r.GetValue(processes);
            }
            catch (InvalidOperationException)
            {
                return; // a value that did not parse: already reported where it was parsed
            }

            if (workers > Options.MaxWorkers)
            {
                r.AddError($"--threads x --processes is {workers} workers; at most {Options.MaxWorkers}.");
            }
        });
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, new StressSettings(r.GetValue(device)!, r.GetValue(offset),
            r.GetValue(length), r.GetValue(seconds), r.GetValue(threads), r.GetValue(processes), 0, Options.ResolveSeed(r.GetValue(seed)),
            r.GetValue(maxOp), r.GetValue(faultAround)))));
        return command;
    }

    /// <summary>The hidden <c>_child stress</c>: one stress process; prints its totals as JSON.</summary>
    public static Command BuildChild()
    {
        var device = Options.Device();
        var offset = Options.Offset();
        var length = Options.Length("Bytes.");
        var seconds = Options.Seconds(5);
        var threads = Options.Count("--threads", "-t", "Threads", 1, Options.MaxThreads);
        var processes = Options.Count("--processes", "-p", "Processes", 1, Options.MaxProcesses);
        var index = new Option<int>("--process-index") { Required = true };
        var seed = new Option<ulong>("--seed") { Required = true };
        var maxOp = Options.MaxOp();
        var faultAround = Options.FaultAround();
        var stress = new Command("stress", "One stress process; prints its totals as JSON.")
        {
            device, offset, length, seconds, threads, processes, index, seed, maxOp, faultAround,
        };
        stress.SetAction(r => Program.Guard(false, o =>
        {
            StressTotals totals = RunWorkers(new StressSettings(r.GetValue(device)!, r.GetValue(offset), r.GetValue(length),
                r.GetValue(seconds), r.GetValue(threads), r.GetValue(processes), r.GetValue(index), r.GetValue(seed), r.GetValue(maxOp),
                r.GetValue(faultAround)));
            Console.Out.WriteLine(totals.ToJson().ToJsonString());
            return totals.CorruptBytes == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        return stress;
    }

    private static int Run(Output output, StressSettings settings)
    {
        MemphysInfo info;
        using (MemphysDevice dev = MemphysDevice.Open(settings.Path, readOnly: true))
        {
            info = dev.GetInfo();
        }

        (long offset, long length) = Common.Range(info, settings.Offset, settings.Length, DefaultLength);
        settings = settings with { Offset = offset, Length = length };
        int workers = checked(settings.Threads * settings.Processes);
        if (length / workers < 8)
        {
            throw new UsageException($"--length 0x{length:x} is too small for {workers} workers");
        }

        output.Line($"stress {settings.Path}: 0x{offset:x}+0x{length:x} ({Output.Size((ulong)length)}), {settings.Seconds} s, " +
            $"{settings.Threads} thread(s) x {settings.Processes} process(es), seed {settings.Seed}");
        var clock = Stopwatch.StartNew();
        StressTotals totals;
        int childFailures;
        using (var children = new ChildProcessGroup())
        {
            // Started before the local workers and killed by Dispose if anything below throws.
            for (int p = 1; p < settings.Processes; p++)
            {
                children.Start(Common.ChildStartInfo(["stress", .. settings.ChildArguments(p)]));
            }

            totals = output.WithProgress($"stress ({settings.Seconds} s)", settings.Seconds, progress =>
            {
                using var timer = new Timer(_ => progress(clock.Elapsed.TotalSeconds), null, 250, 250);
                return RunWorkers(settings);
            });
            // Ctrl-C: the workers stopped at their next operation; the children are killed by Dispose.
            Program.Cancellation.ThrowIfCancellationRequested();
            childFailures = CollectChildren(children, totals);
        }

        double elapsed = clock.Elapsed.TotalSeconds;
        bool ok = totals.CorruptBytes == 0 && childFailures == 0;
        if (output.Json)
        {
            JsonObject o = totals.ToJson();
            o["device"] = settings.Path;
            o["seed"] = settings.Seed;
            o["seconds"] = elapsed;
            o["threads"] = settings.Threads;
            o["processes"] = settings.Processes;
            o["childFailures"] = childFailures;
            o["passed"] = ok;
            output.WriteJson(o);
        }
        else
        {
            output.KeyValues("stress",
            [
                ("operations", Output.Count(totals.Operations)),
                ("bytes", $"{Output.Size((ulong)totals.Bytes)} ({Output.Size((ulong)(totals.Bytes / elapsed))}/s)"),
                ("corrupt bytes", Output.Count(totals.CorruptBytes)),
                ("child failures", Output.Count(childFailures)),
                ("seed", Common.Inv(settings.Seed)),
            ]);
            foreach (string c in totals.Corruptions)
            {
                Console.Out.WriteLine($"CORRUPT {c}");
            }
        }

        return ok ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    /// <summary>Waits for every child, adds its totals; returns how many ended without a result.</summary>
    private static int CollectChildren(ChildProcessGroup children, StressTotals totals)
    {
        int failures = 0;
        foreach ((int index, ProcessResult result) in children.WaitAll().Select((r, i) => (i + 1, r)))
        {
            string text = result.Stdout.Trim();
            try
            {
                totals.Add(StressTotals.FromJson(JsonNode.Parse(text)!));
            }
            catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException)
            {
                failures++;
                totals.Corruptions.Add($"child {index} exited {result.ExitCode} without a result: {(text + " " + result.Stderr.Trim()).Trim()}");
            }
        }

        return failures;
    }

    /// <summary>
    /// Runs this process's workers. Worker w (global index processIndex*threads + t) owns an 8-byte-aligned
    /// slice of the range, so workers never race on bytes; each operation writes a seeded pattern through one
    /// path (remap mapping, fault mapping or pwrite) and reads it back through another (or pread).
    /// </summary>
    internal static StressTotals RunWorkers(StressSettings settings)
    {
        (string path, long offset, long length, double seconds, int threads, int processes, int processIndex, ulong seed, long maxOp, uint faultAround) = settings;
        using MemphysDevice remapDev = MemphysDevice.Open(path);
        remapDev.SetMethod(MappingMethod.Remap);
        using MemphysMapping remap = remapDev.Map(offset, length);
        using MemphysDevice faultDev = MemphysDevice.Open(path);
        faultDev.SetMethod(MappingMethod.Fault);
        Common.SetFaultAround(faultDev, faultAround);
        using MemphysMapping fault = faultDev.Map(offset, length);

        int workers = threads * processes;
        long slice = length / workers / 8 * 8;
        var totals = new StressTotals();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        var tasks = new Thread[threads];
        Exception? failure = null;
        for (int t = 0; t < threads; t++)
        {
            int worker = processIndex * threads + t;
            tasks[t] = new Thread(() =>
            {
                try
                {
                    StressTotals mine = Worker(remapDev, remap, fault, offset, worker * slice, slice, seed, worker, maxOp, deadline);
                    lock (totals)
                    {
                        totals.Add(mine);
                    }
                }
                catch (Exception ex)
                {
                    // Rethrown on the calling thread after the join: an exception on a worker thread would end the process.
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            });
            tasks[t].Start();
        }

        foreach (Thread t in tasks)
        {
            t.Join();
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
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
        CancellationToken cancellation = Program.Cancellation;
        while (DateTime.UtcNow < deadline && !cancellation.IsCancellationRequested)
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
