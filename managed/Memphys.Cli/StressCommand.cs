using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memphys.Verification;

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
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device)!, new StressOptions
        {
            Offset = r.GetValue(offset),
            Length = r.GetValue(length),
            Duration = TimeSpan.FromSeconds(r.GetValue(seconds)),
            Threads = r.GetValue(threads),
            Processes = r.GetValue(processes),
            Seed = Options.ResolveSeed(r.GetValue(seed)),
            MaxOperationSize = r.GetValue(maxOp),
            FaultAround = r.GetValue(faultAround),
        })));
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
            StressResult result = StressRunner.Run(r.GetValue(device)!, new StressOptions
            {
                Offset = r.GetValue(offset),
                Length = r.GetValue(length),
                Duration = TimeSpan.FromSeconds(r.GetValue(seconds)),
                Threads = r.GetValue(threads),
                Processes = r.GetValue(processes),
                ProcessIndex = r.GetValue(index),
                Seed = r.GetValue(seed),
                MaxOperationSize = r.GetValue(maxOp),
                FaultAround = r.GetValue(faultAround),
            }, null, Program.Cancellation);
            Console.Out.WriteLine(ToJson(result).ToJsonString());
            return result.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        return stress;
    }

    private static int Run(Output output, string path, StressOptions options)
    {
        MemphysInfo info;
        using (MemphysDevice dev = MemphysDevice.Open(path, readOnly: true))
        {
            info = dev.GetInfo();
        }

        (long offset, long length) = Common.Range(info, options.Offset, options.Length, DefaultLength);
        options = options with { Offset = offset, Length = length };
        int workers = checked(options.Threads * options.Processes);
        if (length / workers < 8)
        {
            throw new UsageException($"--length 0x{length:x} is too small for {workers} workers");
        }

        double seconds = options.Duration.TotalSeconds;
        output.Line($"stress {path}: 0x{offset:x}+0x{length:x} ({Output.Size(length)}), {seconds} s, " +
            $"{options.Threads} thread(s) x {options.Processes} process(es), seed {options.Seed}");
        var clock = Stopwatch.StartNew();
        StressResult result;
        int childFailures;
        using (var children = new ChildProcessGroup())
        {
            // Started before the local workers and killed by Dispose if anything below throws (Ctrl-C included).
            for (int p = 1; p < options.Processes; p++)
            {
                children.Start(Common.ChildStartInfo(["stress", .. ChildArguments(path, options, p)]));
            }

            result = output.WithProgress($"stress ({seconds} s)", 1, fraction =>
                StressRunner.Run(path, options, new SynchronousProgress<StressProgress>(p => fraction(p.Fraction)), Program.Cancellation));
            (result, childFailures) = CollectChildren(children, result);
        }

        double elapsed = clock.Elapsed.TotalSeconds;
        bool ok = result.Passed && childFailures == 0;
        if (output.Json)
        {
            JsonObject o = ToJson(result);
            o["device"] = path;
            o["seed"] = options.Seed;
            o["seconds"] = elapsed;
            o["threads"] = options.Threads;
            o["processes"] = options.Processes;
            o["childFailures"] = childFailures;
            o["passed"] = ok;
            output.WriteJson(o);
        }
        else
        {
            output.KeyValues("stress",
            [
                ("operations", Output.Count(result.Operations)),
                ("bytes", $"{Output.Size(result.Bytes)} ({Output.Size((long)(result.Bytes / elapsed))}/s)"),
                ("corrupt bytes", Output.Count(result.CorruptBytes)),
                ("child failures", Output.Count(childFailures)),
                ("seed", Common.Inv(options.Seed)),
            ]);
            foreach (string c in result.Corruptions)
            {
                Console.Out.WriteLine($"CORRUPT {c}");
            }
        }

        return ok ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    /// <summary>The arguments of <c>_child stress</c> for process <paramref name="index"/>.</summary>
    private static string[] ChildArguments(string path, StressOptions options, int index) =>
    [
        "--device", path, "--offset", Common.Inv(options.Offset), "--length", Common.Inv(options.Length),
        "--seconds", options.Duration.TotalSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--threads", Common.Inv(options.Threads), "--processes", Common.Inv(options.Processes), "--process-index", Common.Inv(index),
        "--seed", Common.Inv(options.Seed), "--max-op", Common.Inv(options.MaxOperationSize),
        .. options.FaultAround != 0 ? new[] { "--fault-around", Common.Inv(options.FaultAround) } : [],
    ];

    /// <summary>Waits for every child and adds its totals; also returns how many ended without a result.</summary>
    private static (StressResult Result, int Failures) CollectChildren(ChildProcessGroup children, StressResult result)
    {
        int failures = 0;
        foreach ((int index, ProcessResult child) in children.WaitAll().Select((r, i) => (i + 1, r)))
        {
            string text = child.Stdout.Trim();
            try
            {
                result = result.Plus(FromJson(JsonNode.Parse(text)!));
            }
            catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException)
            {
                failures++;
                result = result.Plus(new StressResult(0, 0, 0,
                    [$"child {index} exited {child.ExitCode} without a result: {(text + " " + child.Stderr.Trim()).Trim()}"]));
            }
        }

        return (result, failures);
    }

    private static JsonObject ToJson(StressResult result) => new()
    {
        ["operations"] = result.Operations,
        ["bytes"] = result.Bytes,
        ["corruptBytes"] = result.CorruptBytes,
        ["corruptions"] = new JsonArray(result.Corruptions.Select(c => (JsonNode)c).ToArray()),
    };

    private static StressResult FromJson(JsonNode node) => new(node["operations"]!.GetValue<long>(), node["bytes"]!.GetValue<long>(),
        node["corruptBytes"]!.GetValue<long>(), [.. node["corruptions"]!.AsArray().Select(n => n!.GetValue<string>())]);
}
