using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class InfoCommand
{
    public static Command Build()
    {
        var device = new Option<string?>("--device", "-d") { Description = "Device node (default: every /dev/memphysN)." };
        var json = Options.Json();
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
            using MemphysDevice dev = MemphysDevice.Open(path, readOnly: true);
            MemphysInfo info = dev.GetInfo();
            MemphysStats stats = dev.GetStats();
            string? source = dev.Source();
            array.Add(new JsonObject
            {
                ["device"] = path, ["source"] = source, ["info"] = Common.ToJson(info), ["stats"] = Common.ToJson(stats),
            });
            output.KeyValues(path,
            [
                ("region", $"{Output.Size(info.RegionSize)} ({Output.Count(info.RegionSize)} bytes)"),
                ("source", source ?? "unknown (module without sysfs source)"),
                ("physical range", $"{Output.Hex(info.PhysicalBase)}-{Output.Hex(info.PhysicalEnd)}"),
                ("base pfn", Output.Hex(info.BasePfn)),
                ("page size", Output.Size(info.PageSize)),
                ("uapi version", Common.Inv(info.Version)),
                ("methods", string.Join(", ", info.SupportedMethods.Select(Common.Name))),
                ("pages method", info.PagesErrno == 0 ? "struct pages: O_DIRECT, vmsplice, process_vm_readv work on its mappings"
                    : $"none: {MemphysDevice.PagesUnavailableReason(info.PagesErrno)}"),
                ("caching modes", string.Join(", ", info.SupportedCaching.Select(Common.Name))),
                ("fault sizes", Common.FaultSizeList(info.FaultSizes)),
                ("method (this fd)", Common.Name(info.Method)),
                ("caching (region)", $"{Common.Name(info.Caching)}, for the module's life"),
                ("max fault size", Output.Size(info.MaxFaultSize)),
                ("fault-around", Common.FaultAroundText(info.FaultAround)),
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
