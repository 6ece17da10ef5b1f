using System.CommandLine;
using System.Text.Json.Nodes;
using Memphys.Verification;

namespace Memphys.Cli;

/// <summary><c>memphys verify</c>: runs <see cref="RegionVerifier"/> and prints its report.</summary>
internal static class VerifyCommand
{
    private const long DefaultLength = 16L << 20;

    public static Command Build()
    {
        var device = Options.Device();
        var json = Options.Json();
        var offset = Options.Offset();
        var length = Options.Length("Bytes to check (default: 16 MiB or the region, whichever is smaller).");
        var seed = Options.Seed();
        var noChild = new Option<bool>("--no-child") { Description = "Skip the second-process check." };
        var faultAround = Options.FaultAround();
        var command = new Command("verify",
            "Map the range by each method and check contents across methods and processes, fault counts, and for every page " +
            "whether it is present and which frame it maps (PFN == region base PFN + offset/page size + page index). " +
            "Device mappings are VM_PFNMAP, which mincore(2) and /proc/self/pagemap skip (they report such pages as absent), " +
            "so presence and PFNs come from the driver's MEMPHYS_IOC_QUERY_PAGE: the page table entry the MMU uses. " +
            "Default 16 MiB; --length 1G checks a whole 1 GiB region (about 50 s in the TCG test guest). " +
            "Exit code 0 only when every check passes, 1 otherwise.")
        {
            device, json, offset, length, seed, noChild, faultAround,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length),
            Options.ResolveSeed(r.GetValue(seed)), !r.GetValue(noChild), r.GetValue(faultAround))));
        return command;
    }

    private static int Run(Output output, string path, long offset, long length, ulong seed, bool child, uint faultAround)
    {
        MemphysInfo info;
        using (MemphysDevice device = MemphysDevice.Open(path, readOnly: true))
        {
            info = device.GetInfo();
        }

        (offset, length) = Common.Range(info, offset, length, DefaultLength);
        output.Line($"verify {path}: 0x{offset:x}+0x{length:x} ({Output.Size((ulong)length)}, {Output.Count(length / info.PageSize)} pages), seed {seed}");
        VerificationReport report = output.WithPhases("verify", progress => RegionVerifier.Run(path, new VerifyOptions
        {
            Offset = offset,
            Length = length,
            Seed = seed,
            FaultAround = faultAround,
            SecondProcess = child ? Common.ChildRead : null,
        }, new SynchronousProgress<VerifyProgress>(p => progress(p.Phase, p.Fraction)), Program.Cancellation));
        Report(output, report);
        return report.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static JsonObject ToJson(Check c) => new()
    {
        ["name"] = c.Name,
        ["status"] = c.Status.ToString().ToLowerInvariant(),
        ["detail"] = c.Detail,
        ["memoryType"] = c.MemoryTypes,
        ["failureCount"] = c.FailureCount,
        ["failures"] = new JsonArray(c.Failures.Select(f => (JsonNode)f).ToArray()),
    };

    private static void Report(Output output, VerificationReport report)
    {
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = report.DevicePath,
                ["offset"] = report.Options.Offset,
                ["length"] = report.Options.Length,
                ["seed"] = report.Options.Seed,
                ["passed"] = report.Passed,
                ["checks"] = new JsonArray(report.Checks.Select(c => (JsonNode)ToJson(c)).ToArray()),
            });
            return;
        }

        output.Table("verify", ["check", "result", "memory type", "detail"], report.Checks.Select(c => new[]
        {
            c.Name, c.Status switch { CheckStatus.Passed => "ok", CheckStatus.Skipped => "skip", _ => $"FAIL ({Output.Count(c.FailureCount)})" },
            c.MemoryTypes, c.Detail,
        }));
        foreach (Check c in report.Failed)
        {
            foreach (string f in c.Failures)
            {
                Console.Out.WriteLine($"FAIL {c.Name}: {f}");
            }

            if (c.FailureCount > c.Failures.Count)
            {
                Console.Out.WriteLine($"FAIL {c.Name}: ... {Output.Count(c.FailureCount - c.Failures.Count)} more");
            }
        }

        int failed = report.Failed.Count();
        int skipped = report.Checks.Count(c => c.Status == CheckStatus.Skipped);
        Console.Out.WriteLine($"{report.Checks.Count - failed - skipped} passed, {failed} failed, {skipped} skipped");
    }
}
