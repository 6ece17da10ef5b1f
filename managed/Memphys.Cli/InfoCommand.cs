using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class InfoCommand
{
    public static Command Build()
    {
        var device = new Option<string?>("--device", "-d") { Description = "Device node (default: every /dev/memphysN)." };
        var json = Program.JsonOption();
        var command = new Command("info", "Show region(s), physical range, supported methods and fault sizes, current counters.")
        {
            device, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device))));
        return command;
    }

    private static int Run(Output output, string? device)
    {
        IReadOnlyList<string> paths = device is not null ? [device] : MemphysDevice.Enumerate();
        if (paths.Count == 0)
        {
            paths = [MemphysDevice.DefaultPath]; // opening it reports the ENOENT in the usual one-line form
        }

        var array = new JsonArray();
        foreach (string path in paths)
        {
            using MemphysDevice dev = MemphysDevice.Open(path, readOnly: false);
            MemphysInfo info = dev.GetInfo();
            MemphysStats stats = dev.GetStats();
            array.Add(new JsonObject { ["device"] = path, ["info"] = Common.ToJson(info), ["stats"] = Common.ToJson(stats) });
            output.KeyValues(path,
            [
                ("region", $"{Output.Size(info.RegionSize)} ({info.RegionSize} bytes)"),
                ("physical range", $"{info.PhysicalBase:x16}-{info.PhysicalEnd:x16}"),
                ("base pfn", Output.Hex(info.BasePfn)),
                ("page size", info.PageSize.ToString()),
                ("uapi version", info.Version.ToString()),
                ("methods", string.Join(", ", info.SupportedMethods.Select(Common.Name))),
                ("caching modes", string.Join(", ", info.SupportedCaching)),
                ("fault sizes", Common.FaultSizeList(info.FaultSizes)),
                ("method (this fd)", Common.Name(info.Method)),
                ("caching (this fd)", info.Caching.ToString()),
                ("max fault size", Output.Size(info.MaxFaultSize)),
                .. Common.StatsRows(stats),
            ]);
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject { ["devices"] = array });
        }

        return ExitCodes.Ok;
    }
}
