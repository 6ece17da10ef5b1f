using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Hidden <c>_child</c> subcommands run by verify and stress in a second process.</summary>
internal static class ChildCommand
{
    public static Command Build()
    {
        var command = new Command("_child", "Internal: second-process helpers.") { Hidden = true };

        var device = Program.DeviceOption();
        var method = new Option<string>("--method") { Required = true };
        var offset = Program.OffsetOption();
        var length = Program.LengthOption("Bytes.");
        var seed = new Option<ulong>("--seed") { Required = true };
        var read = new Command("read", "Map by --method and compare with the pattern.") { device, method, offset, length, seed };
        read.SetAction(r => Program.Guard(true, o =>
        {
            using MemphysDevice dev = MemphysDevice.Open(r.GetValue(device)!);
            dev.SetMethod(Common.ParseMethod(r.GetValue(method)!));
            using MemphysMapping map = dev.Map(r.GetValue(offset), r.GetValue(length));
            var check = new Check("child read");
            long bad = VerifyCommand.CompareInto(check, map, r.GetValue(offset), r.GetValue(seed));
            Console.Out.WriteLine($"pid {Environment.ProcessId}: {bad} bad bytes in {map.PageCount} pages");
            foreach (string f in check.Failures)
            {
                Console.Error.WriteLine(f);
            }

            return bad == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        command.Subcommands.Add(read);

        var sDevice = Program.DeviceOption();
        var sOffset = Program.OffsetOption();
        var sLength = Program.LengthOption("Bytes.");
        var seconds = new Option<double>("--seconds") { Required = true };
        var threads = new Option<int>("--threads") { Required = true };
        var processes = new Option<int>("--processes") { Required = true };
        var index = new Option<int>("--process-index") { Required = true };
        var sSeed = new Option<ulong>("--seed") { Required = true };
        var maxOp = new Option<long>("--max-op") { Required = true };
        var stress = new Command("stress", "One stress process; prints its totals as JSON.")
        {
            sDevice, sOffset, sLength, seconds, threads, processes, index, sSeed, maxOp,
        };
        stress.SetAction(r => Program.Guard(true, o =>
        {
            StressTotals totals = StressCommand.RunWorkers(r.GetValue(sDevice)!, r.GetValue(sOffset), r.GetValue(sLength), r.GetValue(seconds),
                r.GetValue(threads), r.GetValue(processes), r.GetValue(index), r.GetValue(sSeed), r.GetValue(maxOp));
            Console.Out.WriteLine(totals.ToJson().ToJsonString());
            return totals.CorruptBytes == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        command.Subcommands.Add(stress);
        return command;
    }
}
