using System.CommandLine;
using Memphys.Verification;

namespace Memphys.Cli;

/// <summary>Hidden <c>_child</c> subcommands run by verify and stress in a second process.</summary>
internal static class ChildCommand
{
    public static Command Build()
    {
        var command = new Command("_child", "Internal: second-process helpers.") { Hidden = true };

        var device = Options.Device();
        var method = new Option<string>("--method") { Required = true };
        Options.OneOf(method, "remap", "fault", "pages");
        var offset = Options.Offset();
        var length = Options.Length("Bytes.");
        var seed = new Option<ulong>("--seed") { Required = true };
        var read = new Command("read", "Map by --method and compare with the pattern.") { device, method, offset, length, seed };
        read.SetAction(r => Program.Guard(false, o =>
        {
            using MemphysDevice dev = MemphysDevice.Open(r.GetValue(device)!);
            dev.SetMethod(Common.ParseMethod(r.GetValue(method)!));
            using MemphysMapping map = dev.Map(r.GetValue(offset), r.GetValue(length));
            var check = new Check("child read");
            long bad = PatternVerifier.Compare(check, map, r.GetValue(seed));
            Console.Out.WriteLine($"pid {Environment.ProcessId}: {Output.Count(bad)} bad bytes in {Output.Count(map.PageCount)} pages");
            foreach (string f in check.Failures)
            {
                Console.Error.WriteLine(f);
            }

            return bad == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        command.Subcommands.Add(read);
        command.Subcommands.Add(StressCommand.BuildChild());
        return command;
    }
}
